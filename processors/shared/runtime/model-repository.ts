import { EventEmitter } from 'node:events';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EngineError, toEngineError } from '../../../engine/errors';
import type { ModelManifest, ModelManifestBase } from '../model-manifest';
import { loadClassifier, type ClassifierRuntime, type LoadClassifierOptions } from './classifier';
import { compareVersions, validateManifest } from './manifest-validation';

/**
 * The models a process serves: `<root>/<name>/<version>/manifest.json` + artifacts, for one
 * manifest task (ModelTask: image classification by default, tabular risk for icu-risk).
 *
 * Lifecycle:
 *  1. `new ModelRepository(options)` then `start()` (or `ModelRepository.open(options)`): scans
 *     the root once (a missing root is CONFIG_INVALID) and starts polling it.
 *  2. `get(name)` loads the runtime of the version to serve on first use (lazily), then returns
 *     the same LoadedModel until another version is activated. The version served is the
 *     newest valid one (numeric per dot part: 1.10 > 1.9) unless `pins[name]` names one.
 *     `get(name, version)` serves that exact version (loaded once, kept until close).
 *  3. Every `pollIntervalMs` the root is scanned again. A version directory that appeared is a
 *     candidate once its manifest.json parses and validates, its artifacts (and tfjs weight
 *     shards) exist, and their sizes and mtimes did not change between two scans — a
 *     half-copied directory is never loaded. For a model already in use the candidate is loaded
 *     in the background and then activated (`'activated'` event, `onActivated`); callers of
 *     `get` keep getting the previous version until then.
 *  4. A version that fails to load is reported (`status().lastError`, `'load-failed'`) and not
 *     retried until its files change; the previous version keeps serving.
 *  5. A replaced runtime is disposed once `retireGraceMs` has passed and its in-flight
 *     `classify` calls have finished; a call on it after that fails retriably (get() again).
 *  6. `close()` stops polling, waits for in-flight calls and disposes every runtime.
 *
 * Skipped while scanning: subfolders that neither look like a version nor hold a manifest.json
 * (script folders such as models/training/icu-risk), and version folders whose manifest names
 * another task than the repository's, which another repository serves.
 */
export interface ModelRepositoryOptions<
  M extends ModelManifestBase = ModelManifest,
  R = ClassifierRuntime,
> {
  /** Folder holding `<name>/<version>/manifest.json`. */
  root: string;
  /** Model name → version to serve instead of the newest. */
  pins?: Record<string, string>;
  /** Rescan period; 0 turns polling off (call `refresh()`). */
  pollIntervalMs?: number;
  /** How long a replaced runtime stays usable for callers that already hold it. */
  retireGraceMs?: number;
  /** The task served; default: image classification (imageClassifierTask with the options below). */
  task?: ModelTask<M, R>;
  /** Passed to `loadClassifier`: auto = ONNX where the manifest has an ONNX artifact. */
  runtime?: LoadClassifierOptions['runtime'];
  tfjsBackend?: LoadClassifierOptions['tfjsBackend'];
  onnxExecutionProviders?: LoadClassifierOptions['onnxExecutionProviders'];
  /** Replaces `loadClassifier` (custom runtimes, tests). */
  loader?: (
    dir: string,
    manifest: ModelManifest,
    options: LoadClassifierOptions,
  ) => Promise<ClassifierRuntime>;
  logger?: RepositoryLogger;
  onActivated?: (event: ModelActivatedEvent) => void;
}

/** The subset of pino the repository logs through. */
export interface RepositoryLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * How a repository serves the models of one manifest task. The manifest is the task's extension
 * of ModelManifestBase; the runtime is whatever the task's callers use (ClassifierRuntime,
 * IcuRiskModel).
 */
