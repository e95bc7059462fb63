import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../../../../engine/errors';
import { engineConfigSchema } from '../../../../engine/config/engine-schema';
import type { ConfigSchema } from '../../../../engine/config/json-schema';
import {
  buildConfigSchema,
  envNameFor,
  loadConfig,
  maskSecrets,
} from '../../../../engine/config/load-config';

let dir: string;
/** An empty YAML file: an explicit "no file settings", so no medstream.yaml in cwd can leak in. */
let emptyFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'medstream-config-'));
  emptyFile = join(dir, 'empty.yaml');
  writeFileSync(emptyFile, '');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let fileCounter = 0;
function yamlFile(text: string): string {
  const file = join(dir, `config-${++fileCounter}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** Runs `fn`, expecting an EngineError; returns it. */
function catchEngineError(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EngineError);
    return err as EngineError;
  }
  throw new Error('expected an EngineError, nothing was thrown');
}

const icuRiskSchema: ConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    partitionsConsumedConcurrently: { type: 'integer', minimum: 1, default: 4 },
    enabled: { type: 'boolean', default: true },
  },
};

describe('[REQ-CONFIG-01] defaults', () => {
  it('fills every engine default when nothing is configured', () => {
    const config = loadConfig({ file: emptyFile, env: {} });
    expect(config).toEqual({
      http: { host: '127.0.0.1', port: 8080, bodyLimit: 1048576 },
      kafka: {
        brokers: [],
        clientId: 'medstream',
        groupId: 'medstream',
        topicPrefix: '',
        partitions: 4,
        replicationFactor: 1,
        connectionTimeoutMs: 3000,
        requestTimeoutMs: 10000,
        produceRetries: 3,
        sessionTimeoutMs: 30000,
        heartbeatIntervalMs: 3000,
        ssl: false,
        sasl: { mechanism: '', username: '', password: '' },
        local: { dataDir: './data/kafka', heapMb: 768 },
      },
      store: { url: '', embedded: { dataDir: './data/store' }, poolSize: 10 },
      blobs: { dir: './data/blobs' },
      log: { level: 'info', format: 'auto' },
      components: {},
    });
  });

  it('fills defaults around values that are set', () => {
    const config = loadConfig({ file: yamlFile('http:\n  port: 9000\n'), env: {} });
    expect(config.http).toEqual({ host: '127.0.0.1', port: 9000, bodyLimit: 1048576 });
  });
});

describe('[REQ-CONFIG-02] YAML file', () => {
  it('reads nested settings from the file', () => {
    const file = yamlFile(
      [
        'http:',
        '  host: 0.0.0.0',
        '  port: 8181',
        'kafka:',
        '  brokers: ["k1:9092", "k2:9093"]',
        '  sasl:',
        '    mechanism: plain',
        'log:',
        '  level: debug',
        '',
      ].join('\n'),
    );
    const config = loadConfig({ file, env: {} });
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.http.port).toBe(8181);
    expect(config.kafka.brokers).toEqual(['k1:9092', 'k2:9093']);
    expect(config.kafka.sasl).toEqual({ mechanism: 'plain', username: '', password: '' });
    expect(config.log.level).toBe('debug');
  });

  it('takes the file from MEDSTREAM_CONFIG when no file option is given', () => {
    const file = yamlFile('http:\n  port: 7070\n');
    expect(loadConfig({ env: { MEDSTREAM_CONFIG: file } }).http.port).toBe(7070);
  });

  it('rejects a missing file with CONFIG_INVALID naming it', () => {
    const missing = join(dir, 'does-not-exist.yaml');
    const err = catchEngineError(() => loadConfig({ file: missing, env: {} }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(missing);
  });

  it('rejects a file that is not a mapping', () => {
    const file = yamlFile('- a\n- b\n');
    const err = catchEngineError(() => loadConfig({ file, env: {} }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toBe(`config file ${file} must hold a YAML mapping`);
  });

  it('rejects unparseable YAML', () => {
    const file = yamlFile('http: [unclosed\n');
    const err = catchEngineError(() => loadConfig({ file, env: {} }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(`cannot read config file ${file}`);
  });
});

describe('[REQ-CONFIG-03] environment overrides', () => {
  it('coerces MEDSTREAM_HTTP_PORT to a number', () => {
    const config = loadConfig({ file: emptyFile, env: { MEDSTREAM_HTTP_PORT: '9090' } });
    expect(config.http.port).toBe(9090);
  });

  it('splits MEDSTREAM_KAFKA_BROKERS on commas into an array', () => {
    const config = loadConfig({ file: emptyFile, env: { MEDSTREAM_KAFKA_BROKERS: 'a:1, b:2,' } });
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
  });

  it('honours KAFKA_BROKERS as an alias of kafka.brokers', () => {
    const config = loadConfig({ file: emptyFile, env: { KAFKA_BROKERS: 'x:9092,y:9093' } });
    expect(config.kafka.brokers).toEqual(['x:9092', 'y:9093']);
  });

  it('prefers MEDSTREAM_KAFKA_BROKERS over the KAFKA_BROKERS alias', () => {
    const config = loadConfig({
      file: emptyFile,
      env: { KAFKA_BROKERS: 'x:1', MEDSTREAM_KAFKA_BROKERS: 'm:2' },
    });
    expect(config.kafka.brokers).toEqual(['m:2']);
  });

  it('honours DATABASE_URL as an alias of store.url', () => {
    const config = loadConfig({
      file: emptyFile,
      env: { DATABASE_URL: 'postgres://u:p@db:5432/medstream' },
    });
    expect(config.store.url).toBe('postgres://u:p@db:5432/medstream');
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['No', false],
  ])('coerces boolean MEDSTREAM_KAFKA_SSL=%p to %p', (raw, expected) => {
    expect(loadConfig({ file: emptyFile, env: { MEDSTREAM_KAFKA_SSL: raw } }).kafka.ssl).toBe(
      expected,
    );
  });

  it('rejects a boolean that is not one', () => {
    const err = catchEngineError(() =>
      loadConfig({ file: emptyFile, env: { MEDSTREAM_KAFKA_SSL: 'maybe' } }),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('kafka.ssl');
    expect(err.message).toContain('"maybe"');
  });

  it('maps camelCase and nested names (MEDSTREAM_HTTP_BODY_LIMIT, MEDSTREAM_STORE_EMBEDDED_DATA_DIR)', () => {
    const config = loadConfig({
      file: emptyFile,
      env: { MEDSTREAM_HTTP_BODY_LIMIT: '2048', MEDSTREAM_STORE_EMBEDDED_DATA_DIR: 'memory://' },
    });
    expect(config.http.bodyLimit).toBe(2048);
    expect(config.store.embedded.dataDir).toBe('memory://');
  });

  it('ignores unrelated environment variables', () => {
    const config = loadConfig({
      file: emptyFile,
      env: { PORT: '1', MEDSTREAM_NOPE: 'x', HTTP_PORT: '2' },
    });
    expect(config.http.port).toBe(8080);
  });
});

describe('[REQ-CONFIG-04] precedence: overrides > environment > file > defaults', () => {
  const file = () => yamlFile('http:\n  port: 1111\n  host: file-host\nlog:\n  level: warn\n');

  it('environment beats the file', () => {
    const config = loadConfig({ file: file(), env: { MEDSTREAM_HTTP_PORT: '2222' } });
    expect(config.http.port).toBe(2222);
    expect(config.http.host).toBe('file-host');
    expect(config.log.level).toBe('warn');
  });

  it('overrides beat the environment and the file, merging deeply', () => {
    const config = loadConfig({
      file: file(),
      env: { MEDSTREAM_HTTP_PORT: '2222', MEDSTREAM_LOG_LEVEL: 'error' },
      overrides: { http: { port: 3333 } },
    });
    expect(config.http.port).toBe(3333);
    expect(config.http.host).toBe('file-host');
    expect(config.log.level).toBe('error');
  });

  it('does not mutate the overrides object it was given', () => {
    const overrides = { http: { port: 3333 } };
    loadConfig({ file: emptyFile, env: {}, overrides });
    expect(overrides).toEqual({ http: { port: 3333 } });
    expect(Object.isFrozen(overrides)).toBe(false);
  });
});

describe('[REQ-CONFIG-05] validation lists every problem at once', () => {
  it('reports a bad port, an unknown key and a bad enum in one CONFIG_INVALID', () => {
    const file = yamlFile('http:\n  port: 70000\n  colour: blue\nlog:\n  level: loud\n');
    const err = catchEngineError(() => loadConfig({ file, env: {} }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.retriable).toBe(false);
    expect(err.message).toContain('http.port');
    expect(err.message).toContain('70000');
    expect(err.message).toContain('http.colour: unknown setting');
    expect(err.message).toContain('log.level');
    expect(err.message).toContain('"loud"');
    const problems = (err.details as { problems: string[] }).problems;
    expect(problems).toHaveLength(3);
    expect(problems).toEqual(
      expect.arrayContaining([
        'http.port: must be <= 65535 (got 70000)',
        'http.colour: unknown setting',
        expect.stringMatching(
          /^log\.level: .*fatal, error, warn, info, debug, trace, silent.*\(got "loud"\)$/,
        ),
      ]),
    );
  });

  it('names the offending value from the environment (non-numeric port)', () => {
    const err = catchEngineError(() =>
      loadConfig({ file: emptyFile, env: { MEDSTREAM_HTTP_PORT: 'eighty' } }),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    expect((err.details as { problems: string[] }).problems).toEqual([
      'http.port: must be integer (got "eighty")',
    ]);
  });

  it('names each bad broker by its index', () => {
    const err = catchEngineError(() =>
      loadConfig({ file: emptyFile, env: { MEDSTREAM_KAFKA_BROKERS: 'ok:1,no-port' } }),
    );
    expect(err.message).toContain('kafka.brokers.1');
    expect(err.message).toContain('"no-port"');
    expect(err.message).not.toContain('kafka.brokers.0');
  });

  it('rejects an unknown top-level section', () => {
    const err = catchEngineError(() =>
      loadConfig({ file: emptyFile, env: {}, overrides: { databse: {} } }),
    );
    expect((err.details as { problems: string[] }).problems).toEqual(['databse: unknown setting']);
  });

  it('rejects settings of components that are not registered', () => {
    const err = catchEngineError(() =>
      loadConfig({ file: emptyFile, env: {}, overrides: { components: { ghost: { x: 1 } } } }),
    );
    expect((err.details as { problems: string[] }).problems).toEqual([
      'components.ghost: unknown setting',
    ]);
  });
});

describe('[REQ-CONFIG-06] the result is deep-frozen', () => {
  it('freezes the root, nested objects and arrays', () => {
    const config = loadConfig({ file: emptyFile, env: { MEDSTREAM_KAFKA_BROKERS: 'a:1' } });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
    expect(Object.isFrozen(config.kafka.sasl)).toBe(true);
    expect(Object.isFrozen(config.kafka.brokers)).toBe(true);
    expect(Object.isFrozen(config.components)).toBe(true);
  });

  it('throws on assignment in strict mode', () => {
    const config = loadConfig({ file: emptyFile, env: {} });
    expect(() => {
      (config.http as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.kafka.brokers as string[]).push('x:1');
    }).toThrow(TypeError);
    expect(config.http.port).toBe(8080);
  });
});

describe('[REQ-CONFIG-07] component schemas mount at components.<name>', () => {
  it('fills component defaults even when the component is not configured', () => {
    const config = loadConfig({
      file: emptyFile,
      env: {},
      componentSchemas: { 'icu-risk': icuRiskSchema },
    });
    expect(config.components).toEqual({
      'icu-risk': { partitionsConsumedConcurrently: 4, enabled: true },
    });
  });

  it('reads component settings from file and environment', () => {
    const file = yamlFile('components:\n  icu-risk:\n    partitionsConsumedConcurrently: 2\n');
    const config = loadConfig({
      file,
      env: { MEDSTREAM_COMPONENTS_ICU_RISK_ENABLED: 'false' },
      componentSchemas: { 'icu-risk': icuRiskSchema },
    });
    expect(config.components['icu-risk']).toEqual({
      partitionsConsumedConcurrently: 2,
      enabled: false,
    });
  });

  it('validates component settings with their dotted path', () => {
    const err = catchEngineError(() =>
      loadConfig({
        file: emptyFile,
        env: {},
        componentSchemas: { 'icu-risk': icuRiskSchema },
        overrides: { components: { 'icu-risk': { partitionsConsumedConcurrently: 0, typo: 1 } } },
      }),
    );
    const problems = (err.details as { problems: string[] }).problems;
    expect(problems).toHaveLength(2);
    expect(problems).toEqual(
      expect.arrayContaining([
        'components.icu-risk.partitionsConsumedConcurrently: must be >= 1 (got 0)',
        'components.icu-risk.typo: unknown setting',
      ]),
    );
  });

  it('buildConfigSchema does not modify the engine schema', () => {
    const before = JSON.stringify(engineConfigSchema);
    const schema = buildConfigSchema({ 'icu-risk': icuRiskSchema });
    expect(schema.properties?.components?.properties?.['icu-risk']?.default).toEqual({});
    expect(JSON.stringify(engineConfigSchema)).toBe(before);
    expect(engineConfigSchema.properties?.components?.properties).toEqual({});
  });
});

describe('[REQ-CONFIG-08] envNameFor', () => {
  it.each([
    [['http', 'port'], 'MEDSTREAM_HTTP_PORT'],
    [['http', 'bodyLimit'], 'MEDSTREAM_HTTP_BODY_LIMIT'],
    [['kafka', 'sasl', 'password'], 'MEDSTREAM_KAFKA_SASL_PASSWORD'],
    [['kafka', 'connectionTimeoutMs'], 'MEDSTREAM_KAFKA_CONNECTION_TIMEOUT_MS'],
    [['store', 'embedded', 'dataDir'], 'MEDSTREAM_STORE_EMBEDDED_DATA_DIR'],
    [
      ['components', 'icu-risk', 'partitionsConsumedConcurrently'],
      'MEDSTREAM_COMPONENTS_ICU_RISK_PARTITIONS_CONSUMED_CONCURRENTLY',
    ],
    [['components', 'http-vitals', 'maxWaitMs'], 'MEDSTREAM_COMPONENTS_HTTP_VITALS_MAX_WAIT_MS'],
  ])('%j → %s', (path, name) => {
    expect(envNameFor(path)).toBe(name);
  });
});

describe('[REQ-CONFIG-09] maskSecrets', () => {
  it('masks kafka.sasl.password and the password in store.url, leaving the rest', () => {
    const config = loadConfig({
      file: emptyFile,
      env: {
        MEDSTREAM_KAFKA_SASL_USERNAME: 'svc',
        MEDSTREAM_KAFKA_SASL_PASSWORD: 's3cret',
        DATABASE_URL: 'postgres://medstream:hunter2@db.local:5432/medstream',
      },
    });
    const masked = maskSecrets(config, buildConfigSchema()) as {
      kafka: { sasl: { username: string; password: string }; brokers: string[] };
      store: { url: string };
      http: { port: number };
    };
    expect(masked.kafka.sasl.password).toBe('***');
    expect(masked.kafka.sasl.username).toBe('svc');
    expect(masked.store.url).toBe('postgres://medstream:***@db.local:5432/medstream');
    expect(JSON.stringify(masked)).not.toContain('hunter2');
    expect(JSON.stringify(masked)).not.toContain('s3cret');
    expect(masked.http.port).toBe(8080);
    // the config itself is untouched
    expect(config.kafka.sasl.password).toBe('s3cret');
  });

  it('leaves empty secrets and URLs without a password as they are', () => {
    const schema = buildConfigSchema();
    const masked = maskSecrets(
      { kafka: { sasl: { password: '' } }, store: { url: 'postgres://db.local:5432/medstream' } },
      schema,
    );
    expect(masked).toEqual({
      kafka: { sasl: { password: '' } },
      store: { url: 'postgres://db.local:5432/medstream' },
    });
  });

  it('masks a secret password even when it looks like a URL', () => {
    const masked = maskSecrets(
      {
        kafka: { sasl: { password: 'tr0ub4dor://x' } },
        store: { url: 'postgres://u:se%20cret@h/db' },
      },
      buildConfigSchema(),
    );
    expect(masked).toEqual({
      kafka: { sasl: { password: '***' } },
      store: { url: 'postgres://u:***@h/db' },
    });
  });

  it('masks URL passwords in settings not marked secret too', () => {
    const masked = maskSecrets(
      { components: { x: { upstream: 'https://a:b@example.org/' } } },
      buildConfigSchema(),
    );
    expect(masked).toEqual({ components: { x: { upstream: 'https://a:***@example.org/' } } });
  });
});
