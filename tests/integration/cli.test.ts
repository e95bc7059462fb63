import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS } from '../../engine/kafka/topics';
import { readTopicToEnd } from '../../engine/kafka/read-to-end';
import { headersToStrings } from '../../engine/kafka/headers';
import type { RunningEngine } from '../../engine/runtime';
import { runCli } from '../helpers/run-cli';
import { createTestSettings, settingsToEnv, startTestEngine } from '../helpers/test-env';
import { waitFor } from '../helpers/wait-for';

describe('[REQ-CLI-01] medstream config / topics / dlq', () => {
  let engine: RunningEngine;
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;

  beforeAll(async () => {
    const fixture = await createTestSettings('pglite');
    cleanup = fixture.cleanup;
    env = settingsToEnv(fixture.settings);
    engine = await startTestEngine(['process', 'sink'], fixture.settings);
  });

  afterAll(async () => {
    await engine?.stop();
    await cleanup?.();
  });

  it('config print shows the effective config with secrets masked; invalid config lists every error', async () => {
    const printed = await runCli(['config', 'print'], {
      ...env,
      MEDSTREAM_STORE_URL: 'postgres://medstream:s3cret-pw@db.example:5432/medstream',
      MEDSTREAM_KAFKA_SASL_PASSWORD: 'kafka-pw',
    });
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain('postgres://medstream:***@db.example:5432/medstream');
    expect(printed.stdout).not.toContain('s3cret-pw');
    expect(printed.stdout).not.toContain('kafka-pw');
    expect(printed.stdout).toMatch(/partitions: 4/);

    const dir = mkdtempSync(join(tmpdir(), 'medstream-cfg-'));
    try {
      writeFileSync(
        join(dir, 'bad.yaml'),
        'http:\n  port: 99999\nkafka:\n  partitions: 0\nsurprise: 1\n',
      );
      const bad = await runCli(['config', 'print', '--config', join(dir, 'bad.yaml')], {});
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('http.port: must be <= 65535 (got 99999)');
      expect(bad.stderr).toContain('kafka.partitions: must be >= 1 (got 0)');
      expect(bad.stderr).toContain('surprise: unknown setting');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('topics create reports existing and created topics', async () => {
    const r = await runCli(['topics', 'create'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`exists   ${engine.topics.physical(TOPICS.ingestVitals)}`);
  });

  it('dlq list shows dead letters with their reason; dlq replay re-publishes the original bytes once', async () => {
    const id = randomUUID();
    const producer = engine.kafka.producer();
    await producer.connect();
    await producer.send({
      topic: engine.topics.physical(TOPICS.ingestVitals),
      messages: [
        {
          key: 'pat-dlq',
          value: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
          headers: { 'correlation-id': id },
        },
      ],
    });
    await producer.disconnect();

    const listed = await waitFor(
      async () => {
        const r = await runCli(['dlq', 'list', '--json'], env);
        const lines = r.stdout
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        return lines.find((l) => l.correlationId === id);
      },
      { what: 'the dead letter to be listed' },
    );
    expect(listed).toMatchObject({
      component: 'icu-risk',
      code: 'DECODE_FAILED',
      original: expect.stringMatching(/^medstream\.ingest\.vitals\.v1\/\d+\/\d+$/),
    });

    const replay = await runCli(['dlq', 'replay', '--code', 'DECODE_FAILED'], env);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/1 replayed, 0 skipped/);
    const firstLetter = /replayed (\d+\/\d+) →/.exec(replay.stdout)![1]!;

    const copies: Array<{ value: string; replayOf?: string }> = [];
    await readTopicToEnd(
      engine.kafka,
      engine.topics.physical(TOPICS.ingestVitals),
      `read-${randomUUID()}`,
      async (_p, m) => {
        const headers = headersToStrings(m.headers);
        if (headers['correlation-id'] === id)
          copies.push({
            value: m.value!.toString('hex'),
            replayOf: headers['medstream-replay-of'],
          });
      },
      { throwaway: true },
    );
    expect(copies).toEqual([
      { value: 'deadbeef', replayOf: undefined },
      { value: 'deadbeef', replayOf: `${TOPICS.dlq}/${firstLetter}` },
    ]);

    // The replayed bytes are still not Avro, so they are dead-lettered again (a new letter); a
    // second replay offers only that new letter: the group's position moved past the first.
    await waitFor(
      async () => {
        const r = await runCli(['dlq', 'list', '--json'], env);
        return r.stdout.split('\n').filter((l) => l.includes(id)).length === 2;
      },
      { what: 'the replayed copy to be dead-lettered again' },
    );
    const again = await runCli(['dlq', 'replay', '--dry-run'], env);
    expect(again.stdout).toMatch(/^1 replayed, 0 skipped/m);
    expect(again.stdout).not.toContain(`would replay ${firstLetter} `);
  });
});