export interface ModelTask<M extends ModelManifestBase, R> {
  /** The manifest `task` this serves; version folders of other tasks are skipped. */
  readonly task: M['task'];
  /** Validates a parsed manifest.json found in folder `expected` (CONFIG_INVALID naming every bad field). */
  validate(
    raw: unknown,
    file: string,
    expected: { name: string; version: string },
  ): { manifest: M; warnings: string[] };
  /** Artifact files, relative to the version folder, that must exist before it is served. */
  artifacts(manifest: M): string[];
  load(dir: string, manifest: M): Promise<R>;
  /**
   * What callers get: `inner` with each call run through `track` (which counts in-flight calls
   * and refuses calls once the runtime is retired), and a release that does nothing.
   */
  serve(inner: R, track: <T>(call: () => Promise<T>) => Promise<T>): R;
  dispose(inner: R): Promise<void>;
  describe(inner: R): RuntimeFacts;
}

/** Where a loaded runtime runs, for status() and the activation log. */
export interface RuntimeFacts {
  runtime: 'onnx' | 'tfjs';
  backend: string;
  device: 'cpu' | 'gpu';
  backendDetail?: string;
}

/** The image-classification task: manifests of ModelManifest, runtimes from loadClassifier. */
export function imageClassifierTask(
  options: Pick<
    ModelRepositoryOptions,
    'runtime' | 'tfjsBackend' | 'onnxExecutionProviders' | 'loader'
  > = {},
): ModelTask<ModelManifest, ClassifierRuntime> {
  const loader = options.loader ?? loadClassifier;
  return {
    task: 'image-classification',
    validate: (raw, file, expected) => validateManifest(raw, file, expected),
    artifacts: (m) => [m.artifacts.tfjs, m.artifacts.onnx].filter((a): a is string => !!a),
    load: (dir, manifest) =>
      loader(dir, manifest, {
        runtime: options.runtime ?? 'auto',
        tfjsBackend: options.tfjsBackend ?? 'auto',
        onnxExecutionProviders: options.onnxExecutionProviders ?? 'auto',
      }),
    serve: (inner, track) => ({
      kind: inner.kind,
      backend: inner.backend,
      device: inner.device,
      backendDetail: inner.backendDetail,
      gradcamAvailable: inner.gradcamAvailable,
      classify: (batch, options) => track(() => inner.classify(batch, options)),
      dispose: async () => {},
    }),
    dispose: (inner) => inner.dispose(),
    describe: (inner) => ({
      runtime: inner.kind,
      backend: inner.backend,
      device: inner.device,
      backendDetail: inner.backendDetail,
    }),
  };
}

export interface LoadedModel<M extends ModelManifestBase = ModelManifest, R = ClassifierRuntime> {
  readonly manifest: M;
  /** `name@version`, the name every result carries. */
  readonly ref: string;
  /** The version directory. */
  readonly dir: string;
  /** Owned by the repository: releasing it (dispose/close) does nothing. */
  readonly runtime: R;
}

export interface ModelActivatedEvent {
  name: string;
  version: string;
  ref: string;
  /** `name@version` it replaced, null on first load. */
  previous: string | null;
  runtime: 'onnx' | 'tfjs';
  backend: string;
  device: 'cpu' | 'gpu';
}

export interface ModelLoadFailedEvent {
  name: string;
  version: string;
  error: EngineError;
}

export interface ModelInvalidEvent {
  name: string;
  version: string;
  file: string;
  error: EngineError;
}

export type VersionState = 'valid' | 'incomplete' | 'invalid' | 'failed';

export interface VersionListing {
  version: string;
  dir: string;
  /** valid: can be served; incomplete: still being written; invalid: bad manifest; failed: did not load. */
  state: VersionState;
  served: boolean;
  error?: string;
  warnings: string[];
}

export interface ModelListing {
  name: string;
  pinned?: string;
  /** Version served now (null: not loaded yet or unavailable). */
  served: string | null;
  versions: VersionListing[];
}

export interface ModelStatus {
  name: string;
  /** `name@version` served, null when none is loaded. */
  served: string | null;
  version: string | null;
  /** not-loaded: nothing requested it yet; unavailable: no version can be served. */
  state: 'not-loaded' | 'loading' | 'ready' | 'unavailable';
  runtime: 'onnx' | 'tfjs' | null;
  backend: string | null;
  device: 'cpu' | 'gpu' | null;
  backendDetail: string | null;
  /** The version that would be served next (newest valid, or the pin). */
  candidate: string | null;
  pinned?: string;
  /** The last load failure or invalid manifest of this model (file, field, cause), if any. */
  error: string | null;
  errorVersion: string | null;
  errorAt: string | null;
}

