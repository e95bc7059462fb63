import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../engine/paths';
import { waitFor } from './wait-for';

export interface MedstreamProcess {
  readonly pid: number;
  readonly url: string;
  output(): string;
  /** Sends the signal and waits for the exit; resolves with the exit code (null if killed). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited(): Promise<number | null>;
}

const live = new Set<ChildProcess>();

/** Starts `node dist/bin/medstream.js <args>` and waits for its "listening on" line. */
export async function spawnMedstream(
  args: string[],
  env: Record<string, string>,
  { cwd, timeoutMs = 60000 }: { cwd?: string; timeoutMs?: number } = {},
): Promise<MedstreamProcess> {
  const cli = join(projectRoot(), 'dist', 'bin', 'medstream.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` (npm test does)`);
  const child = spawn(process.execPath, [cli, ...args], {
    cwd: cwd ?? projectRoot(),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  let exitedEarly = false;
  void exit.then(() => (exitedEarly = true));
  const url = await waitFor(
    () => {
      if (exitedEarly) throw new Error(`medstream ${args.join(' ')} exited early:\n${output}`);
      return /medstream listening on (\S+)/.exec(output)?.[1];
    },
    { timeoutMs, what: `medstream ${args.join(' ')} to listen` },
  ).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${err.message}\n--- output ---\n${output.slice(-4000)}`);
  });
  return {
    pid: child.pid!,
    url,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exit;
    },
    exited: () => exit,
  };
}

/** SIGKILLs every medstream child still running (afterAll safety net). */
export async function killAllMedstream(): Promise<void> {
  const waits = [...live].map(
    (child) =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(waits);
}
