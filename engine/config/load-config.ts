import { existsSync, readFileSync } from 'node:fs';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { EngineError } from '../errors';
import { engineConfigSchema } from './engine-schema';
import { type ConfigSchema, deepFreeze, describeSchemaError, forEachLeaf } from './json-schema';
import type { EngineConfig } from './types';

export interface LoadConfigOptions {
  /** YAML file; when absent, MEDSTREAM_CONFIG, then ./medstream.yaml if it exists. */
  file?: string;
  /** Environment to read MEDSTREAM_* overrides from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Config schemas of the registered components, by component name. */
  componentSchemas?: Record<string, ConfigSchema>;
  /** Values applied after file and env (used by tests and the CLI's flags). */
  overrides?: Record<string, unknown>;
}

/** Well-known variables honoured besides the MEDSTREAM_* names. */
const ENV_ALIASES: Record<string, string[]> = {
  KAFKA_BROKERS: ['kafka', 'brokers'],
  DATABASE_URL: ['store', 'url'],
};

/** `http.bodyLimit` → `MEDSTREAM_HTTP_BODY_LIMIT`; `components.icu-risk.x` → `..._ICU_RISK_X`. */
export function envNameFor(path: readonly string[]): string {
  const parts = path.map((p) =>
    p
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .replace(/[^A-Za-z0-9]+/g, '_')
      .toUpperCase(),
  );
  return ['MEDSTREAM', ...parts].join('_');
}

function coerceEnvValue(raw: string, schema: ConfigSchema): unknown {
  switch (schema.type) {
    case 'integer':
    case 'number': {
      const n = Number(raw);
      return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
    }
    case 'boolean':
      if (/^(true|1|yes)$/i.test(raw)) return true;
      if (/^(false|0|no)$/i.test(raw)) return false;
      return raw;
    case 'array':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
        .map((s) => (schema.items ? coerceEnvValue(s, schema.items) : s));
    default:
      return raw;
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function mergeDeep(base: Record<string, unknown>, extra: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(extra)) {
    const current = base[key];
    if (
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      current !== null &&
      typeof current === 'object' &&
      !Array.isArray(current)
    ) {
      mergeDeep(current as Record<string, unknown>, value as Record<string, unknown>);
    } else {
      base[key] = value;
    }
  }
}

const CONFIG_WORDING = { unknownProperty: 'unknown setting', rootField: '(root)' };

/** Engine schema with each component's schema mounted at `components.<name>`. */
export function buildConfigSchema(
  componentSchemas: Record<string, ConfigSchema> = {},
): ConfigSchema {
  const schema = structuredClone(engineConfigSchema);
  const components = schema.properties!.components!;
  components.properties = {};
  for (const [name, componentSchema] of Object.entries(componentSchemas)) {
    components.properties[name] = { default: {}, ...structuredClone(componentSchema) };
  }
  return schema;
}

/**
 * Reads YAML, applies MEDSTREAM_* environment overrides and explicit overrides, validates against
 * the engine + component schemas (filling defaults), and returns a deep-frozen config.
 * Throws CONFIG_INVALID listing every problem with its dotted path and offending value.
 */
export function loadConfig(options: LoadConfigOptions = {}): EngineConfig {
  const env = options.env ?? process.env;
  const schema = buildConfigSchema(options.componentSchemas);
  const raw: Record<string, unknown> = {};

  const file =
    options.file ??
    env.MEDSTREAM_CONFIG ??
    (existsSync('medstream.yaml') ? 'medstream.yaml' : undefined);
  if (file) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new EngineError(
        'CONFIG_INVALID',
        `cannot read config file ${file}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new EngineError('CONFIG_INVALID', `config file ${file} must hold a YAML mapping`);
      }
      mergeDeep(raw, parsed as Record<string, unknown>);
    }
  }

  for (const [name, path] of Object.entries(ENV_ALIASES)) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      let leaf: ConfigSchema | undefined = schema;
      for (const p of path) leaf = leaf?.properties?.[p];
      setPath(raw, path, coerceEnvValue(value, leaf ?? {}));
    }
  }
  forEachLeaf(schema, (path, leaf) => {
    const value = env[envNameFor(path)];
    if (value !== undefined) setPath(raw, path, coerceEnvValue(value, leaf));
  });
  if (options.overrides) mergeDeep(raw, structuredClone(options.overrides));

  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'secret', schemaType: 'boolean' });
  const validate = ajv.compile(schema);
  if (!validate(raw)) {
    const problems = (validate.errors ?? []).map((e) => {
      const p = describeSchemaError(e, CONFIG_WORDING, { value: raw });
      return `${p.field}: ${p.message}`;
    });
    throw new EngineError(
      'CONFIG_INVALID',
      `invalid configuration:\n  - ${problems.join('\n  - ')}`,
      {
        details: { problems },
      },
    );
  }
  return deepFreeze(raw as unknown as EngineConfig);
}

/** `scheme://user:password@host…` with the password replaced; undefined if no such password. */
function maskUrlPassword(value: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(value)) return undefined;
  try {
    const url = new URL(value);
    if (url.password) {
      url.password = '***';
      return url.toString();
    }
  } catch {
    /* not a URL */
  }
  return undefined;
}

/**
 * A copy of the config safe to print: `secret` settings show as `***`, and the password inside
 * any credentialed URL (`postgres://user:***@host/db`) is masked wherever it appears.
 */
export function maskSecrets(config: unknown, schema: ConfigSchema): unknown {
  if (Array.isArray(config)) return config.map((v) => maskSecrets(v, schema.items ?? {}));
  if (config !== null && typeof config === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config)) {
      const child = schema.properties?.[key] ?? {};
      out[key] = child.secret && value !== '' ? '***' : maskSecrets(value, child);
    }
    return out;
  }
  return typeof config === 'string' ? (maskUrlPassword(config) ?? config) : config;
}