interface VersionEntry<M> {
  version: string;
  dir: string;
  state: 'valid' | 'incomplete' | 'invalid';
  manifest?: M;
  warnings: string[];
  error?: EngineError;
  /** Sizes and mtimes of manifest + artifacts; a change means the directory is being written. */
  fingerprint: string;
  /** Same fingerprint on two consecutive scans (or present at the first scan). */
  settled: boolean;
}

interface Active<M extends ModelManifestBase, R> {
  version: string;
  loaded: LoadedModel<M, R>;
  tracked: CallTracker;
  facts: RuntimeFacts;
}

interface ModelState<M extends ModelManifestBase, R> {
  name: string;
  versions: Map<string, VersionEntry<M>>;
  active?: Active<M, R>;
  loading?: Promise<Active<M, R>>;
  loadingVersion?: string;
  /** Versions asked for explicitly with get(name, version), other than the one served. */
  explicit: Map<string, Promise<Active<M, R>>>;
  /** version → fingerprint that failed to load; retried only when the files change. */
  failed: Map<string, string>;
  /** version → fingerprint already reported invalid (report once). */
  reported: Map<string, string>;
  /** invalid: a bad manifest (cleared when fixed or removed); load: a load failure. */
  lastError?: { version?: string; message: string; at: string; kind: 'invalid' | 'load' };
}

const VERSION_FOLDER = /^[0-9]+(\.[0-9]+)*$/;

export class ModelRepository<
  M extends ModelManifestBase = ModelManifest,
  R = ClassifierRuntime,
