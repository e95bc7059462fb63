import type { RunningEngine } from '../../engine/runtime';
import { submitMany } from '../helpers/load';
import { killAllMedstream, spawnMedstream } from '../helpers/medstream-process';
import { expectAllDone } from '../helpers/results';
import {
  STORE_KINDS,
  createTestSettings,
  settingsToEnv,
  startTestEngine,
} from '../helpers/test-env';
import { waitFor } from '../helpers/wait-for';

/**
 * The processor runs as its own OS process (`medstream start --roles process`) and is killed
 * mid-stream; ingest, sink and API run in the test process on the store under test.
 */
describe.each(STORE_KINDS)(
  '[REQ-GUAR-02] processor restart mid-stream loses no accepted record, store: %s',
  (storeKind) => {
    let engine: RunningEngine;
    let cleanup: () => Promise<void>;
    let env: Record<string, string>;

    beforeAll(async () => {
      const fixture = await createTestSettings(storeKind);
      cleanup = fixture.cleanup;
      env = settingsToEnv(fixture.settings);
      engine = await startTestEngine(['ingest', 'sink', 'api'], fixture.settings);
    });

    afterAll(async () => {
      await killAllMedstream();
      await engine?.stop();
      await cleanup?.();
    });

    it.each(['SIGKILL', 'SIGTERM'] as const)(
      'after %s of the processor, a new one finishes every record exactly once',
      async (signal) => {
        const before = (await engine.store!.countByStatus()).done;
        const first = await spawnMedstream(['start', '--roles', 'process'], env);
        const submitting = submitMany(engine.url, 400, 10, `restart-${signal}`);
        await waitFor(async () => (await engine.store!.countByStatus()).done >= before + 40, {
          what: 'some results before the restart',
        });
        const code = await first.stop(signal);
        if (signal === 'SIGTERM') expect(code).toBe(0); // drained and committed, then exited cleanly
        const second = await spawnMedstream(['start', '--roles', 'process'], env);
        const accepted = await submitting;
        const rows = await expectAllDone(engine.store!, accepted, before).catch((err: Error) => {
          throw new Error(
            `${err.message}\n--- processor output ---\n${second.output().slice(-3000)}`,
          );
        });
        expect(rows).toHaveLength(400);
        await second.stop('SIGTERM');
      },
    );
  },
);
