/**
 * The learned ICU-admission risk model: a standardised logistic regression over summary
 * statistics of a patient's vitals and labs, in the column layout of the public Sírio-Libanês
 * COVID-19 ICU dataset (Kaggle "COVID-19 - Clinical Data to assess diagnosis"). Trained by
 * models/training/icu-risk/train-icu-risk.ts; shipped as `models/<name>/<version>/`
 * (manifest.json + model.onnx + MODEL_CARD.md, task "tabular-risk").
 *
 * Lifecycle:
 *  1. `openLearnedModel(config)` serves the model through a ModelRepository (icuRiskModelTask):
 *     version folders, newest unless pinned, hot reload. Each version's manifest.json is validated
 *     (ModelManifestBase + the tabular-risk part; CONFIG_INVALID naming every bad field) and an
 *     onnxruntime-node session is opened on its ONNX artifact (CPU: the graph is a handful of
 *     element-wise ops and one MatMul). `loadIcuRiskModel(dir)` opens one folder directly.
 *  2. `score(features)` takes physical values keyed by dataset column (see `featuresFromSeries`),
 *     applies each input's optional linear `scale`, replaces missing values by the training
 *     median recorded in the manifest (and says which), and runs the graph
 *     (x - mean) / std → MatMul → Add → Sigmoid. Safe to call concurrently.
 *  3. `close()` releases the session; `score` after that fails with SHUTTING_DOWN. A model served
 *     by a repository is closed by the repository (its own `close()` does nothing).
 *
 * Column statistics follow the dataset's definitions: DIFF = MAX − MIN, DIFF_REL = DIFF / MEDIAN.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Ajv from 'ajv';
import * as ort from 'onnxruntime-node';
import { describeSchemaError } from '../../engine/config/json-schema';
import { EngineError } from '../../engine/errors';
import { fromProjectRoot } from '../../engine/paths';
import type { ModelManifestBase } from '../shared/model-manifest';
import { taskManifestSchema } from '../shared/runtime/manifest-validation';
import {
  ModelRepository,
  type ModelTask,
  type RepositoryLogger,
} from '../shared/runtime/model-repository';

// ---------------------------------------------------------------------------------------------
// Clinical variables → dataset columns.
// ---------------------------------------------------------------------------------------------

export type SeriesStat = 'MEAN' | 'MEDIAN' | 'MIN' | 'MAX' | 'DIFF' | 'DIFF_REL';
/** How an input column is derived from its source quantity. */
export type InputStat = SeriesStat | 'ABOVE65';

export interface ClinicalVariableSpec {
  /** Column prefix in the dataset, e.g. RESPIRATORY_RATE → RESPIRATORY_RATE_MEAN. */
  prefix: string;
  /** vitals carry MEAN/MEDIAN/MIN/MAX/DIFF/DIFF_REL columns; labs MEAN/MEDIAN/MIN/MAX/DIFF. */
  kind: 'vital' | 'lab';
  /** UCUM unit the values must be in. */
  unit: string;
  /** LOINC codes of FHIR Observations that carry this variable (first = preferred). */
  loinc: readonly string[];
  description: string;
}