> extends EventEmitter {
  private readonly models = new Map<string, ModelState<M, R>>();
  private readonly pins: Record<string, string>;
  private readonly pollIntervalMs: number;
  private readonly retireGraceMs: number;
  private readonly task: ModelTask<M, R>;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private firstScanDone = false;
  private closed = false;
  private readonly retiring = new Map<CallTracker, Promise<void>>();

  constructor(private readonly options: ModelRepositoryOptions<M, R>) {
    super();
    this.pins = { ...(options.pins ?? {}) };
    this.pollIntervalMs = options.pollIntervalMs ?? 2000;
    this.retireGraceMs = options.retireGraceMs ?? 5000;
    // Without a task the type parameters are their defaults: ModelManifest, ClassifierRuntime.
    this.task = options.task ?? (imageClassifierTask(options) as unknown as ModelTask<M, R>);
    if (options.onActivated) this.on('activated', options.onActivated);
  }

  /** A started repository. */
  static async open<M extends ModelManifestBase = ModelManifest, R = ClassifierRuntime>(
    options: ModelRepositoryOptions<M, R>,
  ): Promise<ModelRepository<M, R>> {
    const repo = new ModelRepository<M, R>(options);
    await repo.start();
    return repo;
  }

  /** Scans `options.root` once and starts polling it. */
  async start(): Promise<void> {
    const s = await stat(this.options.root).catch(() => undefined);
    if (!s?.isDirectory())
      throw new EngineError(
        'CONFIG_INVALID',
        `models root ${this.options.root} does not exist or is not a directory`,
      );
    await this.refresh();
    if (!this.timer) this.schedule();
  }

  /**
   * The model to serve under `name` (loaded on first use), or exactly `name@version` when a
   * version is given. NOT_FOUND when there is no such model or version.
   */
  async get(name: string, version?: string): Promise<LoadedModel<M, R>> {
    if (this.closed)
      throw new EngineError('SHUTTING_DOWN', 'model repository is closed', { retriable: true });
    const state = this.models.get(name);
    if (!state)
      throw new EngineError(
        'NOT_FOUND',
        `no model '${name}' under ${this.options.root} (models: ${[...this.models.keys()].join(', ') || 'none'})`,
      );
    if (version !== undefined) return (await this.loadExplicit(state, version)).loaded;
    if (state.active) return state.active.loaded;
    return (await this.loadServable(state)).loaded;
  }

  /** Loads every model (or `names`) now, so that /readyz reflects them; failures stay in status(). */
  async preload(names: string[] = [...this.models.keys()]): Promise<void> {
    await Promise.allSettled(names.map((n) => this.get(n)));
  }

  /** Rescans the root now and activates new versions of models in use. */
  refresh(): Promise<void> {
    if (!this.scanning)
      this.scanning = this.scan().finally(() => {
        this.scanning = undefined;
      });
    return this.scanning;
  }

  list(): ModelListing[] {
    return [...this.models.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((state) => ({
        name: state.name,
        ...(this.pins[state.name] ? { pinned: this.pins[state.name] } : {}),
        served: state.active?.version ?? null,
        versions: [...state.versions.values()]
          .sort((a, b) => compareVersions(b.version, a.version))
          .map((v) => {
            const failed = state.failed.get(v.version) === v.fingerprint;
            const error =
              failed && state.lastError?.version === v.version
                ? state.lastError.message
                : v.error?.message;
            return {
              version: v.version,
              dir: v.dir,
              state: failed ? 'failed' : v.state,
              served: state.active?.version === v.version,
              ...(error ? { error } : {}),
              warnings: v.warnings,
            };
          }),
      }));
  }

  /** Per model: what is served, on which runtime/backend/device, and the last error. */
  status(): ModelStatus[] {
    return [...this.models.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((state) => {
        const active = state.active;
        const runtime = active?.facts;
        const candidate = this.pick(state)?.version ?? null;
        return {
          name: state.name,
          served: active?.loaded.ref ?? null,
          version: active?.version ?? null,
          state: active
            ? 'ready'
            : state.loading
              ? 'loading'
              : candidate === null
                ? 'unavailable'
                : 'not-loaded',
          runtime: runtime?.runtime ?? null,
          backend: runtime?.backend ?? null,
          device: runtime?.device ?? null,
          backendDetail: runtime?.backendDetail ?? null,
          candidate,
          ...(this.pins[state.name] ? { pinned: this.pins[state.name] } : {}),
          error: state.lastError?.message ?? null,
          errorVersion: state.lastError?.version ?? null,
          errorAt: state.lastError?.at ?? null,
        };
      });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.scanning?.catch(() => undefined);
    const states = [...this.models.values()];
    await Promise.allSettled(states.map((s) => s.loading));
    for (const state of states) {
      if (state.active) this.retire(state.active, 0);
      state.active = undefined;
      for (const pending of state.explicit.values()) {
        const active = await pending.catch(() => undefined);
        if (active) this.retire(active, 0);
      }
      state.explicit.clear();
    }
    // Shutting down: no grace for runtimes replaced earlier, only their in-flight calls.
    for (const tracked of this.retiring.keys()) tracked.endGrace();
    await Promise.allSettled([...this.retiring.values()]);
  }

  // -------------------------------------------------------------------------------------------

  private schedule(): void {
    if (this.closed || this.pollIntervalMs <= 0) return;
    this.timer = setTimeout(() => {
      this.refresh()
        .catch((err: unknown) =>
          this.options.logger?.error({ err }, 'model repository scan failed'),
        )
        .finally(() => this.schedule());
    }, this.pollIntervalMs);
    this.timer.unref();
  }

  private async scan(): Promise<void> {
    const root = this.options.root;
    const names = await subfolders(root);
    const first = !this.firstScanDone;
    for (const name of names) {
      const versionFolders: string[] = [];
      for (const folder of await subfolders(join(root, name)))
        if (await isVersionFolder(join(root, name, folder), folder, this.task.task))
          versionFolders.push(folder);
      // A folder with no version folders is not a model (e.g. models/training, the scripts).
      if (versionFolders.length === 0 && !this.models.has(name)) continue;
      let state = this.models.get(name);
      if (!state) {
        state = {
          name,
          versions: new Map(),
          failed: new Map(),
          reported: new Map(),
          explicit: new Map(),
        };
        this.models.set(name, state);
      }
      const seen = new Set<string>();
      for (const folder of versionFolders) {
        seen.add(folder);
        const entry = await inspectVersion(this.task, join(root, name, folder), name, folder);
        const before = state.versions.get(folder);
        entry.settled = first || (before !== undefined && before.fingerprint === entry.fingerprint);
        state.versions.set(folder, entry);
        // Reported once settled: a manifest still being written is not worth an alarm.
        if (
          entry.state === 'invalid' &&
          entry.settled &&
          state.reported.get(folder) !== entry.fingerprint
        ) {
          state.reported.set(folder, entry.fingerprint);
          const error = entry.error as EngineError;
          state.lastError = {
            version: folder,
            message: error.message,
            at: new Date().toISOString(),
            kind: 'invalid',
          };
          this.options.logger?.warn(
            { model: `${name}@${folder}`, err: error.message },
            'invalid model version not served',
          );
          this.emit('invalid', {
            name,
            version: folder,
            file: join(entry.dir, 'manifest.json'),
            error,
          } satisfies ModelInvalidEvent);
        }
      }
      for (const version of [...state.versions.keys()])
        if (!seen.has(version)) state.versions.delete(version);
      const erred = state.lastError?.version;
      if (erred !== undefined) {
        const entry = state.versions.get(erred);
        if (!entry || (state.lastError?.kind === 'invalid' && entry.state !== 'invalid')) {
          // fixed or removed: what remains is the newest other invalid version, if any
          const other = [...state.versions.values()]
            .filter((v) => v.state === 'invalid' && v.settled && v.error)
            .sort((x, y) => compareVersions(y.version, x.version))[0];
          state.lastError = other && {
            version: other.version,
            message: (other.error as EngineError).message,
            at: new Date().toISOString(),
            kind: 'invalid',
          };
        }
      }
    }
    this.firstScanDone = true;
    if (this.closed) return;
    // New versions of models in use: load in the background, then switch.
    for (const state of this.models.values()) {
      const target = this.pick(state);
      if (!state.active || state.loading || !target || target.version === state.active.version)
        continue;
      this.loadServable(state).catch(() => undefined); // reported through lastError / events
    }
  }

  /** The version to serve: the pin, or the newest settled valid version that has not failed. */
  private pick(state: ModelState<M, R>): VersionEntry<M> | undefined {
    const usable = (v: VersionEntry<M> | undefined) =>
      v !== undefined &&
      v.state === 'valid' &&
      v.settled &&
      state.failed.get(v.version) !== v.fingerprint;
    const pinned = this.pins[state.name];
    if (pinned !== undefined) {
      const entry = state.versions.get(pinned);
      return usable(entry) ? entry : undefined;
    }
    return [...state.versions.values()]
      .filter(usable)
      .sort((a, b) => compareVersions(b.version, a.version))[0];
  }

  /** Loads and activates pick(state), falling back to older versions while loads fail. */
  private loadServable(state: ModelState<M, R>): Promise<Active<M, R>> {
    if (state.loading) return state.loading;
    const attempt = async (): Promise<Active<M, R>> => {
      for (;;) {
        const target = this.pick(state);
        if (!target) {
          if (state.active) return state.active;
          const pinned = this.pins[state.name];
          const why = state.lastError ? `; last error: ${state.lastError.message}` : '';
          throw new EngineError(
            'NOT_FOUND',
            pinned !== undefined
              ? `model '${state.name}': pinned version ${pinned} is not available${why}`
              : `model '${state.name}' has no loadable version${why}`,
          );
        }
        if (state.active?.version === target.version) return state.active;
        state.loadingVersion = target.version;
        try {
          return this.activate(state, target, await this.loadRuntime(target));
        } catch (err) {
          const error = toEngineError(err, 'PROCESSING_FAILED');
          state.failed.set(target.version, target.fingerprint);
          state.lastError = {
            version: target.version,
            message: error.message,
            at: new Date().toISOString(),
            kind: 'load',
          };
          this.options.logger?.error(
            { model: `${state.name}@${target.version}`, err: error.message },
            'model version failed to load',
          );
          this.emit('load-failed', {
            name: state.name,
            version: target.version,
            error,
          } satisfies ModelLoadFailedEvent);
        }
      }
    };
    state.loading = attempt().finally(() => {
      state.loading = undefined;
      state.loadingVersion = undefined;
    });
    return state.loading;
  }

  /** `name@version` exactly: the served one, or one loaded (once) beside it. */
  private loadExplicit(state: ModelState<M, R>, version: string): Promise<Active<M, R>> {
    if (state.active?.version === version) return Promise.resolve(state.active);
    let pending = state.explicit.get(version);
    if (!pending) {
      const entry = state.versions.get(version);
      if (!entry || entry.state !== 'valid' || !entry.settled)
        return Promise.reject(
          new EngineError(
            'NOT_FOUND',
            `model ${state.name}@${version} is not available${entry?.error ? `: ${entry.error.message}` : ''}`,
          ),
        );
      const manifest = entry.manifest as M;
      const ref = `${manifest.name}@${manifest.version}`;
      pending = this.loadRuntime(entry).then((runtime) => this.served(entry, ref, runtime));
      state.explicit.set(version, pending);
      // A failed load is not kept: the next request tries again.
      pending.catch(() => state.explicit.delete(version));
    }
    return pending;
  }

  private loadRuntime(entry: VersionEntry<M>): Promise<R> {
    return this.task.load(entry.dir, entry.manifest as M);
  }

  /** The runtime as callers get it: calls counted by a CallTracker that disposes it on retire. */
  private served(entry: VersionEntry<M>, ref: string, runtime: R): Active<M, R> {
    const manifest = entry.manifest as M;
    const tracked = new CallTracker(ref, () => this.task.dispose(runtime));
    return {
      version: entry.version,
      tracked,
      facts: this.task.describe(runtime),
      loaded: {
        manifest,
        ref,
        dir: entry.dir,
        runtime: this.task.serve(runtime, (call) => tracked.call(call)),
      },
    };
  }

  private activate(state: ModelState<M, R>, entry: VersionEntry<M>, runtime: R): Active<M, R> {
    const manifest = entry.manifest as M;
    const ref = `${manifest.name}@${manifest.version}`;
    if (this.closed) {
      void this.task.dispose(runtime);
      throw new EngineError('SHUTTING_DOWN', 'model repository is closed', { retriable: true });
    }
    const active = this.served(entry, ref, runtime);
    const facts = active.facts;
    const previous = state.active;
    state.active = active;
    if (state.lastError?.version === entry.version) state.lastError = undefined;
    if (previous) this.retire(previous, this.retireGraceMs);
    this.options.logger?.info(
      {
        model: ref,
        previous: previous?.loaded.ref ?? null,
        runtime: facts.runtime,
        backend: facts.backend,
        device: facts.device,
      },
      'model version activated',
    );
    this.emit('activated', {
      name: state.name,
      version: entry.version,
      ref,
      previous: previous?.loaded.ref ?? null,
      runtime: facts.runtime,
      backend: facts.backend,
      device: facts.device,
    } satisfies ModelActivatedEvent);
    return active;
  }

  private retire(active: Active<M, R>, graceMs: number): void {
    const done = active.tracked
      .retire(graceMs)
      .catch((err: unknown) =>
        this.options.logger?.warn(
          { model: active.loaded.ref, err: (err as Error).message },
          'disposing a retired model failed',
        ),
      )
      .finally(() => this.retiring.delete(active.tracked));
    this.retiring.set(active.tracked, done);
  }
}

/**
 * Counts the in-flight calls of one served runtime, so that a replaced version is disposed only
 * when none is running; after that every call fails retriably (get the model again).
 */
class CallTracker {
  private inFlight = 0;
  private disposed = false;
  private idle: (() => void) | undefined;
  private graceOver: (() => void) | undefined;

  constructor(
    private readonly ref: string,
    private readonly disposeInner: () => Promise<void>,
  ) {}

  async call<T>(run: () => Promise<T>): Promise<T> {
    if (this.disposed)
      throw new EngineError(
        'PROCESSING_FAILED',
        `${this.ref} was unloaded after a newer version replaced it; get the model again`,
        {
          retriable: true,
        },
      );
    this.inFlight += 1;
    try {
      return await run();
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) this.idle?.();
    }
  }

  endGrace(): void {
    this.graceOver?.();
  }

  /** Disposes the runtime once `graceMs` has passed (or endGrace) and no call is in flight. */
  async retire(graceMs: number): Promise<void> {
    if (graceMs > 0)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs).unref();
        this.graceOver = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    while (this.inFlight > 0) await new Promise<void>((r) => (this.idle = r));
    this.disposed = true;
    await this.disposeInner();
  }
}

