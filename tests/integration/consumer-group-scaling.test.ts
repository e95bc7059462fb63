import { AssignerProtocol } from 'kafkajs';
import { TOPICS } from '../../engine/kafka/topics';
import type { RunningEngine } from '../../engine/runtime';
import { submitMany } from '../helpers/load';
import {
  type MedstreamProcess,
  killAllMedstream,
  spawnMedstream,
} from '../helpers/medstream-process';
import { expectAllDone } from '../helpers/results';
import { createTestSettings, settingsToEnv, startTestEngine } from '../helpers/test-env';
import { waitFor } from '../helpers/wait-for';

/** partition numbers of the vitals topic assigned to each member of the icu-risk group */
async function assignments(engine: RunningEngine, groupId: string): Promise<number[][]> {
  const admin = engine.kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const topic = engine.topics.physical(TOPICS.ingestVitals);
    return (groups[0]?.members ?? []).map(
      (m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[topic] ?? [],
    );
  } finally {
    await admin.disconnect();
  }
}

async function recordsIn(p: MedstreamProcess): Promise<number> {
  const text = await (await fetch(`${p.url}/metrics`)).text();
  const m =
    /medstream_records_in_total\{topic="medstream.ingest.vitals.v1",component="icu-risk"\} (\d+)/.exec(
      text,
    );
  return m ? Number(m[1]) : 0;
}

// Scaling out = more `--roles process` replicas in one consumer group, on PostgreSQL as a
// distributed deployment would run it.
describe('[REQ-SCALE-01] two processor replicas split the partitions; SIGKILL of one loses and duplicates nothing', () => {
  let engine: RunningEngine;
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;
  let groupId: string;

  beforeAll(async () => {
    const fixture = await createTestSettings('postgres', { kafka: { partitions: 4 } });
    cleanup = fixture.cleanup;
    env = settingsToEnv(fixture.settings);
    groupId = `${fixture.settings.groupId}.icu-risk`;
    engine = await startTestEngine(['ingest', 'sink', 'api'], fixture.settings);
  });

  afterAll(async () => {
    await killAllMedstream();
    await engine?.stop();
    await cleanup?.();
  });

  it('2,000 records arrive exactly once', async () => {
    const a = await spawnMedstream(['start', '--roles', 'process'], env);
    const b = await spawnMedstream(['start', '--roles', 'process'], env);
    const split = await waitFor(
      async () => {
        const members = await assignments(engine, groupId);
        return members.length === 2 && members.every((parts) => parts.length === 2)
          ? members
          : undefined;
      },
      { timeoutMs: 60000, intervalMs: 500, what: 'both replicas to own two partitions each' },
    );
    expect(split.flat().sort()).toEqual([0, 1, 2, 3]);

    const submitting = submitMany(engine.url, 2000, 40, 'scale');
    await waitFor(async () => (await engine.store!.countByStatus()).done >= 500, {
      timeoutMs: 60000,
      what: '500 results',
    });
    const [inA, inB] = [await recordsIn(a), await recordsIn(b)];
    expect(inA).toBeGreaterThan(0); // both replicas did work before the kill
    expect(inB).toBeGreaterThan(0);
    await a.stop('SIGKILL');

    const accepted = await submitting;
    const rows = await expectAllDone(engine.store!, accepted, 0, 180000);
    expect(rows).toHaveLength(2000);
    expect(new Set(rows.map((r) => r.id)).size).toBe(2000);
    const redelivered = rows.filter((r) => r.deliveries > 1).length;
    // At-least-once: records A processed but had not committed are delivered again to B, and
    // the idempotent store absorbs them. Printed, not asserted: how many depends on timing.
    process.stderr.write(
      `[scaling] replica A consumed ${inA}, B ${inB} before the kill; ${redelivered} result(s) redelivered after it, stored once\n`,
    );
    // The killed replica leaves the group when its session times out (6 s here), which can be
    // after the last record was stored (when its partitions had nothing left): wait for it.
    const survivor = await waitFor(
      async () => {
        const members = await assignments(engine, groupId);
        return members.length === 1 ? members : undefined;
      },
      { timeoutMs: 60000, intervalMs: 500, what: 'the survivor to own every partition' },
    );
    expect(survivor).toHaveLength(1);
    expect(survivor[0]!.sort()).toEqual([0, 1, 2, 3]);
    await b.stop('SIGTERM');
  });
});