export const CLINICAL_VARIABLES = {
  respiratoryRate: {
    prefix: 'RESPIRATORY_RATE',
    kind: 'vital',
    unit: '/min',
    loinc: ['9279-1'],
    description: 'Respiratory rate',
  },
  heartRate: {
    prefix: 'HEART_RATE',
    kind: 'vital',
    unit: '/min',
    loinc: ['8867-4'],
    description: 'Heart rate',
  },
  systolicBp: {
    prefix: 'BLOODPRESSURE_SISTOLIC',
    kind: 'vital',
    unit: 'mm[Hg]',
    loinc: ['8480-6'],
    description: 'Systolic blood pressure',
  },
  diastolicBp: {
    prefix: 'BLOODPRESSURE_DIASTOLIC',
    kind: 'vital',
    unit: 'mm[Hg]',
    loinc: ['8462-4'],
    description: 'Diastolic blood pressure',
  },
  temperature: {
    prefix: 'TEMPERATURE',
    kind: 'vital',
    unit: 'Cel',
    loinc: ['8310-5'],
    description: 'Body temperature',
  },
  spo2: {
    prefix: 'OXYGEN_SATURATION',
    kind: 'vital',
    unit: '%',
    loinc: ['59408-5', '2708-6'],
    description: 'Oxygen saturation (pulse oximetry)',
  },
  crp: {
    prefix: 'PCR',
    kind: 'lab',
    unit: 'mg/L',
    loinc: ['1988-5'],
    description: 'C-reactive protein, serum/plasma',
  },
  lymphocytes: {
    prefix: 'LINFOCITOS',
    kind: 'lab',
    unit: '10*3/uL',
    loinc: ['731-0', '26474-7'],
    description: 'Lymphocytes, absolute count, blood',
  },
  creatinine: {
    prefix: 'CREATININ',
    kind: 'lab',
    unit: 'mg/dL',
    loinc: ['2160-0'],
    description: 'Creatinine, serum/plasma',
  },
  platelets: {
    prefix: 'PLATELETS',
    kind: 'lab',
    unit: '10*3/uL',
    loinc: ['777-3', '26515-7'],
    description: 'Platelets, blood',
  },
  bilirubin: {
    prefix: 'BILLIRUBIN',
    kind: 'lab',
    unit: 'mg/dL',
    loinc: ['1975-2'],
    description: 'Bilirubin, total, serum/plasma',
  },
} as const satisfies Record<string, ClinicalVariableSpec>;

export type ClinicalVariable = keyof typeof CLINICAL_VARIABLES;
export const CLINICAL_VARIABLE_NAMES = Object.keys(CLINICAL_VARIABLES) as ClinicalVariable[];

export const VITAL_STATS: readonly SeriesStat[] = [
  'MEAN',
  'MEDIAN',
  'MIN',
  'MAX',
  'DIFF',
  'DIFF_REL',
];
export const LAB_STATS: readonly SeriesStat[] = ['MEAN', 'MEDIAN', 'MIN', 'MAX', 'DIFF'];

/** The age column: 1 when the patient is 65 or older (our reading of the dataset's "above 65"). */
export const AGE_COLUMN = 'AGE_ABOVE65';
export const AGE_LOINC = '30525-0';

export function ageAbove65(ageYears: number): 0 | 1 {
  return ageYears >= 65 ? 1 : 0;
}

export function statsOf(variable: ClinicalVariable): readonly SeriesStat[] {
  return CLINICAL_VARIABLES[variable].kind === 'vital' ? VITAL_STATS : LAB_STATS;
}

export function columnName(variable: ClinicalVariable, stat: SeriesStat): string {
  return `${CLINICAL_VARIABLES[variable].prefix}_${stat}`;
}

/** Where a dataset column comes from: AGE_ABOVE65, or a variable and statistic. */
export function describeColumn(
  column: string,
): { variable: ClinicalVariable | 'age'; stat: InputStat } | undefined {
  if (column === AGE_COLUMN) return { variable: 'age', stat: 'ABOVE65' };
  for (const variable of CLINICAL_VARIABLE_NAMES)
    for (const stat of statsOf(variable))
      if (columnName(variable, stat) === column) return { variable, stat };
  return undefined;
}

export interface SeriesPoint {
  value: number;
  /** epoch milliseconds; statistics do not depend on order, callers choose the window */
  at: number;
}

export interface SeriesStats {
  MEAN: number;
  MEDIAN: number;
  MIN: number;
  MAX: number;
  /** MAX − MIN */
  DIFF: number;
  /** DIFF / MEDIAN; undefined when MEDIAN is 0 (not defined by the dataset). */
  DIFF_REL: number | undefined;
}

/**
 * Summary statistics of one variable's values in a window, as the dataset defines them
 * (DIFF = max − min, DIFF_REL = diff / median; the median of an even count is the mean of the two
 * middle values). Throws VALIDATION_FAILED on an empty series or a non-finite value.
 */
