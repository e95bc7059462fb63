/**
 * A single-node Apache Kafka (KRaft, combined broker + controller) from Maven Central jars,
 * for machines without Docker: `medstream up` uses it when no brokers are configured, and the
 * test suite's global setup uses it unless KAFKA_BROKERS points elsewhere.
 *
 *  1. fetch: `mvn dependency:copy-dependencies` on deploy/local/kafka/pom.xml into a cache
 *     folder, once (a marker holds the pom's hash; a changed pom fetches again);
 *  2. format: `kafka.tools.StorageTool format -t <cluster id> -c server.properties --ignore-formatted`;
 *  3. start: `java kafka.Kafka server.properties` on 127.0.0.1 with free ports, pid file written;
 *  4. wait: until kafkajs `describeCluster()` answers (or the JVM exits: its log tail is shown);
 *  5. stop: SIGTERM to the PID (controlled shutdown), SIGKILL after a grace period.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  closeSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { EngineError } from '../../../engine/errors';
import { projectRoot } from '../../../engine/paths';
import { sleep } from '../../../engine/time';
import { portIsFree, processAlive, runningPid } from '../local-process';

const execFileAsync = promisify(execFile);

export interface LocalKafkaOptions {
  /** Log dirs, config, pid file and logs live here; reused across restarts. */
  dataDir: string;
  /** Where the jars are cached (default $MEDSTREAM_CACHE_DIR or ~/.cache/medstream). */
  cacheDir?: string;
  heapMb?: number;
  /** Broker port; default: the one used last time in this dataDir if free, else a free one. */
  port?: number;
  controllerPort?: number;
  startTimeoutMs?: number;
  /** Progress lines (fetching jars, formatting, started). */
  onProgress?: (line: string) => void;
}

export interface LocalKafka {
  readonly brokers: string[];
  readonly pid: number;
  readonly dataDir: string;
  readonly port: number;
  readonly controllerPort: number;
  /** Milliseconds from spawn to a broker answering describeCluster. */
  readonly startMs: number;
  /** true when a Kafka left running from an earlier start in this dataDir was reused. */
  readonly reused: boolean;
  stop(): Promise<void>;
}

const pomPath = () => join(projectRoot(), 'deploy', 'local', 'kafka', 'pom.xml');

export function defaultCacheDir(): string {
  return process.env.MEDSTREAM_CACHE_DIR ?? join(homedir(), '.cache', 'medstream');
}

/** Resolves the Kafka jars with Maven once; returns the folder holding them. */
export async function fetchKafkaJars(
  cacheDir = defaultCacheDir(),
  onProgress?: (line: string) => void,
): Promise<string> {
  const pom = readFileSync(pomPath());
  const hash = createHash('sha256').update(pom).digest('hex').slice(0, 16);
  const libDir = join(cacheDir, `kafka-jars-${hash}`);
  if (existsSync(join(libDir, '.complete'))) return libDir;
  onProgress?.(`fetching Kafka jars with Maven into ${libDir} (once)`);
  const temp = `${libDir}.tmp-${process.pid}`;
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(cacheDir, { recursive: true });
  try {
    await execFileAsync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        pomPath(),
        'dependency:copy-dependencies',
        `-DoutputDirectory=${temp}`,
        '-DincludeScope=runtime',
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new EngineError(
      'LOCAL_KAFKA_FAILED',
      `Maven could not fetch the Kafka jars: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
      {
        cause: err,
      },
    );
  }
  writeFileSync(join(temp, '.complete'), `${new Date().toISOString()}\n`);
  rmSync(libDir, { recursive: true, force: true });
  renameSync(temp, libDir);
  return libDir;
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The PID in the pid file, if that process is still a Kafka of this data dir. */
const runningKafkaPid = (dataDir: string) =>
  runningPid(join(dataDir, 'kafka.pid'), ['kafka.Kafka', dataDir]);

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(pid: number, graceMs = 15000): Promise<void> {
  if (!processAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (processAlive(pid) && Date.now() < deadline) await sleep(100);
  if (processAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    while (processAlive(pid)) await sleep(50);
  }
}

function serverProperties(dataDir: string, port: number, controllerPort: number): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${join(dataDir, 'log')}`,
    'num.partitions=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=8',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'group.min.session.timeout.ms=1000',
    'auto.create.topics.enable=false',
    'num.network.threads=2',
    'num.io.threads=4',
    'log.retention.hours=168',
    '',
  ].join('\n');
}

function log4jProperties(dataDir: string): string {
  return [
    'log4j.rootLogger=INFO, file',
    'log4j.appender.file=org.apache.log4j.RollingFileAppender',
    `log4j.appender.file.File=${join(dataDir, 'server.log')}`,
    'log4j.appender.file.MaxFileSize=20MB',
    'log4j.appender.file.MaxBackupIndex=2',
    'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.kafka=INFO',
    'log4j.logger.org.apache.kafka=INFO',
    'log4j.logger.state.change.logger=WARN',
    'log4j.logger.kafka.request.logger=WARN',
    '',
  ].join('\n');
}

function logTail(dataDir: string, lines = 30): string {
  for (const name of ['server.log', 'stdout.log']) {
    const file = join(dataDir, name);
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8').trimEnd().split('\n');
      if (text.length > 1) return text.slice(-lines).join('\n');
    }
  }
  return '(no log)';
}

