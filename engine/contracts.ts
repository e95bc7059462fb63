/**
 * The contracts every medstream component implements. The runtime (engine/runtime.ts) is the
 * only caller; components never start or stop each other.
 *
 * Lifecycle of a component:
 *  1. `create(config, ctx)` — validate nothing (config arrives validated and frozen), register
 *     HTTP routes and readiness checks, build clients. No I/O that can block start-up for long.
 *  2. `start()` — begin consuming / accepting. Resolves once running.
 *  3. `stop()` — on SIGTERM or shutdown: stop accepting new work, let in-flight work finish and
 *     commit, release clients. The runtime stops components in reverse start order.
 *
 * Guarantees by role:
 *  - ingest (Source): answers its caller only after Kafka acknowledged the record; a Kafka
 *    failure is answered as a retriable failure (HTTP 503, DICOM 0xA700), never a false success.
 *  - process (Processor) and sink (Sink): run on a RecordConsumer (engine/kafka/record-consumer.ts):
 *    offsets are committed after outputs are acknowledged; retriable errors pause the partition;
 *    non-retriable ones dead-letter the record with the reason. Handlers are idempotent.
 *  - api: read-only routes over the result store.
 */
import type { FastifyInstance } from 'fastify';
import type { AvroSerde } from './avro/serde';
import type { BlobStore } from './blob-store';
import type { ConfigSchema } from './config/json-schema';
import type { EngineConfig } from './config/types';
import type { ReadinessCheck } from './http/server';
import type { RecordConsumer, RecordConsumerOptions } from './kafka/record-consumer';
import type { RecordProducer } from './kafka/producer';
import type { TopicName, TopicNames } from './kafka/topics';
import type { TopicValues } from '../schemas/records';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { ResultStore } from './store/result-store';

export const ROLES = ['ingest', 'process', 'sink', 'api'] as const;
export type Role = (typeof ROLES)[number];

export type ConsumerSpec<T extends TopicName = TopicName> = Omit<
  RecordConsumerOptions<T>,
  'groupId' | 'sessionTimeoutMs' | 'heartbeatIntervalMs' | 'component'
>;

export interface ComponentContext {
  readonly engine: EngineConfig;
  readonly logger: Logger;
  readonly serde: AvroSerde;
  readonly producer: RecordProducer;
  readonly topics: TopicNames;
  readonly store: ResultStore;
  readonly blobs: BlobStore;
  readonly http: FastifyInstance;
  readonly metrics: Metrics;
  /** A consumer in group `<kafka.groupId>.<component>` running the standard commit/DLQ loop. */
  createConsumer<T extends TopicName>(spec: ConsumerSpec<T>): RecordConsumer<T>;
  addReadinessCheck(name: string, check: ReadinessCheck): void;
  /**
   * Reads a topic as it is now (from its start to the end offsets seen when called), decoding
   * each value as the topic's record; for restoring state from a compacted changelog. Values
   * that do not decode are skipped and counted in the returned `skipped`.
   */
  readTopic<T extends TopicName>(
    logicalTopic: T,
    onRecord: (partition: number, key: string | null, value: TopicValues[T]) => void,
  ): Promise<{ read: number; skipped: number }>;
  /**
   * Tells where a non-HTTP listener of this component accepts connections (e.g. the DICOM SCP:
   * `dicom://127.0.0.1:11112?aet=MEDSTREAM`), once it is bound; the CLI prints it and
   * `RunningEngine.listeners` exposes it.
   */
  announceListener(address: string): void;
}

export interface RunningComponent {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface Component<C = Record<string, unknown>> {
  readonly name: string;
  readonly role: Role;
  readonly description: string;
  /** JSON schema of `components.<name>` with descriptions and defaults. */
  readonly configSchema: ConfigSchema;
  create(config: C, ctx: ComponentContext): RunningComponent | Promise<RunningComponent>;
}

/** A component whose config type is erased, for the registry's list. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyComponent = Component<any>;
