import { EngineError } from '../errors';
import { MIGRATIONS, MIGRATION_LOCK_KEY } from './migrations';
import { type SqlClient, createPgliteClient, createPostgresClient } from './sql-client';

export type ResultStatus = 'pending' | 'done' | 'failed';

export interface StoredResult {
  id: string;
  kind: string;
  status: ResultStatus;
  patientId: string | null;
  subject: string | null;
  model: string | null;
  /** The result record as stored (JSON); its shape is the producer's (schemas/records.ts). */
  payload: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
  submittedAt: string | null;
  completedAt: string | null;
  deliveries: number;
}

interface ResultRow {
  id: string;
  kind: string;
  status: ResultStatus;
  patient_id: string | null;
  subject: string | null;
  model: string | null;
  payload: Record<string, unknown> | string | null;
  error: { code: string; message: string } | string | null;
  submitted_at: Date | string | null;
  completed_at: Date | string | null;
  deliveries: number;
}

const iso = (v: Date | string | null): string | null =>
  v === null ? null : new Date(v).toISOString();
const json = <T>(v: T | string | null): T | null =>
  typeof v === 'string' ? (JSON.parse(v) as T) : v;

function toStored(row: ResultRow): StoredResult {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    patientId: row.patient_id,
    subject: row.subject,
    model: row.model,
    payload: json(row.payload),
    error: json(row.error),
    submittedAt: iso(row.submitted_at),
    completedAt: iso(row.completed_at),
    deliveries: Number(row.deliveries),
  };
}

/** Wraps driver errors: connection problems are retriable, anything else is a store failure. */
async function guarded<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    const connection =
      /^(08|57P)/.test(code) || /ECONNREFUSED|ECONNRESET|terminat|closed/i.test(String(err));
    throw new EngineError(
      connection ? 'STORE_UNAVAILABLE' : 'STORE_FAILED',
      `${what}: ${(err as Error).message}`,
      {
        cause: err,
        retriable: connection,
      },
    );
  }
}

/**
 * Results and their status, keyed by result id. Writes are idempotent: a pending row never
 * overwrites a result, a redelivered result leaves the first one as it was (and counts the
 * delivery), and `failed` only replaces `pending`.
 */
export class ResultStore {
  private constructor(private readonly sql: SqlClient) {}

  /** PostgreSQL when `url` is set, else embedded PGlite in `embeddedDir`; migrated on open. */
  static async open(options: {
    url: string;
    embeddedDir: string;
    poolSize?: number;
  }): Promise<ResultStore> {
    const client = options.url
      ? createPostgresClient(options.url, options.poolSize ?? 10)
      : await guarded('open embedded store', () => createPgliteClient(options.embeddedDir));
    const store = new ResultStore(client);
    try {
      await store.migrate();
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    }
    return store;
  }

  get kind(): SqlClient['kind'] {
    return this.sql.kind;
  }

