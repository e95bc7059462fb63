import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Admin, Kafka } from 'kafkajs';
import { AvroSerde } from './avro/serde';
import { type BlobStore, FileBlobStore } from './blob-store';
import type { TopicValues } from '../schemas/records';
import type { EngineConfig } from './config/types';
import type { AnyComponent, ComponentContext, Role, RunningComponent } from './contracts';
import { EngineError } from './errors';
import { type ReadinessCheck, createHttpServer } from './http/server';
import { createKafka } from './kafka/client';
import { RecordProducer, kafkaError } from './kafka/producer';
import { RecordConsumer } from './kafka/record-consumer';
import { readTopicToEnd } from './kafka/read-to-end';
import { headersToStrings } from './kafka/headers';
import { TOPIC_RECORDS, TopicNames, ensureTopicTable } from './kafka/topics';
import { type Logger, createLogger } from './logger';
import { Metrics } from './metrics';
import { projectRoot } from './paths';
import { ResultStore } from './store/result-store';

export interface EngineOptions {
  config: EngineConfig;
  roles: readonly Role[];
  /** The registry: every known component; those of the selected roles are run. */
  components: readonly AnyComponent[];
  /** Brokers to use when config.kafka.brokers is empty (the local Kafka `up` started). */
  brokers?: readonly string[];
  logger?: Logger;
  version?: string;
  /** Extra schema folders (e.g. newer writer versions) besides schemas/. */
  schemaFolders?: readonly string[];
}

export interface RunningEngine {
  readonly url: string;
  readonly http: FastifyInstance;
  /** undefined for a process-only replica. */
  readonly store: ResultStore | undefined;
  readonly metrics: Metrics;
  readonly topics: TopicNames;
  readonly producer: RecordProducer;
  readonly serde: AvroSerde;
  readonly kafka: Kafka;
  readonly blobs: BlobStore;
  /** Non-HTTP listeners by component name (see ComponentContext.announceListener). */
  readonly listeners: ReadonlyMap<string, string>;
  stop(): Promise<void>;
}

/**
 * Assembles and runs one medstream process: store → Kafka (topics, producer) → components of the
 * selected roles → HTTP. `stop()` undoes it in reverse: HTTP stops accepting, components drain
 * and commit, then the producer and the store close.
 */
