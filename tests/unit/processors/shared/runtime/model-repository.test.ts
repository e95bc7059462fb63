import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelManifest } from '../../../../../processors/shared/model-manifest';
import type { ClassifierRuntime } from '../../../../../processors/shared/runtime/classifier';
import {
  compareVersions,
  validateManifest,
} from '../../../../../processors/shared/runtime/manifest-validation';
import {
  ModelRepository,
  type ModelActivatedEvent,
  type ModelInvalidEvent,
  type ModelLoadFailedEvent,
  type ModelRepositoryOptions,
} from '../../../../../processors/shared/runtime/model-repository';
import { fileSystemSaveHandler } from '../../../../../processors/shared/runtime/tfjs-fs-io';
import { waitFor } from '../../../../helpers/wait-for';
import { buildTinyModel, tinyInputs, tinyManifest, writeTinyModelDir } from './tiny-model';

const roots: string[] = [];
const repos: ModelRepository[] = [];
afterAll(async () => {
  await Promise.all(repos.map((r) => r.close()));
  roots.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function newRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'medstream-models-'));
  roots.push(root);
  return root;
}

async function writeVersion(
  root: string,
  version: string,
  seed = 1,
  name = 'tiny',
): Promise<string> {
  const dir = join(root, name, version);
  await writeTinyModelDir(dir, buildTinyModel({ seed }), tinyManifest(name, version));
  return dir;
}

async function open(root: string, options: Partial<ModelRepositoryOptions> = {}) {
  const repo = await ModelRepository.open({
    root,
    tfjsBackend: 'cpu',
    pollIntervalMs: 0,
    retireGraceMs: 0,
    ...options,
  });
  repos.push(repo);
  return repo;
}

