/**
 * bench/pipeline — records/s through the first real path (POST /api/v1/vitals → Kafka →
 * icu-risk → Kafka → result store) against raw kafkajs produce→consume of the same records on
 * the same broker, measured side by side in one run. Prints the ratios.
 *
 *   npm run bench -- [--records 5000] [--concurrency 50] [--store pglite|postgres]
 *
 * Uses KAFKA_BROKERS when set, else starts the local single-node Kafka (deploy/local/kafka).
 * --store postgres needs DATABASE_URL (a database the bench may create tables in).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Kafka, Partitioners, logLevel, Kafka as KafkaClient } from 'kafkajs';
import { COMPONENTS, componentSchemas } from '../bin/registry';
import { type LocalKafka, startLocalKafka } from '../deploy/local/kafka/local-kafka';
import { loadConfig } from '../engine/config/load-config';
import { createLogger } from '../engine/logger';
import { startEngine } from '../engine/runtime';
import { RECORDS } from '../engine/kafka/topics';
import { sleep } from '../engine/time';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '50' },
    store: { type: 'string', default: 'pglite' },
  },
});
const N = Number(values.records);
const C = Number(values.concurrency);

function vitals(i: number) {
  return {
    patientId: `bench-${i % 500}`,
    observedAt: new Date(Date.now() - 60000).toISOString(),
    respiratoryRate: 8 + (i % 20),
    spo2: 97,
    spo2Scale: 1,
    supplementalOxygen: false,
    systolicBp: 120,
    pulse: 70,
    consciousness: 'A' as const,
    temperature: 37,
  };
}

async function pool(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** Produces N values (one send per record with C in flight, or in batches) and consumes them all. */
async function rawKafka(
  kafka: Kafka,
  values: Buffer[],
  mode: 'per-record' | 'batched',
): Promise<number> {
  const topic = `bench.raw.${randomBytes(4).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: 4, replicationFactor: 1 }],
  });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const consumer = kafka.consumer({
    groupId: `${topic}.g`,
    sessionTimeout: 10000,
    heartbeatInterval: 1000,
  });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let consumed = 0;
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset }) => {
      consumed += batch.messages.length;
      const last = batch.messages[batch.messages.length - 1];
      if (last) {
        resolveOffset(last.offset);
        await consumer.commitOffsets([
          { topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
        ]);
      }
    },
  });
  await sleep(1000); // let the group settle before the clock starts
  const t0 = process.hrtime.bigint();
  if (mode === 'per-record') {
    await pool(values.length, C, async (i) => {
      await producer.send({
        topic,
        acks: -1,
        messages: [{ key: `bench-${i % 500}`, value: values[i]! }],
      });
    });
  } else {
    for (let i = 0; i < values.length; i += 500) {
      await producer.send({
        topic,
        acks: -1,
        messages: values
          .slice(i, i + 500)
          .map((value, j) => ({ key: `bench-${(i + j) % 500}`, value })),
      });
    }
  }
  while (consumed < values.length) await sleep(5);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await consumer.disconnect();
  await producer.disconnect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  return values.length / seconds;
}

async function main(): Promise<void> {
  let local: LocalKafka | undefined;
  const kafkaDir = mkdtempSync(join(tmpdir(), 'medstream-bench-kafka-'));
  const blobDir = mkdtempSync(join(tmpdir(), 'medstream-bench-blobs-'));
  let brokers = process.env.KAFKA_BROKERS?.split(',');
  if (!brokers) {
    local = await startLocalKafka({ dataDir: kafkaDir, heapMb: 1024 });
    brokers = local.brokers;
  }
  const id = randomBytes(4).toString('hex');
  const storeUrl = values.store === 'postgres' ? (process.env.DATABASE_URL ?? '') : '';
  if (values.store === 'postgres' && !storeUrl)
    throw new Error('--store postgres needs DATABASE_URL');
  const config = loadConfig({
    env: {},
    file: '/dev/null',
    componentSchemas: componentSchemas(),
    overrides: {
      http: { port: 0 },
      kafka: { brokers, topicPrefix: `bench${id}.`, groupId: `bench${id}` },
      store: { url: storeUrl, embedded: { dataDir: 'memory://' } },
      blobs: { dir: blobDir },
      log: { level: 'error' },
    },
  });
  const engine = await startEngine({
    config,
    roles: ['ingest', 'process', 'sink', 'api'],
    components: COMPONENTS,
    logger: createLogger('error'),
  });
  try {
    const kafka = new KafkaClient({ clientId: 'bench', brokers, logLevel: logLevel.ERROR });
    // The raw baseline sends exactly the bytes the pipeline puts on its ingest topic.
    const encoded = Array.from(
      { length: N },
      (_, i) =>
        engine.serde.encode(RECORDS.vitalSignsSubmitted, {
          ...vitals(i),
          id: `raw-${i}`,
          observedAt: Date.now(),
          receivedAt: Date.now(),
          source: 'http',
        }).value,
    );

    // Warm-up: JIT, connections, consumer groups of the pipeline.
    await pool(
      200,
      C,
      async (i) =>
        void (
          await fetch(`${engine.url}/api/v1/vitals?wait=10s`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(vitals(i)),
          })
        ).text(),
    );

    const rawPerRecord = await rawKafka(kafka, encoded, 'per-record');
    const rawBatched = await rawKafka(kafka, encoded, 'batched');

    const before = (await engine.store!.countByStatus()).done;
    const t0 = process.hrtime.bigint();
    await pool(N, C, async (i) => {
      const res = await fetch(`${engine.url}/api/v1/vitals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(vitals(i)),
      });
      if (res.status !== 202) throw new Error(`submit answered ${res.status}`);
      await res.arrayBuffer();
    });
    const acceptedSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    while ((await engine.store!.countByStatus()).done < before + N) await sleep(20);
    const pipelineSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const pipeline = N / pipelineSeconds;

    const fmt = (n: number) => n.toFixed(0).padStart(7);
    const lines = [
      `medstream bench/pipeline — ${N} records, ${C} concurrent clients, store ${engine.store!.kind}, broker ${brokers.join(',')} (${local ? 'local KRaft' : 'external'}), ${cpus().length} CPU(s), Node ${process.version}`,
      `  raw kafkajs produce→consume, one acked send per record, ${C} in flight: ${fmt(rawPerRecord)} records/s`,
      `  raw kafkajs produce→consume, batched sends of 500:                     ${fmt(rawBatched)} records/s`,
      `  medstream HTTP → Kafka → NEWS2 → Kafka → store, end to end:            ${fmt(pipeline)} records/s  (accepted at ${fmt(N / acceptedSeconds)} records/s)`,
      `  ratio pipeline / raw per-record: ${(pipeline / rawPerRecord).toFixed(2)}`,
      `  ratio pipeline / raw batched:    ${(pipeline / rawBatched).toFixed(2)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await engine.stop();
    await local?.stop();
    rmSync(kafkaDir, { recursive: true, force: true });
    rmSync(blobDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
