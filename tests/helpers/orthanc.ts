import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './dicom';
import { waitFor } from './wait-for';

const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

export interface RunningOrthanc {
  url: string;
  aet: string;
  dicomPort: number;
  pid: number;
  /** Orthanc's REST API; throws on a non-2xx answer with its body. */
  rest<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

/**
 * A real PACS for the tests: Debian's Orthanc with the DICOMweb plugin, on loopback ports of
 * its own, storage in a temp folder, started and stopped by PID. `medstream` is configured both
 * as a DICOM modality (C-STORE target) and as a DICOMweb server (STOW-RS target).
 */
export async function startOrthanc(medstream: {
  dicom?: { aet: string; host: string; port: number };
  dicomweb?: string;
  /** Preset ports (e.g. already given to medstream as its export destination); default free ones. */
  httpPort?: number;
  dicomPort?: number;
}): Promise<RunningOrthanc> {
  const dir = mkdtempSync(join(tmpdir(), 'medstream-orthanc-'));
  const httpPort = medstream.httpPort ?? (await freePort());
  const dicomPort = medstream.dicomPort ?? (await freePort());
  const config = {
    Name: 'medstream-test-pacs',
    StorageDirectory: join(dir, 'storage'),
    IndexDirectory: join(dir, 'index'),
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomAet: 'ORTHANC',
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    HttpServerEnabled: true,
    DicomServerEnabled: true,
    DicomCheckCalledAet: false,
    DicomAlwaysAllowStore: true,
    DicomAlwaysAllowEcho: true,
    UnknownSopClassAccepted: true,
    StableAge: 1,
    Plugins: [DICOMWEB_PLUGIN],
    DicomModalities: medstream.dicom
      ? { medstream: [medstream.dicom.aet, medstream.dicom.host, medstream.dicom.port] }
      : {},
    DicomWeb: {
      Enable: true,
      Root: '/dicom-web/',
      Servers: medstream.dicomweb ? { medstream: [medstream.dicomweb] } : {},
    },
  };
  const file = join(dir, 'orthanc.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  let output = '';
  const child: ChildProcess = spawn('Orthanc', ['--verbose', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20000)));
  const url = `http://127.0.0.1:${httpPort}`;

  const rest = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : Buffer.isBuffer(body)
          ? { body, headers: { 'content-type': 'application/dicom' } }
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    if (!res.ok)
      throw new Error(
        `Orthanc ${method} ${path} → ${res.status}: ${text}\nOrthanc log:\n${output.slice(-3000)}`,
      );
    return (text ? JSON.parse(text) : undefined) as T;
  };

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`Orthanc exited: ${output}`);
        return (await fetch(`${url}/system`)).ok;
      },
      { timeoutMs: 60000, intervalMs: 200, what: 'Orthanc to answer /system' },
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${output}`);
  }
  return { url, aet: 'ORTHANC', dicomPort, pid: child.pid!, rest, stop };
}