export function seriesStats(values: readonly SeriesPoint[]): SeriesStats {
  if (values.length === 0)
    throw new EngineError('VALIDATION_FAILED', 'seriesStats: the series is empty');
  const sorted = values.map((p) => p.value).sort((a, b) => a - b);
  const bad = sorted.find((v) => !Number.isFinite(v));
  if (bad !== undefined)
    throw new EngineError('VALIDATION_FAILED', `seriesStats: non-finite value ${bad}`);
  const n = sorted.length;
  const mid = n >> 1;
  const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const min = sorted[0]!;
  const max = sorted[n - 1]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  const diff = max - min;
  return {
    MEAN: sum / n,
    MEDIAN: median,
    MIN: min,
    MAX: max,
    DIFF: diff,
    DIFF_REL: median === 0 ? undefined : diff / median,
  };
}

/**
 * Dataset columns from per-variable series in the units of CLINICAL_VARIABLES (respiratory rate
 * /min, SpO2 %, CRP mg/L, …) and the age in years: every MEAN/MEDIAN/MIN/MAX/DIFF(/DIFF_REL)
 * column of every variable, plus AGE_ABOVE65. A variable without values (or no age) gives
 * undefined columns, which the model imputes.
 */
export function featuresFromSeries(
  series: Partial<Record<ClinicalVariable, readonly SeriesPoint[]>>,
  ageYears?: number,
): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  out[AGE_COLUMN] =
    ageYears !== undefined && Number.isFinite(ageYears) ? ageAbove65(ageYears) : undefined;
  for (const variable of CLINICAL_VARIABLE_NAMES) {
    const points = series[variable] ?? [];
    const stats = points.length > 0 ? seriesStats(points) : undefined;
    for (const stat of statsOf(variable)) out[columnName(variable, stat)] = stats?.[stat];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The manifest.
// ---------------------------------------------------------------------------------------------

export interface InputSpec {
  /** Dataset column, e.g. RESPIRATORY_RATE_MEAN. */
  column: string;
  description: string;
  /** UCUM unit of the physical value score() takes. */
  unit: string;
  loinc: string[];
  stat: InputStat;
  /**
   * Optional linear map from physical units to the model's space: [min, max] → [-1, 1]
   * (the real dataset is min-max normalised this way). Absent: the model works in physical units.
   */
  scale?: { min: number; max: number };
  /** Training-set median, in the model's space (after `scale`), used when the value is missing. */
  imputeValue: number;
  /** Standardisation, in the model's space: z = (x − mean) / std. */
  mean: number;
  std: number;
  /** Logistic-regression weight of z (per training standard deviation). */
  coefficient: number;
}

/** The tabular-risk part of a model manifest, on top of ModelManifestBase. */
export interface IcuRiskManifest extends ModelManifestBase<'tabular-risk'> {
  /** What the probability is the probability of. */
  outcome: string;
  /** Ordered: the ONNX input's columns. */
  inputs: InputSpec[];
  /** logit = intercept + Σ coefficient_i · z_i */
  intercept: number;
  /** p < medium → low; medium ≤ p < high → medium; p ≥ high → high. */
  bands: { medium: number; high: number };
  artifacts: { onnx: string };
  onnx: { inputName: string; outputName: string; logitName?: string };
  /** Held-out metrics and training details (documentation; not read at run time). */
  heldOutMetrics?: Record<string, unknown>;
  training?: Record<string, unknown>;
}

const MANIFEST_SCHEMA = taskManifestSchema('tabular-risk', {
  required: ['outcome', 'inputs', 'intercept', 'bands', 'artifacts', 'onnx'],
  properties: {
    outcome: { type: 'string', minLength: 1 },
    inputs: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: [
          'column',
          'description',
          'unit',
          'loinc',
          'stat',
          'imputeValue',
          'mean',
          'std',
          'coefficient',
        ],
        properties: {
          column: { type: 'string', minLength: 1 },
          description: { type: 'string' },
          unit: { type: 'string', minLength: 1 },
          loinc: { type: 'array', items: { type: 'string', pattern: '^[0-9]+-[0-9]$' } },
          stat: { enum: ['MEAN', 'MEDIAN', 'MIN', 'MAX', 'DIFF', 'DIFF_REL', 'ABOVE65'] },
          scale: {
            type: 'object',
            additionalProperties: false,
            required: ['min', 'max'],
            properties: { min: { type: 'number' }, max: { type: 'number' } },
          },
          imputeValue: { type: 'number' },
          mean: { type: 'number' },
          std: { type: 'number', exclusiveMinimum: 0 },
          coefficient: { type: 'number' },
        },
      },
    },
    intercept: { type: 'number' },
    bands: {
      type: 'object',
      additionalProperties: false,
      required: ['medium', 'high'],
      properties: {
        medium: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
        high: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
      },
    },
    artifacts: {
      type: 'object',
      additionalProperties: false,
      required: ['onnx'],
      properties: { onnx: { type: 'string', minLength: 1 } },
    },
    onnx: {
      type: 'object',
      additionalProperties: false,
      required: ['inputName', 'outputName'],
      properties: {
        inputName: { type: 'string', minLength: 1 },
        outputName: { type: 'string', minLength: 1 },
        logitName: { type: 'string', minLength: 1 },
      },
    },
    heldOutMetrics: { type: 'object' },
    training: { type: 'object' },
  },
});

