import { mkdirSync } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import { Pool } from 'pg';

/** The one SQL surface the store uses; both PostgreSQL (pg) and PGlite speak the same dialect. */
export interface SqlClient {
  readonly kind: 'postgresql' | 'pglite';
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
  /** Runs a parameterless script of several statements (migrations) on one connection. */
  exec(script: string): Promise<void>;
  close(): Promise<void>;
}

export function createPostgresClient(url: string, poolSize: number): SqlClient {
  const pool = new Pool({ connectionString: url, max: poolSize });
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return {
    kind: 'postgresql',
    query: async <R>(sql: string, params?: unknown[]) => {
      const result = await pool.query(sql, params);
      return { rows: result.rows as R[] };
    },
    exec: async (script: string) => {
      await pool.query(script);
    },
    close: () => pool.end(),
  };
}

/** Embedded PostgreSQL (PGlite, WebAssembly) in a folder, or in memory for "memory://". */
export async function createPgliteClient(dataDir: string): Promise<SqlClient> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const db: PGlite = await PGlite.create(dataDir);
  return {
    kind: 'pglite',
    query: async <R>(sql: string, params?: unknown[]) => {
      const result = await db.query<R>(sql, params);
      return { rows: result.rows };
    },
    exec: async (script: string) => {
      await db.exec(script);
    },
    close: () => db.close(),
  };
}
