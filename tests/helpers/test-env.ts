import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { componentSchemas, COMPONENTS } from '../../bin/registry';
import { envNameFor, loadConfig } from '../../engine/config/load-config';
import type { Role } from '../../engine/contracts';
import { createLogger } from '../../engine/logger';
import { type RunningEngine, startEngine } from '../../engine/runtime';

export type StoreKind = 'pglite' | 'postgres';
export const STORE_KINDS: StoreKind[] = ['pglite', 'postgres'];

/** The PostgreSQL server tests create throwaway databases on. */
export const TEST_POSTGRES_URL =
  process.env.MEDSTREAM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const randomId = (n = 6) => randomBytes(n).toString('hex');

export function brokers(): string[] {
  const value = process.env.KAFKA_BROKERS;
  if (!value)
    throw new Error('KAFKA_BROKERS is not set: run through jest (its global setup starts Kafka)');
  return value.split(',');
}

/** A fresh database on the test PostgreSQL server; `drop()` removes it (connections forced off). */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `medstream_t_${randomId()}`;
  const admin = new Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: TEST_POSTGRES_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Settings that isolate one test: its own topics, groups, blob folder and store. */
export interface TestSettings {
  topicPrefix: string;
  groupId: string;
  storeUrl: string;
  blobDir: string;
  /** Extra config (nested like medstream.yaml). */
  extra?: Record<string, unknown>;
}

/**
 * Settings of the registry's components that every test engine needs: the DICOM SCP on any free
 * port, since several engines run at once. Merged under a test's own `components`.
 */
const REGISTRY_TEST_DEFAULTS = { components: { 'dicom-dimse': { port: 0 } } };

export function settingsToOverrides(
  s: TestSettings,
  { registry = true }: { registry?: boolean } = {},
): Record<string, unknown> {
  const merged: Record<string, unknown> = {
    http: { host: '127.0.0.1', port: 0 },
    kafka: {
      brokers: brokers(),
      topicPrefix: s.topicPrefix,
      groupId: s.groupId,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
    },
    store: { url: s.storeUrl, embedded: { dataDir: 'memory://' } },
    blobs: { dir: s.blobDir },
    log: { level: process.env.MEDSTREAM_TEST_LOG_LEVEL ?? 'error' },
    ...(registry ? REGISTRY_TEST_DEFAULTS : {}),
  };
  for (const [section, values] of Object.entries(s.extra ?? {})) {
    merged[section] = { ...(merged[section] as object | undefined), ...(values as object) };
  }
  return merged;
}

/** The same settings as MEDSTREAM_* variables, for child processes. */
export function settingsToEnv(s: TestSettings): Record<string, string> {
  const env: Record<string, string> = {};
  const walk = (value: unknown, path: string[]) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    } else if (value !== '' && value !== undefined) {
      env[envNameFor(path)] = Array.isArray(value) ? value.join(',') : String(value);
    }
  };
  walk(settingsToOverrides(s), []);
  return env;
}

/**
 * Per-test fixture: random topic prefix and group, a blob folder, and a store (embedded PGlite
 * in memory, or a fresh PostgreSQL database). `cleanup()` drops what it made.
 */
export async function createTestSettings(store: StoreKind, extra?: Record<string, unknown>) {
  const id = randomId();
  const db = store === 'postgres' ? await createTestDatabase() : undefined;
  const blobDir = mkdtempSync(join(tmpdir(), 'medstream-blobs-'));
  const settings: TestSettings = {
    topicPrefix: `t${id}.`,
    groupId: `g${id}`,
    storeUrl: db?.url ?? '',
    blobDir,
    extra,
  };
  return {
    settings,
    cleanup: async () => {
      await db?.drop();
      rmSync(blobDir, { recursive: true, force: true });
    },
  };
}

/** Runs an engine in this process with the given roles and settings. */
export async function startTestEngine(
  roles: readonly Role[],
  settings: TestSettings,
): Promise<RunningEngine> {
  const config = loadConfig({
    env: {},
    file: '/dev/null',
    componentSchemas: componentSchemas(),
    overrides: settingsToOverrides(settings),
  });
  return startEngine({
    config,
    roles,
    components: COMPONENTS,
    logger: createLogger(config.log.level),
  });
}
