import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { AvroSerde } from '../avro/serde';
import { DEFAULT_RETRY, type RetryConfig, retryBackoffMs } from '../config/retry';
import { EngineError, toEngineError } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { sleep } from '../time';
import { deadLetterFor } from './dead-letter';
import { headersToStrings } from './headers';
import {
  type OutgoingRecord,
  type RawOutgoingRecord,
  type RecordProducer,
  kafkaError,
} from './producer';
import type { TopicName, TopicValues } from '../../schemas/records';
import { TOPIC_RECORDS, type TopicNames } from './topics';

/** A consumed message and the encoded records its handling produced. */
interface Handled {
  message: KafkaMessage;
  outputs: RawOutgoingRecord[];
}

/** A consumed record with its value decoded by the reader schema of its topic. */
export interface IncomingRecord<T = Record<string, unknown>> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: T;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: number;
  /**
   * Which attempt at handling this record this call is, from 1; counts retriable failures in
   * this consumer since the record was fetched (a rebalance or restart starts again at 1).
   */
  readonly attempt: number;
}

/** A consumed record of logical topic `T`, its value typed as that topic's record. */
export type IncomingRecordOf<T extends TopicName> = {
  [N in T]: IncomingRecord<TopicValues[N]> & { readonly topic: N };
}[T];

/**
 * What a processor or sink does with one record. Contract:
 *  1. Called once per delivery, in partition order; a record may be delivered again after a
 *     crash or rebalance, so handling must be idempotent (deterministic ids, upserts).
 *  2. Returns the records to publish (zero = filtered / side effect only). They are published
 *     and acknowledged before the input's offset is committed.
 *  3. Throws an EngineError: `retriable` → the partition waits (the consumer's `retry` backoff,
 *     or the error's `retryAfterMs` when it gives one; heartbeats kept) and the same record is
 *     tried again, never skipped — until `retry.maxAttempts` failed attempts, after which it is
 *     dead-lettered with the last error; otherwise (not retriable) the record goes to
 *     medstream.dlq.v1 with the code and message at once, and the partition moves on.
 *     A handler never sleeps or loops to retry: one attempt per delivery.
 */
export type RecordHandler<T extends TopicName = TopicName> = (
  record: IncomingRecordOf<T>,
) => Promise<readonly OutgoingRecord[]>;

/**
 * The batch form, for processors that batch work across records (dynamic batching of model
 * inference): receives the decodable records of a consumed batch in order and returns one
 * outcome per record, in the same order — its outputs, or the EngineError it failed with
 * (same retriable / dead-letter rules as RecordHandler; a retriable error stops the run there).
 */
export type BatchRecordHandler<T extends TopicName = TopicName> = (
  records: readonly IncomingRecordOf<T>[],
) => Promise<ReadonlyArray<readonly OutgoingRecord[] | EngineError>>;

export interface RecordConsumerOptions<T extends TopicName = TopicName> {
  component: string;
  groupId: string;
  /** Logical topics to read; each value is decoded with its topic's record (schemas/topics.json). */
  topics: readonly T[];
  /** Exactly one of handle / handleBatch. */
  handle?: RecordHandler<T>;
  handleBatch?: BatchRecordHandler<T>;
  /** Largest run of records given to handleBatch at once (default 64). */
  maxBatchRecords?: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  partitionsConsumedConcurrently?: number;
  /**
   * Backoff and attempt limit for retriable failures (engine/config/retry.ts); a component
   * passes its validated `retry` config here. Default: retry forever, 0.5 s doubling to 15 s.
   */
  retry?: RetryConfig;
  fromBeginning?: boolean;
  /**
   * Called each time this member joined the group, with the partitions it now owns per logical
   * topic — for stateful processors that restore per-partition state before handling.
   */
  onAssignment?: (assignment: Record<string, number[]>) => void;
}

export interface RecordConsumerDeps {
  kafka: Kafka;
  serde: AvroSerde;
  producer: RecordProducer;
  topics: TopicNames;
  metrics: Metrics;
  logger: Logger;
}

/**
 * The consume → handle → produce → commit loop every processor and sink runs on.
 * At-least-once: an offset is committed only after the outputs of every record before it were
 * acknowledged by Kafka (or the record was dead-lettered). SIGTERM: `stop()` lets the batch in
 * hand finish, commits, and leaves the group so its partitions move at once.
 */
