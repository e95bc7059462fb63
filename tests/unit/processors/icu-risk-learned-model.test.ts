import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../../../engine/errors';
import { projectRoot } from '../../../engine/paths';
import { createRng, gaussian } from '../../../models/training/phantom';
import {
  bandOf,
  CLINICAL_VARIABLE_NAMES,
  featuresFromSeries,
  icuRiskModelTask,
  type IcuRiskManifest,
  type IcuRiskModel,
  loadIcuRiskModel,
  openLearnedModel,
  prepareFeatures,
  scoreWithCoefficients,
  seriesStats,
  validateIcuRiskManifest,
} from '../../../processors/icu-risk/learned-model';
import { ModelRepository } from '../../../processors/shared/runtime/model-repository';

const SHIPPED = join(projectRoot(), 'models', 'icu-risk-demo', '1.0.0');
const pts = (...values: number[]) => values.map((value, i) => ({ value, at: i * 60_000 }));

const dirs: string[] = [];
let model: IcuRiskModel;
beforeAll(async () => {
  model = await loadIcuRiskModel(SHIPPED);
});
afterAll(async () => {
  await model.close();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

describe('[REQ-ICU-ML-10] series statistics as the Sírio-Libanês dataset defines them', () => {
  it('MEAN, MEDIAN, MIN, MAX, DIFF = MAX − MIN, DIFF_REL = DIFF / MEDIAN', () => {
    expect(seriesStats(pts(3, 1, 2))).toEqual({
      MEAN: 2,
      MEDIAN: 2,
      MIN: 1,
      MAX: 3,
      DIFF: 2,
      DIFF_REL: 1,
    });
    // even count: the median is the mean of the two middle values
    expect(seriesStats(pts(10, 1, 3, 2))).toEqual({
      MEAN: 4,
      MEDIAN: 2.5,
      MIN: 1,
      MAX: 10,
      DIFF: 9,
      DIFF_REL: 3.6,
    });
    expect(seriesStats(pts(97))).toEqual({
      MEAN: 97,
      MEDIAN: 97,
      MIN: 97,
      MAX: 97,
      DIFF: 0,
      DIFF_REL: 0,
    });
    expect(seriesStats(pts(-1, 0, 1)).DIFF_REL).toBeUndefined();
  });

  it('refuses an empty series and non-finite values', () => {
    expect(() => seriesStats([])).toThrow(EngineError);
    expect(() => seriesStats(pts(1, NaN))).toThrow(/non-finite/);
  });

  it('maps clinical series to dataset columns (vitals with DIFF_REL, labs without) and age to AGE_ABOVE65', () => {
    const f = featuresFromSeries({ respiratoryRate: pts(20, 24, 22), crp: pts(80) }, 70);
    expect(f).toMatchObject({
      AGE_ABOVE65: 1,
      RESPIRATORY_RATE_MEAN: 22,
      RESPIRATORY_RATE_MEDIAN: 22,
      RESPIRATORY_RATE_MIN: 20,
      RESPIRATORY_RATE_MAX: 24,
      RESPIRATORY_RATE_DIFF: 4,
      PCR_MEDIAN: 80,
      PCR_DIFF: 0,
    });
    expect(f.RESPIRATORY_RATE_DIFF_REL).toBeCloseTo(4 / 22, 12);
    expect('PCR_DIFF_REL' in f).toBe(false);
    expect(f.HEART_RATE_MEAN).toBeUndefined();
    expect(Object.keys(f)).toHaveLength(1 + 6 * 6 + 5 * 5);
    expect(featuresFromSeries({}, 64).AGE_ABOVE65).toBe(0);
    expect(featuresFromSeries({}, 65).AGE_ABOVE65).toBe(1);
    expect(featuresFromSeries({}).AGE_ABOVE65).toBeUndefined();
    expect(CLINICAL_VARIABLE_NAMES).toHaveLength(11);
  });
});

describe('[REQ-ICU-ML-11] the shipped icu-risk-demo model', () => {
  it('says what it is', () => {
    expect(model.ref).toBe('icu-risk-demo@1.0.0');
    expect(model.syntheticTrainingData).toBe(true);
    expect(model.disclaimer).toMatch(/synthetic training data — not for clinical use/);
    expect(model.inputs.length).toBeGreaterThan(5);
    for (const input of model.inputs) {
      expect(input.unit).not.toBe('');
      expect(input.loinc.length).toBeGreaterThan(0);
    }
  });

  it('scores with ONNX exactly as the plain coefficients do (|Δ| < 1e-5)', async () => {
    const rng = createRng(99);
    let largest = 0;
    for (let k = 0; k < 200; k++) {
      const features: Record<string, number | undefined> = {};
      for (const input of model.inputs)
        features[input.column] =
          rng() < 0.2
            ? undefined
            : input.stat === 'ABOVE65'
              ? rng() < 0.5
                ? 0
                : 1
              : input.mean + 2 * input.std * gaussian(rng);
      const scored = await model.score(features);
      const prepared = prepareFeatures(model.inputs, features);
      const plain = scoreWithCoefficients(model.manifest, prepared.vector);
      largest = Math.max(largest, Math.abs(scored.probability - plain.probability));
      expect(scored.band).toBe(bandOf(scored.probability, model.manifest.bands));
    }
    expect(largest).toBeLessThan(1e-5);
  });

  it('lists imputed inputs with the training median and unit, and reports the values used', async () => {
    const features = featuresFromSeries(
      {
        respiratoryRate: pts(28, 30, 32),
        spo2: pts(88, 86, 89),
        heartRate: pts(118, 124),
        systolicBp: pts(92, 88),
        diastolicBp: pts(55, 52),
        temperature: pts(38.9, 39.2),
      },
      78,
    );
    const sick = await model.score(features);
    const pcr = model.inputs.find((i) => i.column === 'PCR_MEDIAN')!;
    expect(sick.imputed).toContain(
      `PCR_MEDIAN (imputed ${Number(pcr.imputeValue.toPrecision(4))} mg/L, training median)`,
    );
    expect(sick.imputed.every((line) => / \(imputed .+, training median\)$/.test(line))).toBe(true);
    expect(sick.imputed).toHaveLength(
      model.inputs.filter((i) => features[i.column] === undefined).length,
    );
    expect(sick.used.PCR_MEDIAN).toBe(pcr.imputeValue);
    expect(sick.used.RESPIRATORY_RATE_MEAN).toBe(30);
    expect(sick.used.AGE_ABOVE65).toBe(1);

    const well = await model.score(
      featuresFromSeries(
        {
          respiratoryRate: pts(14, 15),
          spo2: pts(98, 99),
          heartRate: pts(68),
          systolicBp: pts(128),
          diastolicBp: pts(78),
          temperature: pts(36.7),
          crp: pts(3),
          lymphocytes: pts(2.1),
          creatinine: pts(0.8),
          platelets: pts(260),
          bilirubin: pts(0.5),
        },
        35,
      ),
    );
    expect(well.imputed).toEqual([]);
    expect(sick.probability).toBeGreaterThan(well.probability);
    expect(sick.band).toBe('high');
    expect(well.band).toBe('low');
  });

  it('refuses to score after close', async () => {
    const other = await loadIcuRiskModel(SHIPPED);
    await other.close();
    await expect(other.score({})).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });
});

describe('[REQ-ICU-ML-12] manifest: scale, bands, validation', () => {
  const manifest = JSON.parse(
    readFileSync(join(SHIPPED, 'manifest.json'), 'utf8'),
  ) as IcuRiskManifest;

  it('applies a linear scale from physical units to [-1, 1] and reports imputation in physical units', () => {
    const input = {
      ...manifest.inputs[1]!,
      scale: { min: 0, max: 40 },
      imputeValue: -0.1, // = 18 /min
    };
    const prepared = prepareFeatures([input], { [input.column]: 30 });
    expect(prepared.vector[0]).toBeCloseTo(0.5, 6);
    expect(prepared.used[input.column]).toBe(30);
    const missing = prepareFeatures([input], {});
    expect(missing.vector[0]).toBeCloseTo(-0.1, 6);
    expect(missing.used[input.column]).toBeCloseTo(18, 10);
    expect(missing.imputed).toEqual([
      `${input.column} (imputed 18 ${input.unit}, training median)`,
    ]);
  });

  it('a scaled model scores physical values like the unscaled one scores normalised ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'medstream-icu-model-'));
    dirs.push(dir);
    cpSync(SHIPPED, dir, { recursive: true });
    const scaled: IcuRiskManifest = {
      ...manifest,
      inputs: manifest.inputs.map((i) =>
        i.column === 'RESPIRATORY_RATE_MEAN' ? { ...i, scale: { min: 0, max: 40 } } : i,
      ),
    };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(scaled));
    const m = await loadIcuRiskModel(dir);
    try {
      // 30 /min → 0.5 in model space
      const a = await m.score({ RESPIRATORY_RATE_MEAN: 30 });
      const b = await model.score({ RESPIRATORY_RATE_MEAN: 0.5 });
      expect(Math.abs(a.probability - b.probability)).toBeLessThan(1e-7);
    } finally {
      await m.close();
    }
  });

  it('bands: low below medium, high from high', () => {
    const bands = { medium: 0.15, high: 0.4 };
    expect(bandOf(0.149, bands)).toBe('low');
    expect(bandOf(0.15, bands)).toBe('medium');
    expect(bandOf(0.399, bands)).toBe('medium');
    expect(bandOf(0.4, bands)).toBe('high');
  });

  it('names every bad field', () => {
    const bad = {
      ...manifest,
      task: 'image-classification',
      bands: { medium: 0.5, high: 0.2 },
      inputs: [{ ...manifest.inputs[0]!, std: 0 }, manifest.inputs[0]],
    };
    expect(() => validateIcuRiskManifest(bad, 'm.json')).toThrow(/task/);
    const problems = (() => {
      try {
        validateIcuRiskManifest({ ...bad, task: 'tabular-risk' }, 'm.json');
        return [];
      } catch (err) {
        return (err as EngineError).details?.problems as string[];
      }
    })();
    expect(problems).toEqual([expect.stringMatching(/^inputs\.0\.std: /)]);
    const semantic = { ...manifest, bands: { medium: 0.5, high: 0.2 } };
    semantic.inputs = [manifest.inputs[0]!, manifest.inputs[0]!];
    expect(() => validateIcuRiskManifest(semantic, 'm.json')).toThrow(
      /inputs\.1\.column: duplicate column 'AGE_ABOVE65'[\s\S]*bands: medium \(0\.5\) must be below high \(0\.2\)/,
    );
    expect(() => validateIcuRiskManifest({ ...manifest, extra: 1 }, 'm.json')).not.toThrow();
    expect(() =>
      validateIcuRiskManifest({ ...manifest, artifacts: { onnx: '../x.onnx' } }, 'm.json'),
    ).toThrow(/inside the version folder/);
  });

  it('fails with NOT_FOUND for a folder without a manifest', async () => {
    await expect(loadIcuRiskModel(join(tmpdir(), 'no-such-model-dir'))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

describe('[REQ-MODEL-REPO] the imaging model repository and tabular-risk models', () => {
  it('skips icu-risk-demo under models/ (served by processors/icu-risk) and still lists cxr-demo', async () => {
    const repo = await ModelRepository.open({
      root: join(projectRoot(), 'models'),
      pollIntervalMs: 0,
      loader: () => Promise.reject(new Error('not loaded in this test')),
    });
    try {
      const names = repo.list().map((m) => m.name);
      expect(names).toContain('cxr-demo');
      expect(names).not.toContain('icu-risk-demo');
      expect(names).not.toContain('training'); // models/training/icu-risk holds scripts
      expect(repo.status().every((s) => s.error === null)).toBe(true);
    } finally {
      await repo.close();
    }
  });

  it('ignores a tabular-risk version and a scripts subfolder, but still reports a misnamed version', async () => {
    const root = mkdtempSync(join(tmpdir(), 'medstream-models-'));
    dirs.push(root);
    cpSync(SHIPPED, join(root, 'risk', '1.0.0'), { recursive: true });
    mkdirSync(join(root, 'training', 'icu-risk'), { recursive: true });
    writeFileSync(join(root, 'training', 'icu-risk', 'train.ts'), '// not a model');
    mkdirSync(join(root, 'broken', 'v1'), { recursive: true });
    writeFileSync(join(root, 'broken', 'v1', 'manifest.json'), '{}');
    const repo = await ModelRepository.open({ root, pollIntervalMs: 0 });
    try {
      expect(repo.list().map((m) => m.name)).toEqual(['broken']);
      expect(repo.status()[0]!.error).toMatch(/'v1' is not a dotted numeric version/);
    } finally {
      await repo.close();
    }
  });
});

describe('[REQ-MODEL-REPO] tabular-risk models served by ModelRepository (one model path)', () => {
  const features = featuresFromSeries({ respiratoryRate: pts(24, 26), crp: pts(80) }, 70);

  /** A copy of the shipped model as `<root>/icu-risk-demo/<version>` (the intercept only marks it). */
  function addVersion(root: string, version: string, intercept?: number): void {
    const dir = join(root, 'icu-risk-demo', version);
    cpSync(SHIPPED, dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    manifest.version = version;
    if (intercept !== undefined) manifest.intercept = intercept;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  }

  it('serves icu-risk-demo from models/ and skips the image models and the training scripts', async () => {
    const repo = await ModelRepository.open({
      root: join(projectRoot(), 'models'),
      task: icuRiskModelTask(),
      pollIntervalMs: 0,
    });
    try {
      expect(repo.list().map((m) => m.name)).toEqual(['icu-risk-demo']);
      const served = (await repo.get('icu-risk-demo')).runtime;
      expect(served.ref).toBe('icu-risk-demo@1.0.0');
      expect(await served.score(features)).toEqual(await model.score(features));
      expect(repo.status()[0]).toMatchObject({ state: 'ready', runtime: 'onnx', device: 'cpu' });
    } finally {
      await repo.close();
    }
  });

  it('serves the newest version unless pinned, and switches to a new version while running', async () => {
    const root = mkdtempSync(join(tmpdir(), 'medstream-risk-models-'));
    dirs.push(root);
    addVersion(root, '1.0.0');
    addVersion(root, '1.10.0', 0.5);
    addVersion(root, '1.9.0');
    const newest = await openLearnedModel({ modelsDir: root, name: 'icu-risk-demo', version: '' });
    const pinned = await openLearnedModel({
      modelsDir: root,
      name: 'icu-risk-demo',
      version: '1.9.0',
    });
    try {
      expect((await newest.current()).ref).toBe('icu-risk-demo@1.10.0');
      expect((await pinned.current()).ref).toBe('icu-risk-demo@1.9.0');
      expect((await newest.current()).manifest.intercept).toBe(0.5);
    } finally {
      await newest.close();
      await pinned.close();
    }

    const repo = await ModelRepository.open({ root, task: icuRiskModelTask(), pollIntervalMs: 0 });
    try {
      const before = (await repo.get('icu-risk-demo')).runtime;
      addVersion(root, '2.0.0', -1);
      await repo.refresh(); // seen once: may still be being copied
      await repo.refresh(); // unchanged since: activated
      await waitForServed(repo, '2.0.0');
      const after = (await repo.get('icu-risk-demo')).runtime;
      expect(after.ref).toBe('icu-risk-demo@2.0.0');
      expect(after.manifest.intercept).toBe(-1);
      // The replaced version still answers callers that hold it, until its grace period ends.
      expect(await before.score(features)).toEqual(await after.score(features));
    } finally {
      await repo.close();
    }
  });

  it('reports a version whose manifest does not match its folder, and keeps serving the valid one', async () => {
    const root = mkdtempSync(join(tmpdir(), 'medstream-risk-models-'));
    dirs.push(root);
    addVersion(root, '1.0.0');
    const dir = join(root, 'icu-risk-demo', '1.1.0');
    cpSync(SHIPPED, dir, { recursive: true }); // manifest still says 1.0.0
    const repo = await ModelRepository.open({ root, task: icuRiskModelTask(), pollIntervalMs: 0 });
    try {
      expect((await repo.get('icu-risk-demo')).runtime.ref).toBe('icu-risk-demo@1.0.0');
      expect(repo.status()[0]!.error).toMatch(
        /version: must equal the version folder name '1\.1\.0' \(got '1\.0\.0'\)/,
      );
    } finally {
      await repo.close();
    }
  });
});

async function waitForServed(
  repo: ModelRepository<IcuRiskManifest, IcuRiskModel>,
  version: string,
) {
  for (let i = 0; i < 200 && repo.status()[0]?.version !== version; i++)
    await new Promise((r) => setTimeout(r, 10));
}
