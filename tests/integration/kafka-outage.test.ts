import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalKafka, startLocalKafka } from '../../deploy/local/kafka/local-kafka';
import { TOPICS } from '../../engine/kafka/topics';
import type { RunningEngine } from '../../engine/runtime';
import { createTestSettings, startTestEngine } from '../helpers/test-env';
import { postJson, vitalsBody } from '../helpers/vitals';
import { waitFor } from '../helpers/wait-for';
import { dcmtk, packagedDicomFiles, scpAddress } from '../helpers/dicom';

/** Sum of the end offsets of a topic: how many records it holds. */
async function topicSize(engine: RunningEngine, topic: string): Promise<number> {
  const admin = engine.kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(engine.topics.physical(topic));
    return offsets.reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

// A Kafka of its own, so that stopping it does not disturb the other suites.
describe('[REQ-GUAR-01] Kafka down at submit → 503, nothing half-written; back up → accepted again', () => {
  let kafka: LocalKafka | undefined;
  let engine: RunningEngine;
  let cleanup: () => Promise<void>;
  const dataDir = mkdtempSync(join(tmpdir(), 'medstream-outage-kafka-'));

  beforeAll(async () => {
    kafka = await startLocalKafka({ dataDir, heapMb: 512 });
    const fixture = await createTestSettings('pglite', {
      kafka: {
        brokers: kafka.brokers,
        produceRetries: 1,
        requestTimeoutMs: 3000,
        connectionTimeoutMs: 1000,
      },
    });
    cleanup = fixture.cleanup;
    engine = await startTestEngine(['ingest', 'api'], fixture.settings);
  });

  afterAll(async () => {
    await engine?.stop();
    await kafka?.stop();
    await cleanup?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 + Retry-After while the broker is down and writes nothing', async () => {
    const first = await postJson(`${engine.url}/api/v1/vitals`, vitalsBody());
    expect(first.status).toBe(202);
    const recordsBefore = await topicSize(engine, TOPICS.ingestVitals);
    const rowsBefore = await engine.store!.countByStatus();

    await kafka!.stop();
    kafka = undefined;
    const refused = await postJson(
      `${engine.url}/api/v1/vitals`,
      vitalsBody({ patientId: 'pat-outage' }),
    );
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(refused.json).toMatchObject({ type: 'urn:medstream:problem:unavailable', status: 503 });
    expect(await engine.store!.countByStatus()).toEqual(rowsBefore);
    expect(await engine.store!.listByPatient('pat-outage')).toEqual([]);
    // The DICOM SCP answers C-STORE with 0xA700 (out of resources): the sender keeps the instance.
    const scp = scpAddress(engine);
    const file = packagedDicomFiles().find((f) => f.endsWith('explicit_little.dcm'))!;
    const refusedStore = await dcmtk('storescu', [
      '-v',
      '-aec',
      scp.aet,
      scp.host,
      String(scp.port),
      file,
    ]);
    expect(refusedStore.output).toMatch(/Received Store Response \(Refused: OutOfResources\)/);

    kafka = await startLocalKafka({ dataDir, heapMb: 512 });
    const accepted = await waitFor(
      async () => {
        const r = await postJson(
          `${engine.url}/api/v1/vitals`,
          vitalsBody({ patientId: 'pat-after' }),
        );
        return r.status === 202 ? r : undefined;
      },
      { timeoutMs: 60000, intervalMs: 500, what: 'a submit to succeed after Kafka restarted' },
    );
    expect(accepted.json.status).toBe('pending');
    // Exactly the accepted records are on the topic: the refused one was never written.
    const recordsAfter = await topicSize(engine, TOPICS.ingestVitals);
    expect(recordsAfter).toBe(recordsBefore + 1);
    // The refused instance was not published; sent again, it is accepted.
    expect(await topicSize(engine, TOPICS.ingestDicom)).toBe(0);
    const stored = await dcmtk('storescu', [
      '-v',
      '-aec',
      scp.aet,
      scp.host,
      String(scp.port),
      file,
    ]);
    expect(stored.output).toMatch(/Received Store Response \(Success\)/);
    expect(await topicSize(engine, TOPICS.ingestDicom)).toBe(1);
  });
});
