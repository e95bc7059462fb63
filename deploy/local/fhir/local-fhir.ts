/**
 * A local HAPI FHIR R4 JPA server (H2, embedded Jetty) from Maven Central jars, for machines
 * without Docker: tests and local runs get a real FHIR server on 127.0.0.1.
 *
 *  1. build: `mvn package` on deploy/local/fhir/pom.xml (our small launcher,
 *     io.medstream.localfhir.LocalFhirServer, and HAPI's jars) into a cache folder, once: the
 *     folder is named by a hash of the pom and the Java sources, a `.complete` marker in it;
 *  2. start: `java io.medstream.localfhir.LocalFhirServer --port P --data-dir D` detached in its
 *     own process group, PID written to D/fhir.pid;
 *  3. wait: until GET {baseUrl}/metadata answers 200 (or the JVM exits: its log tail is shown);
 *  4. stop: SIGTERM to the PID (Jetty and Spring close), SIGKILL after a grace period.
 *
 * The server has rest-hook Subscriptions enabled (matched and delivered in the same JVM),
 * `$validate`, conditional create, and no fulltext search. Logs (WARN and up) go to
 * D/fhir.log, the JVM's own output to D/stdout.log.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { EngineError } from '../../../engine/errors';
import { projectRoot } from '../../../engine/paths';
import { sleep } from '../../../engine/time';
import { defaultCacheDir, freePort, stopProcess } from '../kafka/local-kafka';
import { portIsFree, runningPid } from '../local-process';

const execFileAsync = promisify(execFile);

export const LOCAL_FHIR_MAIN_CLASS = 'io.medstream.localfhir.LocalFhirServer';

export interface LocalFhirOptions {
  /** Pid file, logs (and with `persist` the H2 database) live here. */
  dataDir: string;
  /** Where the built server is cached (default $MEDSTREAM_CACHE_DIR or ~/.cache/medstream). */
  cacheDir?: string;
  /** HTTP port on 127.0.0.1; default: the one used last time in this dataDir if free, else a free one. */
  port?: number;
  /** JVM heap in MB (default $MEDSTREAM_FHIR_HEAP_MB or 1024). */
  heapMb?: number;
  /** Extra JVM options, after the defaults (also $MEDSTREAM_FHIR_JAVA_OPTS, space-separated). */
  jvmArgs?: string[];
  /** Keep the database in dataDir/h2 across restarts (default: in memory, gone on stop). */
  persist?: boolean;
  /** How long to wait for /metadata after spawning java (default 180 s). */
  startTimeoutMs?: number;
  /** Progress lines (building, started). */
  onProgress?: (line: string) => void;
}

export interface LocalFhir {
  /** e.g. http://127.0.0.1:PORT/fhir */
  readonly baseUrl: string;
  readonly pid: number;
  readonly port: number;
  readonly dataDir: string;
  /** Milliseconds from spawning java to /metadata answering 200. */
  readonly startMs: number;
  /** true when a server left running from an earlier start in this dataDir was reused. */
  readonly reused: boolean;
  stop(): Promise<void>;
}

const fhirDir = () => join(projectRoot(), 'deploy', 'local', 'fhir');

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

