/**
 * `node dist/deploy/local/fhir/cli.js start|stop|status` (what deploy/local/fhir/fhir.sh runs):
 *   start [--data-dir DIR] [--port N] [--heap-mb N] [--persist]
 *         → builds once, starts (or reuses) the local HAPI FHIR server and leaves it running;
 *           prints FHIR_BASE_URL=http://127.0.0.1:PORT/fhir and FHIR_PID=PID
 *   stop [--data-dir DIR]   → stops it by DIR/fhir.pid
 *   status [--data-dir DIR] → prints FHIR_BASE_URL / FHIR_PID if it answers; exit 1 if not
 * DIR defaults to $FHIR_DATA_DIR or ./data/fhir.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startLocalFhir, stopLocalFhirByPidFile } from './local-fhir';

function parse(argv: string[]): { command: string | undefined; flags: Map<string, string> } {
  const flags = new Map<string, string>();
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--persist') flags.set('persist', 'true');
    else if (arg.startsWith('--')) {
      const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`--${name} needs a value`);
      flags.set(name, value);
    } else if (!command) command = arg;
    else throw new Error(`unexpected argument: ${arg}`);
  }
  return { command, flags };
}

async function main(): Promise<number> {
  const { command, flags } = parse(process.argv.slice(2));
  const dataDir = resolve(flags.get('data-dir') ?? process.env.FHIR_DATA_DIR ?? 'data/fhir');
  const num = (name: string) => (flags.has(name) ? Number(flags.get(name)) : undefined);
  switch (command) {
    case 'start': {
      const fhir = await startLocalFhir({
        dataDir,
        port: num('port'),
        heapMb: num('heap-mb'),
        persist: flags.has('persist'),
        onProgress: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(`FHIR_BASE_URL=${fhir.baseUrl}\nFHIR_PID=${fhir.pid}\n`);
      process.stderr.write(
        fhir.reused
          ? `reusing the local FHIR server already running in ${dataDir}\n`
          : `started in ${fhir.startMs} ms; logs in ${dataDir}/fhir.log\n`,
      );
      return 0;
    }
    case 'stop': {
      const stopped = await stopLocalFhirByPidFile(dataDir);
      process.stderr.write(
        stopped ? `stopped the local FHIR server of ${dataDir}\n` : `none running in ${dataDir}\n`,
      );
      return 0;
    }
    case 'status': {
      const portFile = join(dataDir, 'port.json');
      const pidFile = join(dataDir, 'fhir.pid');
      if (!existsSync(portFile) || !existsSync(pidFile)) return 1;
      const { port } = JSON.parse(readFileSync(portFile, 'utf8')) as { port: number };
      const baseUrl = `http://127.0.0.1:${port}/fhir`;
      const res = await fetch(`${baseUrl}/metadata`).catch(() => undefined);
      if (res?.status !== 200) return 1;
      process.stdout.write(
        `FHIR_BASE_URL=${baseUrl}\nFHIR_PID=${readFileSync(pidFile, 'utf8').trim()}\n`,
      );
      return 0;
    }
    default:
      process.stderr.write(
        'usage: fhir.sh start [--data-dir DIR] [--port N] [--heap-mb N] [--persist] | stop [--data-dir DIR] | status\n',
      );
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
