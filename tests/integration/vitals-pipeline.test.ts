import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { RECORDS, TOPICS } from '../../engine/kafka/topics';
import type { RunningEngine } from '../../engine/runtime';
import { STORE_KINDS, createTestSettings, startTestEngine } from '../helpers/test-env';
import { getJson, postJson, vitalsBody } from '../helpers/vitals';
import { waitFor } from '../helpers/wait-for';
import { deadLetters } from '../helpers/topics';

describe.each(STORE_KINDS)('[REQ-PATH-01] vitals → NEWS2 → REST, store: %s', (storeKind) => {
  let engine: RunningEngine;
  let cleanup: () => Promise<void>;
  let producer: Producer;
  let groupId: string;

  beforeAll(async () => {
    const fixture = await createTestSettings(storeKind, { http: { bodyLimit: 4096 } });
    cleanup = fixture.cleanup;
    groupId = fixture.settings.groupId;
    engine = await startTestEngine(['ingest', 'process', 'sink', 'api'], fixture.settings);
    producer = engine.kafka.producer();
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await engine?.stop();
    await cleanup?.();
  });

  it('[REQ-PATH-01a] answers 202 with id and Location, then the NEWS2 result is readable', async () => {
    const submitted = await postJson(
      `${engine.url}/api/v1/vitals`,
      vitalsBody({
        patientId: 'pat-a',
        respiratoryRate: 22,
        spo2: 95,
        systolicBp: 105,
        pulse: 95,
        temperature: 38.5,
      }),
    );
    expect(submitted.status).toBe(202);
    expect(submitted.json).toMatchObject({ status: 'pending' });
    const id = submitted.json.id as string;
    expect(submitted.headers.get('location')).toBe(`/api/v1/results/${id}`);

    const done = await waitFor(
      async () => {
        const r = await getJson(`${engine.url}/api/v1/results/${id}`);
        return r.json.status === 'done' ? r : undefined;
      },
      { what: 'the NEWS2 result' },
    );
    expect(done.json).toMatchObject({
      id,
      status: 'done',
      kind: 'news2',
      patientId: 'pat-a',
      model: 'news2@rcp-2017',
      news2: {
        total: 6,
        band: 'medium',
        subscores: {
          respiratoryRate: 2,
          spo2: 1,
          supplementalOxygen: 0,
          systolicBp: 1,
          pulse: 1,
          consciousness: 0,
          temperature: 1,
        },
      },
    });
  });

  it('[REQ-PATH-01b] ?wait=10s returns the finished result synchronously', async () => {
    const r = await postJson(
      `${engine.url}/api/v1/vitals?wait=10s`,
      vitalsBody({ patientId: 'pat-b', consciousness: 'V' }),
    );
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      status: 'done',
      news2: { total: 3, band: 'low-medium', anySingleParameterThree: true },
    });
  });

  it("[REQ-PATH-01c] lists a patient's results newest first", async () => {
    const ids: string[] = [];
    for (const rr of [16, 26]) {
      const r = await postJson(
        `${engine.url}/api/v1/vitals?wait=10s`,
        vitalsBody({ patientId: 'pat-c', respiratoryRate: rr }),
      );
      ids.push(r.json.id as string);
    }
    const list = await getJson(`${engine.url}/api/v1/patients/pat-c/results`);
    expect(list.status).toBe(200);
    expect((list.json.items as Array<{ id: string }>).map((i) => i.id)).toEqual([...ids].reverse());
    const none = await getJson(`${engine.url}/api/v1/patients/nobody/results`);
    expect(none.json.items).toEqual([]);
  });

  it('[REQ-BAD-01] bad input gets problem+json naming the field', async () => {
    const url = `${engine.url}/api/v1/vitals`;
    const malformed = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"patientId": ',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toContain('application/problem+json');

    const invalid = await postJson(url, {
      ...vitalsBody({ spo2: 140, spo2Scale: 3, surprise: true }),
      pulse: undefined,
    });
    expect(invalid.status).toBe(422);
    const fields = (invalid.json.errors as Array<{ field: string }>).map((e) => e.field).sort();
    expect(fields).toEqual(['pulse', 'spo2', 'spo2Scale', 'surprise']);

    const future = await postJson(
      url,
      vitalsBody({ observedAt: new Date(Date.now() + 3600_000).toISOString() }),
    );
    expect(future.status).toBe(422);
    expect(future.json.errors).toEqual([
      { field: 'observedAt', message: 'must not be in the future' },
    ]);

    const big = await postJson(url, vitalsBody({ patientId: 'x'.repeat(5000) }));
    expect(big.status).toBe(413);

    const text = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'RR 16',
    });
    expect(text.status).toBe(415);

    const wait = await postJson(`${url}?wait=forever`, vitalsBody());
    expect(wait.status).toBe(400);

    const missing = await getJson(`${engine.url}/api/v1/results/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.json.type).toBe('urn:medstream:problem:not-found');
  });

  it('[REQ-DLQ-01] a poison record goes to the DLQ with its reason, is marked failed, and the next record is still processed', async () => {
    const poisonId = randomUUID();
    // A record on the vitals topic written with another schema (a RiskResult), as a buggy producer would.
    const wrong = engine.serde.encode(RECORDS.deadLetter, {
      originalTopic: 'x',
      originalPartition: 0,
      originalOffset: '0',
      originalKey: null,
      originalValue: null,
      originalHeaders: {},
      errorCode: 'X',
      errorMessage: 'x',
      component: 'x',
      attempts: 1,
      failedAt: 0,
    });
    await producer.send({
      topic: engine.topics.physical(TOPICS.ingestVitals),
      messages: [
        {
          key: 'pat-poison',
          value: wrong.value,
          headers: {
            ...wrong.headers,
            'medstream-schema-fingerprint': 'ff'.repeat(32),
            'correlation-id': poisonId,
          },
        },
        {
          key: 'pat-poison',
          value: Buffer.from('not avro at all'),
          headers: { 'correlation-id': randomUUID() },
        },
      ],
    });
    const after = await postJson(
      `${engine.url}/api/v1/vitals?wait=15s`,
      vitalsBody({ patientId: 'pat-poison' }),
    );
    expect(after.status).toBe(200);
    expect(after.json.status).toBe('done');

    const failed = await waitFor(
      async () => {
        const r = await getJson(`${engine.url}/api/v1/results/${poisonId}`);
        return r.json.status === 'failed' ? r : undefined;
      },
      { what: 'the poison record to be marked failed' },
    );
    expect(failed.json.error).toMatchObject({ code: 'SCHEMA_UNKNOWN' });

    const letters = await deadLetters(engine);
    const codes = letters
      .filter((l) => l.originalTopic === TOPICS.ingestVitals)
      .map((l) => l.errorCode)
      .sort();
    expect(codes).toEqual(['DECODE_FAILED', 'SCHEMA_UNKNOWN']);
    const poison = letters.find((l) => l.originalHeaders['correlation-id'] === poisonId)!;
    expect(poison).toMatchObject({ component: 'icu-risk', attempts: 1 });
    expect(Buffer.compare(poison.originalValue!, wrong.value)).toBe(0);

    // Offsets were committed past the poison: the group has no lag on the vitals topic.
    const admin = engine.kafka.admin();
    await admin.connect();
    try {
      const topic = engine.topics.physical(TOPICS.ingestVitals);
      const ends = await admin.fetchTopicOffsets(topic);
      await waitFor(
        async () => {
          const [committed] = await admin.fetchOffsets({
            groupId: `${groupId}.icu-risk`,
            topics: [topic],
          });
          return ends.every(
            (e) =>
              e.high === e.low ||
              committed!.partitions.find((p) => p.partition === e.partition)?.offset === e.high,
          );
        },
        { what: 'icu-risk offsets to reach the end of the vitals topic' },
      );
    } finally {
      await admin.disconnect();
    }
  });

  it('[REQ-OBS-01] /readyz reports Kafka and store; /metrics counts records', async () => {
    const ready = await getJson(`${engine.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.json.checks).toMatchObject({
      kafka: { status: 'ok' },
      store: { status: 'ok', kind: storeKind === 'postgres' ? 'postgresql' : 'pglite' },
    });
    const metrics = await (await fetch(`${engine.url}/metrics`)).text();
    expect(metrics).toMatch(
      /medstream_records_out_total\{topic="medstream.results.risk.v1",component="icu-risk"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /medstream_dlq_records_total\{component="icu-risk",code="SCHEMA_UNKNOWN"\} 1/,
    );
  });
});
