import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalFhir, startLocalFhir } from '../../deploy/local/fhir/local-fhir';

export interface RunningHapi {
  /** http://127.0.0.1:PORT/fhir */
  baseUrl: string;
  pid: number;
  /** Milliseconds from spawning java to /metadata answering. */
  startMs: number;
  /** Kills the JVM by PID (SIGTERM, SIGKILL after a grace period) and removes its temp folder. */
  stop(): Promise<void>;
}

/**
 * A real HAPI FHIR R4 JPA server for integration tests: the project's local launcher
 * (deploy/local/fhir, built once with Maven into ~/.cache/medstream), in-memory H2, on a free
 * loopback port, logs in a temp folder. The first start of a run may take 30-90 s on 2 cores
 * (plus the one-time Maven build): give the calling beforeAll a long timeout.
 */
export async function startHapi(options: { heapMb?: number } = {}): Promise<RunningHapi> {
  const dataDir = mkdtempSync(join(tmpdir(), 'medstream-test-hapi-'));
  let fhir: LocalFhir;
  try {
    fhir = await startLocalFhir({ dataDir, heapMb: options.heapMb ?? 768 });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    baseUrl: fhir.baseUrl,
    pid: fhir.pid,
    startMs: fhir.startMs,
    stop: async () => {
      await fhir.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