async function waitForBroker(
  brokers: string[],
  timeoutMs: number,
  child?: ChildProcess,
): Promise<void> {
  const kafka = new Kafka({
    clientId: 'medstream-local-kafka',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries: 0 },
  });
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null)
      throw new Error(`the Kafka JVM exited with code ${child.exitCode}`);
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0) return;
    } catch (err) {
      lastError = err;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await sleep(250);
  }
  throw new Error(
    `no answer from ${brokers.join(',')} within ${timeoutMs} ms: ${(lastError as Error)?.message}`,
  );
}

/** Starts (or reuses) a local single-node Kafka in `dataDir` and waits until it answers. */
export async function startLocalKafka(options: LocalKafkaOptions): Promise<LocalKafka> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const portsFile = join(dataDir, 'ports.json');
  const previous = existsSync(portsFile)
    ? (JSON.parse(readFileSync(portsFile, 'utf8')) as { port: number; controllerPort: number })
    : undefined;

  const existing = runningKafkaPid(dataDir);
  if (existing && previous) {
    const brokers = [`127.0.0.1:${previous.port}`];
    const t0 = Date.now();
    await waitForBroker(brokers, 10000);
    return {
      brokers,
      pid: existing,
      dataDir,
      ...previous,
      startMs: Date.now() - t0,
      reused: true,
      stop: () => stopProcess(existing),
    };
  }

  const libDir = await fetchKafkaJars(options.cacheDir, options.onProgress);
  const pick = async (wanted: number | undefined, last: number | undefined) =>
    wanted ?? (last && (await portIsFree(last)) ? last : await freePort());
  const port = await pick(options.port, previous?.port);
  let controllerPort = await pick(options.controllerPort, previous?.controllerPort);
  while (controllerPort === port) controllerPort = await freePort();
  writeFileSync(portsFile, JSON.stringify({ port, controllerPort }));

  const configFile = join(dataDir, 'server.properties');
  const log4jFile = join(dataDir, 'log4j.properties');
  writeFileSync(configFile, serverProperties(dataDir, port, controllerPort));
  writeFileSync(log4jFile, log4jProperties(dataDir));
  const clusterIdFile = join(dataDir, 'cluster-id');
  if (!existsSync(clusterIdFile)) {
    // Like Kafka's own Uuid.randomUuid: 16 random bytes, base64url, never starting with '-'.
    let id = randomBytes(16).toString('base64url');
    while (id.startsWith('-')) id = randomBytes(16).toString('base64url');
    writeFileSync(clusterIdFile, id);
  }
  const clusterId = readFileSync(clusterIdFile, 'utf8').trim();

  const heapMb = options.heapMb ?? 768;
  const classpath = `${libDir}/*`;
  const jvm = [
    `-Xms${Math.min(256, heapMb)}m`,
    `-Xmx${heapMb}m`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${log4jFile}`,
    `-Dkafka.logs.dir=${dataDir}`,
    '-cp',
    classpath,
  ];
  options.onProgress?.(`formatting KRaft storage in ${dataDir}`);
  try {
    await execFileAsync(
      'java',
      [
        ...jvm,
        'kafka.tools.StorageTool',
        'format',
        `--cluster-id=${clusterId}`,
        `--config=${configFile}`,
        '--ignore-formatted',
      ],
      {
        maxBuffer: 4 * 1024 * 1024,
      },
    );
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new EngineError(
      'LOCAL_KAFKA_FAILED',
      `StorageTool format failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
      { cause: err },
    );
  }

  const out = openSync(join(dataDir, 'stdout.log'), 'a');
  const started = Date.now();
  const child = spawn('java', [...jvm, 'kafka.Kafka', configFile], {
    stdio: ['ignore', out, out],
    detached: false,
  });
  closeSync(out);
  const pid = child.pid;
  if (!pid) throw new EngineError('LOCAL_KAFKA_FAILED', 'could not spawn java');
  writeFileSync(join(dataDir, 'kafka.pid'), String(pid));
  child.unref();

  const brokers = [`127.0.0.1:${port}`];
  try {
    await waitForBroker(brokers, options.startTimeoutMs ?? 120000, child);
  } catch (err) {
    await stopProcess(pid, 2000);
    throw new EngineError(
      'LOCAL_KAFKA_FAILED',
      `local Kafka did not start: ${(err as Error).message}\n--- ${dataDir}/server.log ---\n${logTail(dataDir)}`,
      {
        cause: err,
      },
    );
  }
  const startMs = Date.now() - started;
  options.onProgress?.(`local Kafka ready on ${brokers[0]} in ${startMs} ms (pid ${pid})`);
  return {
    brokers,
    pid,
    dataDir,
    port,
    controllerPort,
    startMs,
    reused: false,
    stop: async () => {
      await stopProcess(pid);
      rmSync(join(dataDir, 'kafka.pid'), { force: true });
    },
  };
}

/** Stops the Kafka started in `dataDir` (by its pid file), if one is running. */
export async function stopLocalKafka(dataDir: string): Promise<boolean> {
  const pid = runningKafkaPid(resolve(dataDir));
  if (!pid) return false;
  await stopProcess(pid);
  rmSync(join(resolve(dataDir), 'kafka.pid'), { force: true });
  return true;
}