/** A hash of everything the build reads: pom.xml and src/main (Java sources, logback.xml). */
export function fhirServerSourceHash(): string {
  const hash = createHash('sha256');
  for (const file of [join(fhirDir(), 'pom.xml'), ...listFiles(join(fhirDir(), 'src', 'main'))]) {
    hash.update(relative(fhirDir(), file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Builds the local FHIR server with Maven once (jars fetched from Maven Central, our launcher
 * compiled); returns the folder holding every jar, the classpath (`<folder>/*`).
 */
export async function buildFhirServer(
  cacheDir = defaultCacheDir(),
  onProgress?: (line: string) => void,
): Promise<string> {
  const buildDir = join(cacheDir, `fhir-server-${fhirServerSourceHash()}`);
  const libDir = join(buildDir, 'lib');
  if (existsSync(join(libDir, '.complete'))) return libDir;
  onProgress?.(`building the local HAPI FHIR server with Maven into ${buildDir} (once)`);
  const temp = `${buildDir}.tmp-${process.pid}`;
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(cacheDir, { recursive: true });
  try {
    await execFileAsync(
      'mvn',
      ['-q', '-B', '-f', join(fhirDir(), 'pom.xml'), 'package', `-Dfhir.buildDir=${temp}`],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new EngineError(
      'FHIR_UNAVAILABLE',
      `Maven could not build the local FHIR server: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
      { cause: err },
    );
  }
  writeFileSync(join(temp, 'lib', '.complete'), `${new Date().toISOString()}\n`);
  try {
    rmSync(buildDir, { recursive: true, force: true });
    renameSync(temp, buildDir);
  } catch (err) {
    // Another process finished the same build first: use its folder.
    rmSync(temp, { recursive: true, force: true });
    if (!existsSync(join(libDir, '.complete'))) throw err;
  }
  return libDir;
}

/** The PID in dataDir/fhir.pid, if that process is still a local FHIR server of this dataDir. */
const runningFhirPid = (dataDir: string) =>
  runningPid(join(dataDir, 'fhir.pid'), [LOCAL_FHIR_MAIN_CLASS, dataDir]);

function logTail(dataDir: string, lines = 40): string {
  const parts: string[] = [];
  for (const name of ['stdout.log', 'fhir.log']) {
    const file = join(dataDir, name);
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8').trimEnd();
    if (text) parts.push(`--- ${file} ---\n${text.split('\n').slice(-lines).join('\n')}`);
  }
  return parts.length ? parts.join('\n') : '(no log)';
}

async function metadataAnswers(baseUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${baseUrl}/metadata`, {
      headers: { accept: 'application/fhir+json' },
      signal: AbortSignal.timeout(10000),
    });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

async function waitForMetadata(
  baseUrl: string,
  timeoutMs: number,
  child?: ChildProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null))
      throw new Error(`the FHIR server JVM exited (${child.exitCode ?? child.signalCode})`);
    if (await metadataAnswers(baseUrl)) return;
    await sleep(250);
  }
  throw new Error(`no answer from ${baseUrl}/metadata within ${timeoutMs} ms`);
}

/** Starts (or reuses) a local HAPI FHIR server in `dataDir` and waits until /metadata answers. */
export async function startLocalFhir(options: LocalFhirOptions): Promise<LocalFhir> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const portFile = join(dataDir, 'port.json');
  const previous = existsSync(portFile)
    ? (JSON.parse(readFileSync(portFile, 'utf8')) as { port: number })
    : undefined;
  const pidFile = join(dataDir, 'fhir.pid');

  const existing = runningFhirPid(dataDir);
  if (existing && previous && (options.port === undefined || options.port === previous.port)) {
    const baseUrl = `http://127.0.0.1:${previous.port}/fhir`;
    const t0 = Date.now();
    await waitForMetadata(baseUrl, options.startTimeoutMs ?? 180000);
    return {
      baseUrl,
      pid: existing,
      port: previous.port,
      dataDir,
      startMs: Date.now() - t0,
      reused: true,
      stop: async () => {
        await stopProcess(existing);
        rmSync(pidFile, { force: true });
      },
    };
  }
  if (existing) await stopProcess(existing);

  const libDir = await buildFhirServer(options.cacheDir, options.onProgress);
  const port =
    options.port ??
    (previous?.port && (await portIsFree(previous.port)) ? previous.port : await freePort());
  writeFileSync(portFile, JSON.stringify({ port }));

  const heapMb = options.heapMb ?? Number(process.env.MEDSTREAM_FHIR_HEAP_MB ?? 1024);
  const args = [
    `-Xms${Math.min(256, heapMb)}m`,
    `-Xmx${heapMb}m`,
    '-XX:+UseParallelGC',
    '-XX:TieredStopAtLevel=1',
    '-Xss1m',
    '-Djava.awt.headless=true',
    '-Dfile.encoding=UTF-8',
    `-Dmedstream.fhir.logFile=${join(dataDir, 'fhir.log')}`,
    ...(process.env.MEDSTREAM_FHIR_JAVA_OPTS ?? '').split(/\s+/).filter(Boolean),
    ...(options.jvmArgs ?? []),
    '-cp',
    `${libDir}/*`,
    LOCAL_FHIR_MAIN_CLASS,
    '--port',
    String(port),
    '--data-dir',
    dataDir,
    ...(options.persist ? ['--persist'] : []),
  ];
  const out = openSync(join(dataDir, 'stdout.log'), 'a');
  const started = Date.now();
  const child = spawn('java', args, { stdio: ['ignore', out, out], detached: true });
  closeSync(out);
  const pid = child.pid;
  if (!pid) throw new EngineError('FHIR_UNAVAILABLE', 'could not spawn java');
  writeFileSync(pidFile, String(pid));
  child.unref();

  const baseUrl = `http://127.0.0.1:${port}/fhir`;
  try {
    await waitForMetadata(baseUrl, options.startTimeoutMs ?? 180000, child);
  } catch (err) {
    await stopProcess(pid, 2000);
    rmSync(pidFile, { force: true });
    throw new EngineError(
      'FHIR_UNAVAILABLE',
      `the local FHIR server did not start: ${(err as Error).message}\n${logTail(dataDir)}`,
      { cause: err },
    );
  }
  const startMs = Date.now() - started;
  options.onProgress?.(`local HAPI FHIR ready at ${baseUrl} in ${startMs} ms (pid ${pid})`);
  return {
    baseUrl,
    pid,
    port,
    dataDir,
    startMs,
    reused: false,
    stop: async () => {
      await stopProcess(pid);
      rmSync(pidFile, { force: true });
    },
  };
}

/** Stops the local FHIR server started in `dataDir` (by its pid file); false if none ran. */
export async function stopLocalFhirByPidFile(dataDir: string): Promise<boolean> {
  const dir = resolve(dataDir);
  const pid = runningFhirPid(dir);
  rmSync(join(dir, 'fhir.pid'), { force: true });
  if (!pid) return false;
  await stopProcess(pid);
  return true;
}
