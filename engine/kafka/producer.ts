import { randomBytes } from 'node:crypto';
import { type Kafka, type Message, type Producer, Partitioners } from 'kafkajs';
import type { TopicInputs, TopicName } from '../../schemas/records';
import type { AvroSerde } from '../avro/serde';
import { EngineError } from '../errors';
import type { Metrics } from '../metrics';
import { HEADER_TRACEPARENT, newTraceparent } from './headers';
import { TOPIC_RECORDS, type TopicNames } from './topics';

/**
 * A record to publish to logical topic `T`: a key and a value of that topic's Avro record
 * (schemas/topics.json → schemas/records.ts), typed at compile time and validated on encode.
 */
export interface OutgoingRecordOf<T extends TopicName> {
  readonly topic: T;
  readonly key: string | null;
  readonly value: TopicInputs[T];
  readonly headers?: Record<string, string>;
}

/** A record to publish to any topic of the table (a union discriminated by `topic`). */
export type OutgoingRecord = { [T in TopicName]: OutgoingRecordOf<T> }[TopicName];

/** Builds an OutgoingRecord with the value type checked against the topic's record. */
export function outgoing<T extends TopicName>(
  topic: T,
  key: string | null,
  value: TopicInputs[T],
  headers?: Record<string, string>,
): OutgoingRecordOf<T> {
  return headers ? { topic, key, value, headers } : { topic, key, value };
}

/** A record whose value is already encoded (DLQ replay, dead letters of undecodable input). */
export interface RawOutgoingRecord {
  topic: string;
  key: Buffer | string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

const randomHex = (n: number) => randomBytes(n).toString('hex');

/** Kafka errors that mean "not now" (unreachable, leader moving, timeouts) are retriable. */
export function kafkaError(err: unknown, what: string): EngineError {
  if (err instanceof EngineError) return err;
  const e = err as { name?: string; message?: string; retriable?: boolean; type?: string };
  const fatalProtocol = e.name === 'KafkaJSProtocolError' && e.retriable === false;
  return new EngineError(
    fatalProtocol ? 'KAFKA_PRODUCE_FAILED' : 'KAFKA_UNAVAILABLE',
    `${what}: ${e.message ?? String(err)}${e.type ? ` (${e.type})` : ''}`,
    { cause: err, retriable: !fatalProtocol },
  );
}

/**
 * The one producer of a process: idempotent, acks=all, bounded retries so that a caller waiting
 * on an acknowledgement gets an answer (HTTP 503 / DICOM 0xA700) instead of hanging forever.
 * `send` resolves only once Kafka has acknowledged every record.
 */
export class RecordProducer {
  private readonly producer: Producer;
  private readonly timeoutMs: number;

  constructor(
    kafka: Kafka,
    private readonly serde: AvroSerde,
    private readonly topics: TopicNames,
    private readonly metrics: Metrics,
    { retries = 3, timeoutMs = 10000 }: { retries?: number; timeoutMs?: number } = {},
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // murmur2 on the key, as the Java client: same key → same partition from any client.
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      retry: { retries: Math.max(1, retries), initialRetryTime: 200, maxRetryTime: 2000 },
    });
    this.timeoutMs = timeoutMs;
  }

  async connect(): Promise<void> {
    try {
      await this.producer.connect();
    } catch (err) {
      throw kafkaError(err, 'cannot connect the producer');
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }

  /** Encodes (throws SCHEMA_MISMATCH for a value that does not fit) without sending. */
  encode(record: OutgoingRecord): RawOutgoingRecord {
    const encoded = this.serde.encode<string>(TOPIC_RECORDS[record.topic], record.value);
    const headers: Record<string, string> = { ...record.headers, ...encoded.headers };
    headers[HEADER_TRACEPARENT] ??= newTraceparent(randomHex);
    return { topic: record.topic, key: record.key, value: encoded.value, headers };
  }

  async send(records: readonly OutgoingRecord[], component: string): Promise<void> {
    await this.sendRaw(
      records.map((r) => this.encode(r)),
      component,
    );
  }

  /**
   * Publishes records and resolves after acks=all. Concurrent callers are group-committed:
   * while one request is in flight, later sends queue up and go out together in the next one
   * (no added latency when idle; one round trip for many HTTP requests under load). Order is
   * kept: one request at a time, in arrival order.
   */
  sendRaw(records: readonly RawOutgoingRecord[], component: string): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ records, component, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private readonly queue: PendingSend[] = [];
  private flushing = false;

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const group: PendingSend[] = [];
      let count = 0;
      while (
        this.queue.length > 0 &&
        (group.length === 0 || count + this.queue[0]!.records.length <= MAX_GROUP_RECORDS)
      ) {
        const next = this.queue.shift()!;
        group.push(next);
        count += next.records.length;
      }
      try {
        await this.publish(group);
        for (const p of group) p.resolve();
      } catch (err) {
        const error = kafkaError(err, 'produce failed');
        if (error.retriable || group.length === 1) {
          for (const p of group) p.reject(error);
        } else {
          // A record the broker refuses (too large, invalid) must not fail its neighbours.
          for (const p of group)
            await this.publish([p]).then(p.resolve, (e: unknown) =>
              p.reject(kafkaError(e, 'produce failed')),
            );
        }
      }
    }
    this.flushing = false;
  }

  private async publish(group: readonly PendingSend[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const { records } of group) {
      for (const r of records) {
        const topic = this.topics.physical(r.topic);
        const list = byTopic.get(topic) ?? [];
        list.push({ key: r.key, value: r.value, headers: r.headers });
        byTopic.set(topic, list);
      }
    }
    await this.producer.sendBatch({
      acks: -1,
      timeout: this.timeoutMs,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    for (const { records, component } of group) {
      for (const r of records) this.metrics.recordsOut.inc({ topic: r.topic, component });
    }
  }
}

interface PendingSend {
  records: readonly RawOutgoingRecord[];
  component: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Most records in one group-committed produce request. */
const MAX_GROUP_RECORDS = 1000;