export async function startEngine(options: EngineOptions): Promise<RunningEngine> {
  const { config, roles } = options;
  const logger =
    options.logger ??
    createLogger(config.log.level, { roles: roles.join(',') }, { format: config.log.format });
  const brokers = config.kafka.brokers.length > 0 ? config.kafka.brokers : (options.brokers ?? []);
  if (brokers.length === 0) {
    throw new EngineError(
      'CONFIG_INVALID',
      'kafka.brokers is empty: set KAFKA_BROKERS or use `medstream up`',
    );
  }
  const metrics = new Metrics();
  const serde = AvroSerde.fromFolders([
    join(projectRoot(), 'schemas'),
    ...(options.schemaFolders ?? []),
  ]);
  const topics = new TopicNames(config.kafka.topicPrefix);
  const readiness = new Map<string, ReadinessCheck>();
  const cleanup: Array<() => Promise<unknown>> = [];
  const closeAll = async () => {
    for (const fn of cleanup.splice(0).reverse()) {
      await fn().catch((err: unknown) => logger.warn({ err }, 'shutdown step failed'));
    }
  };

  try {
    // Only roles that read or write results open the store: process replicas need none.
    let store: ResultStore | undefined;
    if (roles.some((r) => r !== 'process')) {
      const opened = await ResultStore.open({
        url: config.store.url,
        embeddedDir: config.store.embedded.dataDir,
        poolSize: config.store.poolSize,
      });
      store = opened;
      cleanup.push(() => opened.close());
      readiness.set('store', async () => {
        await opened.ping();
        return { kind: opened.kind };
      });
    }
    const requireStore = (): ResultStore => {
      if (!store)
        throw new EngineError(
          'STORE_UNAVAILABLE',
          `the result store is not opened for roles ${roles.join(',')}`,
        );
      return store;
    };

    const kafka = createKafka(config.kafka, brokers, logger);
    const admin: Admin = kafka.admin();
    await admin.connect().catch((err: unknown) => {
      throw kafkaError(err, `cannot reach Kafka at ${brokers.join(',')}`);
    });
    cleanup.push(() => admin.disconnect());
    const { created } = await ensureTopicTable(admin, topics, config.kafka);
    if (created.length) logger.info({ topics: created }, 'created topics');
    readiness.set('kafka', async () => {
      const cluster = await admin.describeCluster();
      return { brokers: cluster.brokers.length, controller: cluster.controller };
    });

    const producer = new RecordProducer(kafka, serde, topics, metrics, {
      retries: config.kafka.produceRetries,
      timeoutMs: config.kafka.requestTimeoutMs,
    });
    await producer.connect();
    cleanup.push(() => producer.disconnect());

    const blobs = new FileBlobStore(config.blobs.dir);
    const selected = options.components.filter((c) => roles.includes(c.role));
    const http = await createHttpServer({
      bodyLimit: config.http.bodyLimit,
      version: options.version ?? 'dev',
      logger,
      metrics,
      readiness,
      health: () => ({
        version: options.version ?? 'dev',
        roles,
        components: selected.map((c) => c.name),
      }),
    });
    metrics.info.set(
      {
        role: roles.join(','),
        version: options.version ?? 'dev',
        store: store?.kind ?? 'none',
        kafka: brokers.join(','),
      },
      1,
    );

    const listeners = new Map<string, string>();
    const running: RunningComponent[] = [];
    for (const component of selected) {
      const log = logger.child({ component: component.name });
      const ctx: ComponentContext = {
        engine: config,
        logger: log,
        serde,
        producer,
        topics,
        get store() {
          return requireStore();
        },
        blobs,
        http,
        metrics,
        addReadinessCheck: (name, check) => readiness.set(`${component.name}.${name}`, check),
        announceListener: (address) => listeners.set(component.name, address),
        readTopic: async (logicalTopic, onRecord) => {
          let skipped = 0;
          const read = await readTopicToEnd(
            kafka,
            topics.physical(logicalTopic),
            `${config.kafka.groupId}.${component.name}.restore-${randomUUID()}`,
            async (partition, message) => {
              try {
                const value = serde.decode<string, TopicValues[typeof logicalTopic]>(
                  TOPIC_RECORDS[logicalTopic],
                  message.value,
                  headersToStrings(message.headers),
                );
                onRecord(partition, message.key ? message.key.toString('utf8') : null, value);
              } catch (err) {
                skipped += 1;
                log.warn(
                  { err, partition, offset: message.offset },
                  'undecodable changelog record skipped',
                );
              }
            },
            { throwaway: true, timeoutMs: 120000 },
          );
          return { read, skipped };
        },
        createConsumer: (spec) =>
          new RecordConsumer<(typeof spec.topics)[number]>(
            { kafka, serde, producer, topics, metrics, logger: log },
            {
              ...spec,
              component: component.name,
              groupId: `${config.kafka.groupId}.${component.name}`,
              sessionTimeoutMs: config.kafka.sessionTimeoutMs,
              heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
            },
          ),
      };
      const instance = await component.create(config.components[component.name] ?? {}, ctx);
      await instance.start();
      running.push(instance);
      cleanup.push(() => instance.stop());
    }

    await http.listen({ host: config.http.host, port: config.http.port });
    cleanup.push(() => http.close());
    const address = http.server.address();
    const port = typeof address === 'object' && address ? address.port : config.http.port;
    const url = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}`;

    let stopping: Promise<void> | undefined;
    return {
      url,
      http,
      store,
      metrics,
      topics,
      producer,
      serde,
      kafka,
      blobs,
      listeners,
      stop: () => (stopping ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