  private async migrate(): Promise<void> {
    await guarded('create migrations table', () =>
      this.sql.exec(`BEGIN;
        SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY});
        CREATE TABLE IF NOT EXISTS medstream_migrations (
          version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
        COMMIT;`),
    );
    const applied = await this.sql.query<{ version: number }>(
      'SELECT version FROM medstream_migrations',
    );
    const done = new Set(applied.rows.map((r) => Number(r.version)));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await guarded(`migration ${m.version} ${m.name}`, () =>
        this.sql.exec(`BEGIN;
          SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY});
          ${m.sql}
          INSERT INTO medstream_migrations (version, name) VALUES (${m.version}, '${m.name}') ON CONFLICT DO NOTHING;
          COMMIT;`),
      );
    }
  }

  async ping(): Promise<void> {
    await guarded('ping', () => this.sql.query('SELECT 1'));
  }

  async insertPending(r: {
    id: string;
    kind: string;
    patientId: string | null;
    subject?: string | null;
    submittedAt: Date;
  }): Promise<void> {
    await guarded('insert pending', () =>
      this.sql.query(
        `INSERT INTO results (id, kind, status, patient_id, subject, submitted_at)
         VALUES ($1, $2, 'pending', $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
        [r.id, r.kind, r.patientId, r.subject ?? null, r.submittedAt.toISOString()],
      ),
    );
  }

  /** Stores a finished result; returns false when it was already stored (a redelivery). */
  async upsertDone(r: {
    id: string;
    kind: string;
    patientId: string | null;
    subject?: string | null;
    model: string;
    payload: object;
  }): Promise<boolean> {
    const { rows } = await guarded('upsert result', () =>
      this.sql.query<{ first: boolean }>(
        `INSERT INTO results (id, kind, status, patient_id, subject, model, payload, completed_at, deliveries)
         VALUES ($1, $2, 'done', $3, $4, $5, $6, now(), 1)
         ON CONFLICT (id) DO UPDATE SET
           status       = 'done',
           kind         = CASE WHEN results.status = 'done' THEN results.kind ELSE excluded.kind END,
           patient_id   = CASE WHEN results.status = 'done' THEN results.patient_id ELSE excluded.patient_id END,
           subject      = CASE WHEN results.status = 'done' THEN results.subject ELSE excluded.subject END,
           model        = CASE WHEN results.status = 'done' THEN results.model ELSE excluded.model END,
           payload      = CASE WHEN results.status = 'done' THEN results.payload ELSE excluded.payload END,
           completed_at = COALESCE(results.completed_at, excluded.completed_at),
           error        = NULL,
           updated_at   = now(),
           deliveries   = results.deliveries + 1
         RETURNING deliveries = 1 AS first`,
        [r.id, r.kind, r.patientId, r.subject ?? null, r.model, JSON.stringify(r.payload)],
      ),
    );
    return rows[0]?.first === true;
  }

  /** Marks a submission failed (it went to the DLQ); never overwrites a finished result. */
  async markFailed(r: {
    id: string;
    kind: string;
    /** What the failed submission was about (a DICOM study), when known. */
    subject?: string | null;
    error: { code: string; message: string };
  }): Promise<void> {
    await guarded('mark failed', () =>
      this.sql.query(
        `INSERT INTO results (id, kind, status, error, completed_at, subject) VALUES ($1, $2, 'failed', $3, now(), $4)
         ON CONFLICT (id) DO UPDATE SET status = 'failed', error = excluded.error,
           completed_at = excluded.completed_at, updated_at = now()
         WHERE results.status = 'pending'`,
        [r.id, r.kind, JSON.stringify(r.error), r.subject ?? null],
      ),
    );
  }

  async get(id: string): Promise<StoredResult | undefined> {
    const { rows } = await guarded('get result', () =>
      this.sql.query<ResultRow>('SELECT * FROM results WHERE id = $1', [id]),
    );
    return rows[0] ? toStored(rows[0]) : undefined;
  }

  /** A patient's results, newest first, paged by limit/offset. */
  listByPatient(patientId: string, limit = 50, offset = 0): Promise<StoredResult[]> {
    return this.listWhere('patient_id', patientId, limit, offset);
  }

  /** The results about one subject (a DICOM study's UID), newest first, paged by limit/offset. */
  listBySubject(subject: string, limit = 50, offset = 0): Promise<StoredResult[]> {
    return this.listWhere('subject', subject, limit, offset);
  }

  /** `column` is one of the two indexed ones, never caller input. */
  private async listWhere(
    column: 'patient_id' | 'subject',
    value: string,
    limit: number,
    offset: number,
  ): Promise<StoredResult[]> {
    const { rows } = await guarded('list results', () =>
      this.sql.query<ResultRow>(
        `SELECT * FROM results WHERE ${column} = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
        [value, limit, offset],
      ),
    );
    return rows.map(toStored);
  }

  async countByStatus(): Promise<Record<ResultStatus, number>> {
    const { rows } = await guarded('count results', () =>
      this.sql.query<{ status: ResultStatus; n: string | number }>(
        'SELECT status, count(*) AS n FROM results GROUP BY status',
      ),
    );
    const out: Record<ResultStatus, number> = { pending: 0, done: 0, failed: 0 };
    for (const r of rows) out[r.status] = Number(r.n);
    return out;
  }

  async close(): Promise<void> {
    await this.sql.close();
  }
}
