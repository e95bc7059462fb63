import type { ConfigSchema } from './json-schema';

const hostPort = '^[^\\s:,]+:[0-9]{1,5}$';

/** Engine-wide settings. Component settings live under `components.<name>` (see registry). */
export const engineConfigSchema: ConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    http: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        host: {
          type: 'string',
          default: '127.0.0.1',
          description: 'Address the HTTP server binds (REST API, web page, /healthz, /metrics).',
        },
        port: {
          type: 'integer',
          minimum: 0,
          maximum: 65535,
          default: 8080,
          description: 'HTTP port; 0 picks a free one (printed at start).',
        },
        bodyLimit: {
          type: 'integer',
          minimum: 1024,
          default: 1048576,
          description: 'Largest accepted request body in bytes; larger bodies get 413.',
        },
      },
    },
    kafka: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        brokers: {
          type: 'array',
          items: { type: 'string', pattern: hostPort },
          default: [],
          description:
            'Bootstrap brokers (host:port). Empty: `medstream up` starts a local single-node Kafka.',
        },
        clientId: { type: 'string', minLength: 1, default: 'medstream' },
        groupId: {
          type: 'string',
          minLength: 1,
          default: 'medstream',
          description: 'Consumer-group prefix; each component consumes as `<groupId>.<component>`.',
        },
        topicPrefix: {
          type: 'string',
          default: '',
          pattern: '^[A-Za-z0-9._-]*$',
          description: 'Prepended to every topic name (isolates environments on one cluster).',
        },
        partitions: {
          type: 'integer',
          minimum: 1,
          default: 4,
          description: 'Partitions for topics medstream creates; bounds process-role replicas.',
        },
        replicationFactor: { type: 'integer', minimum: 1, default: 1 },
        connectionTimeoutMs: { type: 'integer', minimum: 100, default: 3000 },
        requestTimeoutMs: { type: 'integer', minimum: 100, default: 10000 },
        produceRetries: {
          type: 'integer',
          minimum: 0,
          default: 3,
          description: 'Retries of one produce before the caller sees a failure (HTTP 503).',
        },
        sessionTimeoutMs: {
          type: 'integer',
          minimum: 1000,
          default: 30000,
          description: 'Consumer session timeout: how soon a dead replica’s partitions move.',
        },
        heartbeatIntervalMs: { type: 'integer', minimum: 100, default: 3000 },
        ssl: { type: 'boolean', default: false, description: 'TLS to the brokers.' },
        sasl: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            mechanism: {
              type: 'string',
              enum: ['', 'plain', 'scram-sha-256', 'scram-sha-512'],
              default: '',
            },
            username: { type: 'string', default: '' },
            password: { type: 'string', default: '', secret: true },
          },
        },
        local: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            dataDir: {
              type: 'string',
              default: './data/kafka',
              description: 'Log directory of the embedded single-node Kafka started by `up`.',
            },
            heapMb: { type: 'integer', minimum: 128, default: 768 },
          },
        },
      },
    },
    store: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: {
          type: 'string',
          default: '',
          description:
            'PostgreSQL URL (also DATABASE_URL); its password is masked by `config print`. Empty: embedded PGlite in store.embedded.dataDir.',
        },
        embedded: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            dataDir: {
              type: 'string',
              default: './data/store',
              description: 'PGlite data directory; "memory://" keeps it in memory.',
            },
          },
        },
        poolSize: { type: 'integer', minimum: 1, default: 10 },
      },
    },
    blobs: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        dir: {
          type: 'string',
          default: './data/blobs',
          description: 'Claim-check blob store root (a shared volume when scaled out).',
        },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: {
          type: 'string',
          enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
          default: 'info',
        },
        format: {
          type: 'string',
          enum: ['auto', 'json', 'pretty'],
          default: 'auto',
          description:
            'auto: one readable line per event when stdout is a terminal, JSON otherwise; json or pretty force one.',
        },
      },
    },
    components: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {},
    },
  },
};