let compiled: ReturnType<Ajv['compile']> | undefined;

/** Validates a parsed tabular-risk manifest.json; CONFIG_INVALID naming the file and every bad field. */
export function validateIcuRiskManifest(raw: unknown, file: string): IcuRiskManifest {
  compiled ??= new Ajv({ allErrors: true, strict: true }).compile(MANIFEST_SCHEMA);
  const problems: string[] = [];
  if (!compiled(raw))
    problems.push(
      ...(compiled.errors ?? []).map((e) => {
        const p = describeSchemaError(
          e,
          { unknownProperty: 'unknown field', rootField: '(root)' },
          { value: raw },
        );
        return `${p.field}: ${p.message}`;
      }),
    );
  else {
    const m = raw as IcuRiskManifest;
    const seen = new Set<string>();
    m.inputs.forEach((input, i) => {
      if (seen.has(input.column))
        problems.push(`inputs.${i}.column: duplicate column '${input.column}'`);
      seen.add(input.column);
      if (input.scale && !(input.scale.max > input.scale.min))
        problems.push(
          `inputs.${i}.scale: max (${input.scale.max}) must be above min (${input.scale.min})`,
        );
    });
    if (!(m.bands.medium < m.bands.high))
      problems.push(`bands: medium (${m.bands.medium}) must be below high (${m.bands.high})`);
    const a = m.artifacts.onnx;
    if (a.startsWith('/') || a.split(/[\\/]/).includes('..'))
      problems.push(`artifacts.onnx: must be a path inside the version folder (got '${a}')`);
  }
  if (problems.length > 0)
    throw new EngineError(
      'CONFIG_INVALID',
      `invalid risk-model manifest ${file}:\n  - ${problems.join('\n  - ')}`,
      { details: { file, problems } },
    );
  return raw as IcuRiskManifest;
}

// ---------------------------------------------------------------------------------------------
// Scoring.
// ---------------------------------------------------------------------------------------------

export type RiskBand = 'low' | 'medium' | 'high';

export interface IcuRiskScore {
  probability: number;
  band: RiskBand;
  /** Physical value used per input column (the training median where it was missing). */
  used: Record<string, number>;
  /** One line per imputed column, e.g. "PCR_MEDIAN (imputed 12.3 mg/L, training median)". */
  imputed: string[];
}

export interface IcuRiskModel {
  readonly name: string;
  readonly version: string;
  /** `name@version`, the name every result carries. */
  readonly ref: string;
  readonly syntheticTrainingData: boolean;
  readonly disclaimer: string | undefined;
  readonly inputs: readonly InputSpec[];
  readonly manifest: IcuRiskManifest;
  score(features: Record<string, number | undefined>): Promise<IcuRiskScore>;
  close(): Promise<void>;
}

export interface PreparedFeatures {
  /** The ONNX input row: model-space values (scaled, imputed), in `inputs` order. */
  vector: Float32Array;
  used: Record<string, number>;
  imputed: string[];
}

