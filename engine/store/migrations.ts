/**
 * Schema migrations, applied in order at start. Each is idempotent DDL (IF NOT EXISTS) and runs
 * in a transaction holding an advisory lock, so replicas starting together apply it once.
 * Never edit a shipped migration: add the next one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'results',
    sql: `
      CREATE TABLE IF NOT EXISTS results (
        id            text PRIMARY KEY,
        kind          text NOT NULL,
        status        text NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
        patient_id    text,
        subject       text,
        model         text,
        payload       jsonb,
        error         jsonb,
        submitted_at  timestamptz,
        completed_at  timestamptz,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now(),
        deliveries    integer NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS results_patient_idx ON results (patient_id, created_at DESC, id);
    `,
  },
  {
    version: 2,
    name: 'results by subject (study)',
    sql: `
      CREATE INDEX IF NOT EXISTS results_subject_idx ON results (subject, created_at DESC, id);
    `,
  },
];

export const MIGRATION_LOCK_KEY = 0x6d656473; // "meds"
