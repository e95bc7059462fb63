/** Process and port helpers shared by the local Kafka and the local FHIR server launchers. */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The PID in `pidFile` if that process is alive and its command line holds every marker (the
 * main class and the data dir), so a recycled PID is never taken for our server.
 */
export function runningPid(pidFile: string, markers: readonly string[]): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!pid || !processAlive(pid)) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return markers.every((m) => cmdline.includes(m)) ? pid : undefined;
  } catch {
    return undefined;
  }
}