export class RecordConsumer<T extends TopicName = TopicName> {
  private readonly consumer: Consumer;
  private readonly log: Logger;

  constructor(
    private readonly deps: RecordConsumerDeps,
    private readonly options: RecordConsumerOptions<T>,
  ) {
    this.log = deps.logger.child({ component: options.component });
    this.consumer = deps.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      rebalanceTimeout: Math.max(options.sessionTimeoutMs * 2, 60000),
      allowAutoTopicCreation: false,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10000 },
    });
  }

  async start(): Promise<void> {
    const { topics, fromBeginning = true, onAssignment } = this.options;
    if (onAssignment)
      this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
        const assignment: Record<string, number[]> = {};
        for (const [topic, partitions] of Object.entries(payload.memberAssignment))
          assignment[this.deps.topics.logical(topic)] = partitions;
        onAssignment(assignment);
      });
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({
        topics: topics.map((t) => this.deps.topics.physical(t)),
        fromBeginning,
      });
    } catch (err) {
      throw kafkaError(err, `consumer ${this.options.groupId} cannot subscribe`);
    }
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 4,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }

  private decode(
    topic: string,
    partition: number,
    message: KafkaMessage,
    attempt: number,
  ): IncomingRecordOf<T> {
    const logical = this.deps.topics.logical(topic) as T;
    const headers = headersToStrings(message.headers);
    return {
      topic: logical,
      partition,
      offset: message.offset,
      key: message.key ? message.key.toString('utf8') : null,
      value: this.deps.serde.decode<string, TopicValues[T]>(
        TOPIC_RECORDS[logical],
        message.value,
        headers,
      ),
      headers,
      timestamp: Number(message.timestamp),
      attempt,
    } as unknown as IncomingRecordOf<T>;
  }

  private async onBatch({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    const { component, groupId } = this.options;
    const { metrics } = this.deps;
    const logicalTopic = this.deps.topics.logical(batch.topic);
    const started = process.hrtime.bigint();
    const messages = batch.messages;
    metrics.batchSize.observe({ component }, messages.length);
    metrics.consumerLag.set(
      { group: groupId, topic: logicalTopic, partition: String(batch.partition) },
      Number(batch.offsetLag()),
    );

    const retry = this.options.retry ?? DEFAULT_RETRY;
    let next = 0;
    let attempt = 0;
    while (next < messages.length && isRunning() && !isStale()) {
      const { handled, retriable } = await this.handleRun(
        logicalTopic,
        batch.partition,
        messages.slice(next),
        attempt,
      );
      let waitFor: EngineError | undefined = retriable;
      let progressed = false;

      if (handled.length > 0) {
        try {
          await this.publish(logicalTopic, batch.partition, handled);
          const last = handled[handled.length - 1]!.message.offset;
          resolveOffset(last);
          await this.consumer.commitOffsets([
            {
              topic: batch.topic,
              partition: batch.partition,
              offset: (BigInt(last) + 1n).toString(),
            },
          ]);
          next += handled.length;
          progressed = true;
        } catch (err) {
          waitFor = kafkaError(err, 'publishing outputs / committing');
        }
      }

      if (waitFor) {
        // The count is per record: a run that got past the last failing record starts afresh.
        attempt = progressed ? 1 : attempt + 1;
        metrics.retries.inc({ component, code: waitFor.code });
        const delay = waitFor.retryAfterMs ?? retryBackoffMs(attempt, retry);
        this.log.warn(
          { code: waitFor.code, attempt, delayMs: delay, partition: batch.partition },
          `retrying: ${waitFor.message}`,
        );
        await this.pause(delay, heartbeat, isRunning);
      } else {
        attempt = 0;
      }
    }
    metrics.processingSeconds.observe(
      { component },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
  }

  /**
   * Handles messages in order until one fails retriably (returned, not thrown): decode, then
   * the record or batch handler; a non-retriable failure becomes that message's dead letter.
   */
  private async handleRun(
    topic: string,
    partition: number,
    messages: readonly KafkaMessage[],
    attempt: number,
  ): Promise<{ handled: Handled[]; retriable?: EngineError }> {
    const { component } = this.options;
    const { metrics, producer } = this.deps;
    const limit = (this.options.retry ?? DEFAULT_RETRY).maxAttempts;
    const handled: Handled[] = [];
    // `attempt` counts the failed attempts of the run's first message; the others are fresh.
    const attemptOf = (i: number) => (i === 0 ? attempt + 1 : 1);
    const outcome = (i: number, result: readonly OutgoingRecord[] | EngineError): boolean => {
      const message = messages[i] as KafkaMessage;
      if (result instanceof Error) {
        if (result.retriable && (limit === 0 || attemptOf(i) < limit)) return false;
        handled.push({
          message,
          outputs: [this.deadLetter(topic, partition, message, result, attemptOf(i))],
        });
      } else {
        handled.push({ message, outputs: result.map((out) => producer.encode(out)) });
      }
      metrics.recordsIn.inc({ topic, component });
      return true;
    };
    const decoded: Array<IncomingRecordOf<T> | EngineError> = messages.map((message, i) => {
      try {
        return this.decode(topic, partition, message, attemptOf(i));
      } catch (err) {
        return toEngineError(err, 'DECODE_FAILED');
      }
    });

    if (this.options.handleBatch) {
      const run = decoded.slice(0, this.options.maxBatchRecords ?? 64);
      const records = run.filter((r): r is IncomingRecordOf<T> => !(r instanceof Error));
      let results: ReadonlyArray<readonly OutgoingRecord[] | EngineError>;
      try {
        results = records.length > 0 ? await this.options.handleBatch(records) : [];
      } catch (err) {
        const error = toEngineError(err, 'PROCESSING_FAILED');
        results = records.map(() => error);
      }
      let r = 0;
      for (let i = 0; i < run.length; i++) {
        const item = run[i] as IncomingRecordOf<T> | EngineError;
        const result =
          item instanceof Error
            ? item
            : (results[r++] ?? new EngineError('PROCESSING_FAILED', 'no outcome returned'));
        if (!outcome(i, result)) return { handled, retriable: result as EngineError };
      }
      return { handled };
    }

    for (let i = 0; i < decoded.length; i++) {
      const item = decoded[i] as IncomingRecordOf<T> | EngineError;
      let result: readonly OutgoingRecord[] | EngineError;
      if (item instanceof Error) {
        result = item;
      } else {
        try {
          result = await this.options.handle!(item);
        } catch (err) {
          result = toEngineError(err, 'PROCESSING_FAILED');
        }
      }
      if (!outcome(i, result)) return { handled, retriable: result as EngineError };
    }
    return { handled };
  }

  /**
   * Publishes the outputs of a handled run of records in one acknowledged request. If Kafka
   * refuses them for good (a record too large, say), each record's outputs are tried alone and
   * a refused record is dead-lettered, so one bad output cannot stall the partition forever.
   */
  private async publish(
    topic: string,
    partition: number,
    handled: readonly Handled[],
  ): Promise<void> {
    const { producer } = this.deps;
    const { component } = this.options;
    try {
      await producer.sendRaw(
        handled.flatMap((h) => h.outputs),
        component,
      );
      return;
    } catch (err) {
      const error = kafkaError(err, 'publishing outputs');
      if (error.retriable || handled.length === 0) throw error;
    }
    for (const h of handled) {
      try {
        await producer.sendRaw(h.outputs, component);
      } catch (err) {
        const error = kafkaError(err, 'publishing outputs');
        if (error.retriable) throw error;
        await producer.sendRaw([this.deadLetter(topic, partition, h.message, error, 1)], component);
      }
    }
  }

  private deadLetter(
    topic: string,
    partition: number,
    message: KafkaMessage,
    error: EngineError,
    attempts: number,
  ): RawOutgoingRecord {
    const { component } = this.options;
    this.deps.metrics.deadLetters.inc({ component, code: error.code });
    this.log.warn(
      { code: error.code, topic, partition, offset: message.offset },
      `dead-lettered: ${error.message}`,
    );
    return this.deps.producer.encode(
      deadLetterFor({ topic, partition, message }, error, component, attempts),
    );
  }

  /** Waits out a backoff in slices, keeping the group membership alive, until stopped. */
  private async pause(
    ms: number,
    heartbeat: () => Promise<void>,
    isRunning: () => boolean,
  ): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until && isRunning()) {
      await sleep(Math.min(until - Date.now(), this.options.heartbeatIntervalMs));
      await heartbeat().catch(() => undefined);
    }
  }
}
