import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { type LocalKafka, startLocalKafka } from '../deploy/local/kafka/local-kafka';
import { projectRoot } from '../engine/paths';

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

/**
 * A medstream process for a benchmark: `medstream start --roles …` on KAFKA_BROKERS, or on a
 * local single-node Kafka started for it, with topics and group of its own, an in-memory store,
 * blobs under `workDir`. `stop()` ends the process, then the Kafka it started.
 */
export async function startBenchMedstream(
  roles: string,
  workDir: string,
  env: Record<string, string> = {},
) {
  let kafka: LocalKafka | undefined;
  let brokers = process.env.KAFKA_BROKERS;
  if (!brokers) {
    kafka = await startLocalKafka({ dataDir: join(workDir, 'kafka'), heapMb: 768 });
    brokers = kafka.brokers.join(',');
  }
  const id = Math.random().toString(16).slice(2, 8);
  try {
    const engine = await spawnServer(
      [join(projectRoot(), 'dist', 'bin', 'medstream.js'), 'start', '--roles', roles],
      {
        MEDSTREAM_KAFKA_BROKERS: brokers,
        MEDSTREAM_KAFKA_TOPIC_PREFIX: `bench${id}.`,
        MEDSTREAM_KAFKA_GROUP_ID: `bench${id}`,
        MEDSTREAM_HTTP_PORT: '0',
        MEDSTREAM_STORE_EMBEDDED_DATA_DIR: 'memory://',
        MEDSTREAM_BLOBS_DIR: join(workDir, 'blobs'),
        MEDSTREAM_LOG_LEVEL: 'warn',
        ...env,
      },
    );
    return {
      ...engine,
      stop: async () => {
        await stopChild(engine.child);
        await kafka?.stop();
      },
    };
  } catch (err) {
    await kafka?.stop();
    throw err;
  }
}
