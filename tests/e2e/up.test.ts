import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAllMedstream, spawnMedstream } from '../helpers/medstream-process';
import { getJson, postJson, vitalsBody } from '../helpers/vitals';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// `medstream up` with nothing configured: it starts its own Kafka (from the Maven jars) and the
// embedded store, serves every role, and on SIGTERM stops both.
describe('[REQ-UP-01] medstream up — the one command a laptop needs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'medstream-up-'));
  afterAll(async () => {
    await killAllMedstream();
    rmSync(dir, { recursive: true, force: true });
  });

  it('brings up Kafka + engine; a vitals record comes back as a NEWS2 result; SIGTERM stops everything', async () => {
    const up = await spawnMedstream(
      ['up'],
      { MEDSTREAM_HTTP_PORT: '0', MEDSTREAM_LOG_LEVEL: 'warn' },
      { cwd: dir, timeoutMs: 180000 },
    );
    const kafkaPid = Number(/local kafka at \S+ \(pid (\d+)/.exec(up.output())?.[1]);
    expect(kafkaPid).toBeGreaterThan(0);
    expect(alive(kafkaPid)).toBe(true);

    const r = await postJson(
      `${up.url}/api/v1/vitals?wait=20s`,
      vitalsBody({ patientId: 'pat-up', spo2: 90, spo2Scale: 2, supplementalOxygen: true }),
    );
    expect(r.status).toBe(200);
    // scale 2 at 90 % on oxygen scores 0; oxygen itself scores 2
    expect(r.json).toMatchObject({
      status: 'done',
      news2: { total: 2, band: 'low', subscores: { spo2: 0, supplementalOxygen: 2 } },
    });
    const ready = await getJson(`${up.url}/readyz`);
    expect(ready.json).toMatchObject({ status: 'ready', checks: { store: { kind: 'pglite' } } });

    expect(await up.stop('SIGTERM')).toBe(0);
    expect(alive(kafkaPid)).toBe(false);
  });
});