/** model space → physical units (inverse of `scale`). */
export function toPhysical(input: InputSpec, x: number): number {
  return input.scale ? input.scale.min + ((x + 1) / 2) * (input.scale.max - input.scale.min) : x;
}

/** physical units → model space (`scale`: [min, max] → [-1, 1]). */
export function toModelSpace(input: InputSpec, v: number): number {
  return input.scale ? (2 * (v - input.scale.min)) / (input.scale.max - input.scale.min) - 1 : v;
}

const roundForDisplay = (v: number) => Number(v.toPrecision(4));

/** Scales, imputes and orders one feature record for the model (pure; used by score()). */
export function prepareFeatures(
  inputs: readonly InputSpec[],
  features: Record<string, number | undefined>,
): PreparedFeatures {
  const vector = new Float32Array(inputs.length);
  const used: Record<string, number> = {};
  const imputed: string[] = [];
  inputs.forEach((input, i) => {
    const v = features[input.column];
    if (v === undefined || !Number.isFinite(v)) {
      const physical = toPhysical(input, input.imputeValue);
      vector[i] = input.imputeValue;
      used[input.column] = physical;
      imputed.push(
        `${input.column} (imputed ${roundForDisplay(physical)} ${input.unit}, training median)`,
      );
    } else {
      vector[i] = toModelSpace(input, v);
      used[input.column] = v;
    }
  });
  return { vector, used, imputed };
}

export function bandOf(probability: number, bands: IcuRiskManifest['bands']): RiskBand {
  return probability >= bands.high ? 'high' : probability >= bands.medium ? 'medium' : 'low';
}

/**
 * The same model in plain double-precision arithmetic from the manifest's coefficients (no ONNX):
 * the reference the ONNX graph is tested against.
 */
export function scoreWithCoefficients(
  manifest: Pick<IcuRiskManifest, 'inputs' | 'intercept'>,
  modelSpaceVector: ArrayLike<number>,
): { logit: number; probability: number } {
  let logit = manifest.intercept;
  manifest.inputs.forEach((input, i) => {
    logit += (input.coefficient * (modelSpaceVector[i]! - input.mean)) / input.std;
  });
  return { logit, probability: 1 / (1 + Math.exp(-logit)) };
}

export interface LoadIcuRiskModelOptions {
  /** onnxruntime execution providers (default ['cpu']). */
  executionProviders?: string[];
}

/**
 * How a ModelRepository serves tabular-risk models (`task: "tabular-risk"`): manifests checked by
 * validateIcuRiskManifest, runtimes from openIcuRiskModel. The repository resolves the version
 * (newest unless pinned), reloads new versions while running, and closes replaced ones.
 */
export function icuRiskModelTask(
  options: LoadIcuRiskModelOptions = {},
): ModelTask<IcuRiskManifest, IcuRiskModel> {
  return {
    task: 'tabular-risk',
    validate: (raw, file, expected) => {
      const manifest = validateIcuRiskManifest(raw, file);
      const problems: string[] = [];
      if (manifest.name !== expected.name)
        problems.push(
          `name: must equal the model folder name '${expected.name}' (got '${manifest.name}')`,
        );
      if (manifest.version !== expected.version)
        problems.push(
          `version: must equal the version folder name '${expected.version}' (got '${manifest.version}')`,
        );
      if (problems.length > 0)
        throw new EngineError(
          'CONFIG_INVALID',
          `invalid risk-model manifest ${file}:\n  - ${problems.join('\n  - ')}`,
          { details: { file, problems } },
        );
      return { manifest, warnings: [] };
    },
    artifacts: (manifest) => [manifest.artifacts.onnx],
    load: (dir, manifest) => openIcuRiskModel(dir, manifest, options),
    serve: (inner, track) => ({
      name: inner.name,
      version: inner.version,
      ref: inner.ref,
      syntheticTrainingData: inner.syntheticTrainingData,
      disclaimer: inner.disclaimer,
      inputs: inner.inputs,
      manifest: inner.manifest,
      score: (features) => track(() => inner.score(features)),
      close: async () => {},
    }),
    dispose: (inner) => inner.close(),
    describe: () => ({
      runtime: 'onnx',
      backend: (options.executionProviders ?? ['cpu']).join(','),
      device: 'cpu',
    }),
  };
}

