import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Starts a process for a benchmark and resolves once its output matches `ready` (the match is
 * returned, e.g. the URL a server printed). Rejects when it exits first or after `timeoutMs`.
 */
export async function spawnUntil(
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 120000,
): Promise<{ child: ChildProcess; match: RegExpExecArray; output: () => string }> {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-65536)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-65536)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = ready.exec(output);
    if (m) return { child, match: m, output: () => output };
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`${command} did not become ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A medstream-shaped server started with this Node: resolves with the URL it prints. */
export async function spawnServer(
  args: string[],
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const { child, match, output } = await spawnUntil(
    process.execPath,
    args,
    env,
    /listening on (http:\/\/\S+)/,
  );
  return { child, url: match[1]!, output };
}

/** SIGTERM, and resolves when the process has exited. */
export const stopChild = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