async function subfolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
}

async function fileStamp(path: string): Promise<string | undefined> {
  const s = await stat(path).catch(() => undefined);
  return s?.isFile() ? `${s.size}:${s.mtimeMs}` : undefined;
}

/**
 * Whether a subfolder of a model folder is one of this repository's version folders: named like
 * a version or holding a manifest.json (a misnamed version is then reported as invalid), and not
 * a model of another task than `task` (served by another repository, e.g. the tabular-risk models
 * of processors/icu-risk). Script folders such as models/training/icu-risk are neither.
 */
async function isVersionFolder(dir: string, folder: string, task: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch {
    return VERSION_FOLDER.test(folder); // no manifest (yet): a version only by its name
  }
  try {
    const named = (JSON.parse(text) as { task?: unknown } | null)?.task;
    return !(typeof named === 'string' && named !== task);
  } catch {
    return true; // not parseable (yet): inspectVersion reports it
  }
}

/** Reads one version folder: manifest valid? artifacts all there? fingerprint of its files. */
async function inspectVersion<M extends ModelManifestBase>(
  task: ModelTask<M, unknown>,
  dir: string,
  name: string,
  folder: string,
): Promise<VersionEntry<M>> {
  const manifestPath = join(dir, 'manifest.json');
  const stamps: string[] = [];
  const entry = (
    state: VersionEntry<M>['state'],
    extra: Partial<VersionEntry<M>> = {},
  ): VersionEntry<M> => ({
    version: folder,
    dir,
    state,
    warnings: [],
    fingerprint: stamps.join('|'),
    settled: false,
    ...extra,
  });
  if (!VERSION_FOLDER.test(folder))
    return entry('invalid', {
      error: new EngineError(
        'CONFIG_INVALID',
        `${dir}: folder name '${folder}' is not a dotted numeric version`,
      ),
    });
  const manifestStamp = await fileStamp(manifestPath);
  if (!manifestStamp)
    return entry('incomplete', {
      error: new EngineError('NOT_FOUND', `${manifestPath} does not exist (yet)`),
    });
  stamps.push(manifestStamp);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (err) {
    return entry('invalid', {
      error: new EngineError(
        'CONFIG_INVALID',
        `invalid model manifest ${manifestPath}: not valid JSON (${(err as Error).message})`,
        {
          details: {
            file: manifestPath,
            problems: [{ field: '(root)', message: 'not valid JSON' }],
          },
        },
      ),
    });
  }
  let manifest: M;
  let warnings: string[];
  try {
    ({ manifest, warnings } = task.validate(raw, manifestPath, { name, version: folder }));
  } catch (err) {
    return entry('invalid', { error: toEngineError(err, 'CONFIG_INVALID') });
  }
  const missing: string[] = [];
  for (const artifact of task.artifacts(manifest)) {
    const path = join(dir, artifact);
    const stamp = await fileStamp(path);
    if (!stamp) {
      missing.push(artifact);
      continue;
    }
    stamps.push(stamp);
    if (artifact.endsWith('.json')) {
      // A tfjs model.json: the weight shards it lists must be there too.
      try {
        const modelJson = JSON.parse(await readFile(path, 'utf8')) as {
          weightsManifest?: { paths: string[] }[];
        };
        for (const group of modelJson.weightsManifest ?? [])
          for (const shard of group.paths) {
            const shardStamp = await fileStamp(join(dirname(path), shard));
            if (shardStamp) stamps.push(shardStamp);
            else missing.push(join(dirname(artifact), shard));
          }
      } catch {
        missing.push(`${artifact} (not parseable yet)`);
      }
    }
  }
  if (missing.length > 0)
    return entry('incomplete', {
      manifest,
      warnings,
      error: new EngineError('NOT_FOUND', `${dir}: missing ${missing.join(', ')}`),
    });
  return entry('valid', { manifest, warnings });
}