/** The learned model processors/icu-risk scores with, as ModelRepository serves it. */
export interface LearnedModelSource {
  /** The version served now (the newest, or the pinned one); a newer version replaces it while running. */
  current(): Promise<IcuRiskModel>;
  close(): Promise<void>;
}

/**
 * Opens a ModelRepository of tabular-risk models under `modelsDir` (relative to the project root)
 * and loads `name` once, so that a missing or invalid model fails at start.
 */
export async function openLearnedModel(
  config: { modelsDir: string; name: string; version: string },
  logger?: RepositoryLogger,
): Promise<LearnedModelSource> {
  const repository = await ModelRepository.open({
    root: fromProjectRoot(config.modelsDir),
    task: icuRiskModelTask(),
    pins: config.version ? { [config.name]: config.version } : {},
    logger,
  });
  const current = async () => (await repository.get(config.name)).runtime;
  try {
    await current();
  } catch (err) {
    await repository.close();
    throw err;
  }
  return { current, close: () => repository.close() };
}

/**
 * Loads `dir/manifest.json` and its ONNX graph, outside any repository (training checks what
 * it wrote, tests). CONFIG_INVALID / NOT_FOUND / PROCESSING_FAILED.
 */
export async function loadIcuRiskModel(
  dir: string,
  options: LoadIcuRiskModelOptions = {},
): Promise<IcuRiskModel> {
  const manifestPath = join(dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (err) {
    throw new EngineError('NOT_FOUND', `cannot read ${manifestPath}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new EngineError(
      'CONFIG_INVALID',
      `invalid risk-model manifest ${manifestPath}: not valid JSON (${(err as Error).message})`,
      { cause: err },
    );
  }
  return openIcuRiskModel(dir, validateIcuRiskManifest(raw, manifestPath), options);
}

/** Opens the ONNX graph of a validated manifest in `dir`. NOT_FOUND / PROCESSING_FAILED / CONFIG_INVALID. */
export async function openIcuRiskModel(
  dir: string,
  manifest: IcuRiskManifest,
  { executionProviders = ['cpu'] }: LoadIcuRiskModelOptions = {},
): Promise<IcuRiskModel> {
  const ref = `${manifest.name}@${manifest.version}`;
  const onnxPath = join(dir, manifest.artifacts.onnx);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(onnxPath);
  } catch (err) {
    throw new EngineError(
      'NOT_FOUND',
      `${ref}: cannot read ${onnxPath}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders });
  } catch (err) {
    throw new EngineError(
      'PROCESSING_FAILED',
      `${ref}: cannot create ONNX session on ${onnxPath}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const { inputName, outputName } = manifest.onnx;
  if (!session.inputNames.includes(inputName) || !session.outputNames.includes(outputName)) {
    await session.release();
    throw new EngineError(
      'CONFIG_INVALID',
      `${ref}: ${onnxPath} has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]; the manifest names input '${inputName}' and output '${outputName}'`,
    );
  }
  const width = manifest.inputs.length;
  let closed = false;

  return {
    name: manifest.name,
    version: manifest.version,
    ref,
    syntheticTrainingData: manifest.syntheticTrainingData,
    disclaimer: manifest.disclaimer,
    inputs: manifest.inputs,
    manifest,
    async score(features) {
      if (closed) throw new EngineError('SHUTTING_DOWN', `${ref} is closed`, { retriable: true });
      const prepared = prepareFeatures(manifest.inputs, features);
      let probability: number;
      try {
        const result = await session.run({
          [inputName]: new ort.Tensor('float32', prepared.vector, [1, width]),
        });
        probability = Number((result[outputName] as ort.Tensor).data[0]);
      } catch (err) {
        throw new EngineError(
          'PROCESSING_FAILED',
          `${ref}: scoring failed: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      return {
        probability,
        band: bandOf(probability, manifest.bands),
        used: prepared.used,
        imputed: prepared.imputed,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await session.release();
    },
  };
}