describe('[REQ-MODEL-REPO] model repository', () => {
  it('orders versions numerically per dot part', () => {
    expect(compareVersions('1.10', '1.9')).toBe(1);
    expect(compareVersions('1.9.3', '1.10')).toBe(-1);
    expect(compareVersions('2.0', '2.0.0')).toBe(0);
    expect(compareVersions('10.0.0', '9.99.99')).toBe(1);
    expect(['1.2.0', '1.10.0', '1.9.0', '0.99'].sort(compareVersions)).toEqual([
      '0.99',
      '1.2.0',
      '1.9.0',
      '1.10.0',
    ]);
  });

  it('serves the newest version (1.10 > 1.9), lazily, and reports runtime, backend and device', async () => {
    const root = newRoot();
    for (const [v, seed] of [
      ['1.2', 1],
      ['1.9', 2],
      ['1.10', 3],
    ] as const)
      await writeVersion(root, v, seed);
    const repo = await open(root);
    expect(repo.status()).toEqual([
      expect.objectContaining({
        name: 'tiny',
        state: 'not-loaded',
        served: null,
        candidate: '1.10',
      }),
    ]);
    const model = await repo.get('tiny');
    expect(model.ref).toBe('tiny@1.10');
    expect(model.manifest.version).toBe('1.10');
    const [out] = await model.runtime.classify(tinyInputs(1, 256));
    expect(out!.probabilities).toHaveLength(3);
    expect(repo.status()).toEqual([
      expect.objectContaining({
        name: 'tiny',
        served: 'tiny@1.10',
        version: '1.10',
        state: 'ready',
        runtime: 'tfjs',
        backend: 'cpu',
        device: 'cpu',
        error: null,
      }),
    ]);
    expect(repo.list()[0]!.versions.map((v) => [v.version, v.state, v.served])).toEqual([
      ['1.10', 'valid', true],
      ['1.9', 'valid', false],
      ['1.2', 'valid', false],
    ]);
    expect((await repo.get('tiny')).runtime).toBe(model.runtime); // loaded once
    await expect(repo.get('nope')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('models: tiny'),
    });
    // an exact version is served beside the newest
    expect((await repo.get('tiny', '1.2')).ref).toBe('tiny@1.2');
    await expect(repo.get('tiny', '3.0')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a folder without version folders (training scripts, say) is not a model', async () => {
    const root = newRoot();
    await writeVersion(root, '1.0.0', 1);
    mkdirSync(join(root, 'training'));
    writeFileSync(join(root, 'training', 'train.ts'), '// not a model');
    const repo = await open(root);
    expect(repo.status().map((m) => m.name)).toEqual(['tiny']);
  });

  it('respects a pin, and says so when the pinned version does not exist', async () => {
    const root = newRoot();
    await writeVersion(root, '1.0.0', 1);
    await writeVersion(root, '1.1.0', 2);
    const pinned = await open(root, { pins: { tiny: '1.0.0' } });
    expect((await pinned.get('tiny')).ref).toBe('tiny@1.0.0');
    expect(pinned.status()[0]).toMatchObject({ pinned: '1.0.0', candidate: '1.0.0' });
    const missing = await open(root, { pins: { tiny: '2.0.0' } });
    await expect(missing.get('tiny')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('pinned version 2.0.0 is not available'),
    });
    expect(missing.status()[0]!.state).toBe('unavailable');
  });

  it('picks up a new version directory without a restart, but never a half-written one', async () => {
    const root = newRoot();
    await writeVersion(root, '1.0.0', 1);
    const activated: ModelActivatedEvent[] = [];
    const repo = await open(root, { pollIntervalMs: 20, onActivated: (e) => activated.push(e) });
    const first = await repo.get('tiny');
    expect(first.ref).toBe('tiny@1.0.0');

    // 1.1.0 arrives in pieces: manifest first, then model.json, then the weights
    const dir = join(root, 'tiny', '1.1.0');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(tinyManifest('tiny', '1.1.0')));
    const model = buildTinyModel({ seed: 9 });
    const staging = join(root, '.staging');
    await model.save(fileSystemSaveHandler(staging));
    await repo.refresh();
    await repo.refresh();
    expect(repo.list()[0]!.versions[0]).toMatchObject({
      version: '1.1.0',
      state: 'incomplete',
      error: expect.stringContaining('model.json'),
    });
    writeFileSync(
      join(dir, 'model.json'),
      JSON.stringify({
        modelTopology: {},
        weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [] }],
      }),
    );
    await repo.refresh();
    await repo.refresh();
    expect(repo.list()[0]!.versions[0]).toMatchObject({
      state: 'incomplete',
      error: expect.stringContaining('group1-shard1of1.bin'),
    });
    expect((await repo.get('tiny')).ref).toBe('tiny@1.0.0');
    await model.save(fileSystemSaveHandler(dir)); // the complete model

    const next = await waitFor(
      async () => {
        const m = await repo.get('tiny');
        return m.ref === 'tiny@1.1.0' && m;
      },
      { what: 'tiny@1.1.0 to be served', timeoutMs: 10000, intervalMs: 10 },
    );
    expect(next.runtime).not.toBe(first.runtime);
    expect(activated.map((e) => [e.ref, e.previous])).toEqual([
      ['tiny@1.0.0', null],
      ['tiny@1.1.0', 'tiny@1.0.0'],
    ]);
    // the replaced runtime is unloaded once idle; a late caller is told to get the model again
    await waitFor(
      () =>
        first.runtime.classify(tinyInputs(1, 256)).then(
          () => false,
          (err) => err.retriable === true && err.code === 'PROCESSING_FAILED',
        ),
      { what: 'the old version to be unloaded', timeoutMs: 5000, intervalMs: 10 },
    );
  });

  it('reports a broken manifest with its path and field, and does not serve it', async () => {
    const root = newRoot();
    await writeVersion(root, '1.0.0', 1);
    const invalid: ModelInvalidEvent[] = [];
    const bad = tinyManifest('tiny', '2.0.0') as unknown as Record<string, unknown>;
    (bad.preprocessing as ModelManifest['preprocessing']).normalization.std = 0;
    delete bad.labels;
    const badDir = join(root, 'tiny', '2.0.0');
    await writeTinyModelDir(badDir, buildTinyModel(), bad as unknown as ModelManifest);
    await writeVersion(root, '1.5.0', 2);
    writeFileSync(join(root, 'tiny', '1.5.0', 'manifest.json'), '{ "name": "tiny", ');
    const repo = new ModelRepository({ root, tfjsBackend: 'cpu', pollIntervalMs: 0 });
    repos.push(repo);
    repo.on('invalid', (e: ModelInvalidEvent) => invalid.push(e));
    await repo.start();

    expect((await repo.get('tiny')).ref).toBe('tiny@1.0.0');
    const manifestPath = join(badDir, 'manifest.json');
    expect(invalid.map((e) => [e.version, e.file])).toEqual(
      expect.arrayContaining([
        ['2.0.0', manifestPath],
        ['1.5.0', join(root, 'tiny', '1.5.0', 'manifest.json')],
      ]),
    );
    const problem = invalid.find((e) => e.version === '2.0.0')!.error;
    expect(problem.code).toBe('CONFIG_INVALID');
    expect(problem.message).toContain(`invalid model manifest ${manifestPath}`);
    expect(problem.message).toContain('preprocessing.normalization.std: must be > 0 (got 0)');
    expect(problem.message).toContain('labels: is required');
    expect(invalid.find((e) => e.version === '1.5.0')!.error.message).toContain('not valid JSON');
    const versions = repo.list()[0]!.versions;
    expect(versions.map((v) => [v.version, v.state])).toEqual([
      ['2.0.0', 'invalid'],
      ['1.5.0', 'invalid'],
      ['1.0.0', 'valid'],
    ]);
    expect(versions[0]!.error).toContain('preprocessing.normalization.std');
    expect(repo.status()[0]!.error).toMatch(/manifest\.json/);

    // fixed in place: the error clears and the version is served
    writeFileSync(manifestPath, JSON.stringify(tinyManifest('tiny', '2.0.0')));
    await repo.refresh();
    await repo.refresh();
    await waitFor(async () => (await repo.get('tiny')).ref === 'tiny@2.0.0', {
      what: 'tiny@2.0.0',
    });
    expect(repo.status()[0]).toMatchObject({
      served: 'tiny@2.0.0',
      error: expect.stringContaining('1.5.0'),
    });
  });

  it('names every bad field of a manifest, including a name or version that does not match its folder', () => {
    const m = tinyManifest('tiny', '1.0.0') as unknown as Record<string, unknown>;
    m.input = { height: 16, width: 16, channels: 2 };
    m.positiveLabel = 'covid';
    m.batching = { maxBatchSize: 0, maxQueueDelayMs: 5, extra: 1 };
    expect(() =>
      validateManifest(m, '/m/other/1.0.0/manifest.json', { name: 'other', version: '1.0.0' }),
    ).toThrow(
      /input\.channels: must be one of 1, 3 \(got 2\)[\s\S]*batching\.extra: unknown field[\s\S]*batching\.maxBatchSize: must be >= 1/,
    );
    const ok = tinyManifest('tiny', '1.0.0') as unknown as Record<string, unknown>;
    ok.positiveLabel = 'covid';
    ok.trainingNotes = 'extra keys at the top level are allowed';
    expect(() =>
      validateManifest(ok, '/m/x/1.0.0/manifest.json', { name: 'x', version: '1.0.0' }),
    ).toThrow(
      /name: must equal the model folder name 'x' \(got 'tiny'\)[\s\S]*positiveLabel: 'covid' is not one of labels/,
    );
    delete ok.positiveLabel;
    expect(validateManifest(ok, 'f', { name: 'tiny', version: '1.0.0' }).warnings).toEqual([
      "unknown top-level key 'trainingNotes' ignored",
    ]);
    const onnxWithoutSection = {
      ...tinyManifest('tiny', '1.0.0'),
      artifacts: { onnx: '../model.onnx' },
    };
    expect(() => validateManifest(onnxWithoutSection, 'f')).toThrow(
      /artifacts\.onnx: must be a path inside the version folder[\s\S]*onnx: is required/,
    );
  });

  it('keeps serving the previous version when a new one fails to load, and reports why', async () => {
    const root = newRoot();
    await writeVersion(root, '1.0.0', 1);
    const failures: ModelLoadFailedEvent[] = [];
    const repo = await open(root);
    repo.on('load-failed', (e: ModelLoadFailedEvent) => failures.push(e));
    await repo.get('tiny');
    const dir = await writeVersion(root, '1.1.0', 2);
    truncateSync(join(dir, 'group1-shard1of1.bin'), 10); // weights cut short
    await repo.refresh(); // seen
    await repo.refresh(); // settled → load attempted in the background
    await waitFor(() => failures.length > 0, { what: 'the load failure' });
    expect(failures[0]).toMatchObject({ version: '1.1.0', error: { code: 'PROCESSING_FAILED' } });
    expect((await repo.get('tiny')).ref).toBe('tiny@1.0.0');
    expect(repo.status()[0]).toMatchObject({
      served: 'tiny@1.0.0',
      errorVersion: '1.1.0',
      error: expect.stringContaining('tiny@1.1.0'),
    });
    expect(repo.list()[0]!.versions[0]).toMatchObject({ version: '1.1.0', state: 'failed' });
    await repo.refresh();
    expect(failures).toHaveLength(1); // not retried until its files change
  });

  it('falls back to an older version at start when the newest cannot be loaded', async () => {
    const root = newRoot();
    await writeVersion(root, '1.0.0', 1);
    const dir = await writeVersion(root, '1.1.0', 2);
    writeFileSync(
      join(dir, 'model.json'),
      '{"modelTopology": {"class_name": "Nonsense"}, "weightsManifest": []}',
    );
    const repo = await open(root);
    expect((await repo.get('tiny')).ref).toBe('tiny@1.0.0');
    expect(repo.status()[0]).toMatchObject({ errorVersion: '1.1.0' });
  });

  it('disposes a replaced runtime only after its in-flight calls have finished', async () => {
    const root = newRoot();
    await writeVersion(root, '1.0.0', 1);
    const disposed: string[] = [];
    let release: () => void = () => undefined;
    const loader = async (_dir: string, manifest: ModelManifest): Promise<ClassifierRuntime> => ({
      kind: 'tfjs',
      backend: 'fake',
      device: 'cpu',
      gradcamAvailable: false,
      classify: (batch) =>
        new Promise((resolve) => {
          release = () =>
            resolve(
              batch.map(() => ({
                logits: new Float32Array(3),
                probabilities: new Float32Array(3),
              })),
            );
        }),
      dispose: async () => {
        disposed.push(manifest.version);
      },
    });
    const repo = await open(root, { loader });
    const old = await repo.get('tiny');
    const inFlight = old.runtime.classify(tinyInputs(1, 256));
    await writeVersion(root, '1.1.0', 2);
    await repo.refresh();
    await repo.refresh();
    await waitFor(async () => (await repo.get('tiny')).ref === 'tiny@1.1.0', {
      what: 'the switch',
    });
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(disposed).toEqual([]); // still running
    release();
    await expect(inFlight).resolves.toHaveLength(1);
    await waitFor(() => disposed.includes('1.0.0'), { what: 'the old runtime to be disposed' });
    await repo.close();
    expect(disposed).toEqual(['1.0.0', '1.1.0']);
    await expect(repo.get('tiny')).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });

  it('refuses a models root that does not exist', async () => {
    await expect(
      ModelRepository.open({ root: join(tmpdir(), 'medstream-no-such-root') }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });
});
