/**
 * Trains the ICU-admission risk model (an L2-regularised logistic regression) from a CSV in the
 * column layout of the Sírio-Libanês COVID-19 ICU dataset and writes a model folder that
 * processors/icu-risk/learned-model.ts serves: model.onnx, manifest.json (task "tabular-risk"),
 * metrics.json and MODEL_CARD.md.
 *
 *   medstream train icu-risk --synthetic-cohort 4000            # the shipped icu-risk-demo model
 *   medstream train icu-risk --csv Kaggle_Sirio_Libanes_ICU_Prediction.csv --scales scales.json
 *   node dist/models/training/icu-risk/train-icu-risk.js --synthetic-cohort 4000
 *
 * Options: --csv FILE, --synthetic-cohort N (generate N synthetic patients with cohort.ts, write
 * them to --csv or a temporary file, and train on them), --out DIR (default
 * models/<name>/<version>), --name (default icu-risk-demo for a synthetic cohort, else icu-risk),
 * --version (default 1.0.0), --seed (cohort seed; the patient split uses seed + 1),
 * --held-out F (share of patients held out, default 0.25), --l2 λ, --scales FILE (JSON
 * { COLUMN: { min, max } }: the physical range each column of the CSV was min-max normalised
 * from onto [-1, 1]; the real file is normalised, with ranges it does not publish).
 *
 * Method: one example per patient window BEFORE ICU admission (rows with ICU = 1 are dropped),
 * labelled 1 when the patient is admitted to the ICU in a later window. Patients, not rows, are
 * split into training and held-out sets (stratified by outcome). Missing values are replaced by
 * the training-set median, features standardised with the training mean and SD, and the model
 * fitted by Newton–Raphson (IRLS) on the penalised log-likelihood; deterministic end to end.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { onnx } from 'onnx-proto';
import { EngineError } from '../../../engine/errors';
import { projectRoot } from '../../../engine/paths';
import { floatTensor, valueInfo } from '../onnx/export-layers-model';
import {
  AGE_COLUMN,
  AGE_LOINC,
  bandOf,
  CLINICAL_VARIABLES,
  describeColumn,
  type IcuRiskManifest,
  type InputSpec,
  loadIcuRiskModel,
  scoreWithCoefficients,
  toPhysical,
} from '../../../processors/icu-risk/learned-model';
import { createRng, type Rng } from '../phantom';
import { type CohortSummary, writeCohortCsv } from './cohort';

// ---------------------------------------------------------------------------------------------
// CSV.
// ---------------------------------------------------------------------------------------------

/**
 * RFC 4180 CSV: comma-separated, fields optionally in double quotes (a quote inside doubled),
 * quoted fields may hold commas and line breaks; LF or CRLF line ends; a UTF-8 BOM is ignored.
 * Blank lines are skipped. Returns the records as arrays of strings ('' for an empty cell).
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let fieldStarted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = () => {
    record.push(field);
    if (!(record.length === 1 && record[0] === '' && !fieldStarted)) records.push(record);
    record = [];
    field = '';
    fieldStarted = false;
  };
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') {
      quoted = true;
      fieldStarted = true;
    } else if (c === ',') {
      record.push(field);
      field = '';
      fieldStarted = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
    } else {
      field += c;
      fieldStarted = true;
    }
  }
  if (quoted) throw new Error('CSV: unterminated quoted field at the end of the file');
  if (field !== '' || fieldStarted || record.length > 0) endRecord();
  return records;
}

export interface CsvTable {
  header: string[];
  rows: string[][];
  /** column name → index */
  index: Map<string, number>;
}

/** Header + rows; every row must have as many cells as the header. */
export function csvTable(text: string, source = 'CSV'): CsvTable {
  const [header, ...rows] = parseCsv(text);
  if (!header) throw new Error(`${source}: empty file`);
  const names = header.map((h) => h.trim());
  rows.forEach((row, i) => {
    if (row.length !== names.length)
      throw new Error(
        `${source}: record ${i + 2} has ${row.length} cells, the header has ${names.length}`,
      );
  });
  return { header: names, rows, index: new Map(names.map((h, i) => [h, i])) };
}

// ---------------------------------------------------------------------------------------------
// Examples.
// ---------------------------------------------------------------------------------------------

/**
 * The model's inputs, in order: age, the window means of the six vitals (respiratory rate, heart
 * rate, systolic and diastolic pressure, temperature, SpO2) and the window medians of the five
 * labs of inflammation and organ dysfunction (CRP, lymphocytes, creatinine, platelets,
 * bilirubin). Means and medians rather than MIN / MAX / DIFF: those grow with the number of
 * readings in a window, and longer, later windows (more readings) are the ones that can no
 * longer be followed by an admission, so the extremes would partly encode the window length;
 * beside the mean they also fit with flipped signs (collinearity).
 */
export const FEATURE_COLUMNS: readonly string[] = [
  'AGE_ABOVE65',
  'RESPIRATORY_RATE_MEAN',
  'HEART_RATE_MEAN',
  'BLOODPRESSURE_SISTOLIC_MEAN',
  'BLOODPRESSURE_DIASTOLIC_MEAN',
  'TEMPERATURE_MEAN',
  'OXYGEN_SATURATION_MEAN',
  'PCR_MEDIAN',
  'LINFOCITOS_MEDIAN',
  'CREATININ_MEDIAN',
  'PLATELETS_MEDIAN',
  'BILLIRUBIN_MEDIAN',
];

export interface Examples {
  columns: readonly string[];
  /** per example: its patient */
  patient: string[];
  /** per example: WINDOW ('' when the CSV has none) */
  window: string[];
  /** per example, per column; undefined = missing */
  x: (number | undefined)[][];
  /** 1 = the patient is admitted to the ICU in a later window */
  y: number[];
  patients: number;
  admittedPatients: number;
  /** rows dropped because ICU = 1 (at or after admission) */
  droppedIcuRows: number;
  /** admitted patients with no row before admission (admitted in their first window) */
  admittedWithoutExample: number;
}

/**
 * Examples from the table: rows with ICU = 1 are dropped (at or after admission; the real file
 * carries the admission window's own measurements in that row), every other row is labelled
 * with its patient's outcome.
 */
export function buildExamples(
  table: CsvTable,
  columns: readonly string[] = FEATURE_COLUMNS,
  source = 'CSV',
): Examples {
  const required = ['PATIENT_VISIT_IDENTIFIER', 'ICU', ...columns];
  const missing = required.filter((c) => !table.index.has(c));
  if (missing.length > 0) throw new Error(`${source}: missing columns ${missing.join(', ')}`);
  const idAt = table.index.get('PATIENT_VISIT_IDENTIFIER')!;
  const icuAt = table.index.get('ICU')!;
  const windowAt = table.index.get('WINDOW');
  const featureAt = columns.map((c) => table.index.get(c)!);

  const admitted = new Set<string>();
  const patients = new Set<string>();
  table.rows.forEach((row, r) => {
    const id = row[idAt]!.trim();
    if (id === '') throw new Error(`${source}: record ${r + 2} has no PATIENT_VISIT_IDENTIFIER`);
    patients.add(id);
    const icu = row[icuAt]!.trim();
    if (icu !== '0' && icu !== '1')
      throw new Error(`${source}: record ${r + 2}: ICU must be 0 or 1 (got '${icu}')`);
    if (icu === '1') admitted.add(id);
  });

  const out: Examples = {
    columns,
    patient: [],
    window: [],
    x: [],
    y: [],
    patients: patients.size,
    admittedPatients: admitted.size,
    droppedIcuRows: 0,
    admittedWithoutExample: 0,
  };
  const withExample = new Set<string>();
  table.rows.forEach((row, r) => {
    if (row[icuAt]!.trim() === '1') {
      out.droppedIcuRows += 1;
      return;
    }
    const id = row[idAt]!.trim();
    withExample.add(id);
    out.patient.push(id);
    out.window.push(windowAt === undefined ? '' : row[windowAt]!.trim());
    out.x.push(
      featureAt.map((at, k) => {
        const cell = row[at]!.trim();
        if (cell === '') return undefined;
        const v = Number(cell);
        if (!Number.isFinite(v))
          throw new Error(
            `${source}: record ${r + 2}, column ${columns[k]}: '${cell}' is not a number`,
          );
        return v;
      }),
    );
    out.y.push(admitted.has(id) ? 1 : 0);
  });
  for (const id of admitted) if (!withExample.has(id)) out.admittedWithoutExample += 1;
  return out;
}

/**
 * Held-out patients: a seeded shuffle of each outcome group (sorted ids first, so the split does
 * not depend on row order), taking round(fraction · n) of each.
 */
export function splitPatients(
  examples: Pick<Examples, 'patient' | 'y'>,
  heldOutFraction: number,
  seed: number,
): Set<string> {
  if (!(heldOutFraction > 0 && heldOutFraction < 1))
    throw new RangeError(`heldOutFraction must be in (0, 1) (got ${heldOutFraction})`);
  const outcome = new Map<string, number>();
  examples.patient.forEach((id, i) => outcome.set(id, examples.y[i]!));
  const rng = createRng(seed);
  const heldOut = new Set<string>();
  for (const label of [0, 1]) {
    const ids = [...outcome.keys()].filter((id) => outcome.get(id) === label).sort();
    shuffle(ids, rng);
    ids.slice(0, Math.round(heldOutFraction * ids.length)).forEach((id) => heldOut.add(id));
  }
  return heldOut;
}

function shuffle<T>(items: T[], rng: Rng): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// ---------------------------------------------------------------------------------------------
// Logistic regression.
// ---------------------------------------------------------------------------------------------

export interface LogisticFit {
  intercept: number;
  coefficients: number[];
  iterations: number;
  converged: boolean;
  /** penalised negative log-likelihood at the solution */
  objective: number;
}

/**
 * Minimises −Σ log-likelihood + (l2 / 2)·‖w‖² (the intercept is not penalised) by Newton–Raphson
 * (IRLS), starting from zero; stops when no parameter moves by more than `tolerance`.
 * Rows of `x` are the (standardised) features.
 */
export function fitLogisticRegression(
  x: readonly (readonly number[])[],
  y: readonly number[],
  { l2 = 1, maxIterations = 100, tolerance = 1e-10 } = {},
): LogisticFit {
  const n = x.length;
  const f = n > 0 ? x[0]!.length : 0;
  const d = f + 1; // parameter 0 = intercept
  const beta = new Array<number>(d).fill(0);
  let iterations = 0;
  let converged = false;
  const row = (i: number, j: number) => (j === 0 ? 1 : x[i]![j - 1]!);
  for (; iterations < maxIterations && !converged; iterations++) {
    const g = new Array<number>(d).fill(0);
    const h = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (let i = 0; i < n; i++) {
      let eta = beta[0]!;
      for (let j = 1; j < d; j++) eta += beta[j]! * row(i, j);
      const p = sigmoid(eta);
      const w = Math.max(p * (1 - p), 1e-12);
      const r = p - y[i]!;
      for (let a = 0; a < d; a++) {
        const xa = row(i, a);
        g[a]! += r * xa;
        for (let b = 0; b <= a; b++) h[a]![b]! += w * xa * row(i, b);
      }
    }
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < a; b++) h[b]![a] = h[a]![b]!;
      if (a > 0) {
        g[a]! += l2 * beta[a]!;
        h[a]![a]! += l2;
      }
    }
    const step = choleskySolve(h, g);
    let largest = 0;
    for (let a = 0; a < d; a++) {
      beta[a]! -= step[a]!;
      largest = Math.max(largest, Math.abs(step[a]!));
    }
    converged = largest < tolerance;
  }
  let objective = 0;
  for (let i = 0; i < n; i++) {
    let eta = beta[0]!;
    for (let j = 1; j < d; j++) eta += beta[j]! * row(i, j);
    objective += softplus(eta) - y[i]! * eta;
  }
  for (let j = 1; j < d; j++) objective += (l2 / 2) * beta[j]! ** 2;
  return { intercept: beta[0]!, coefficients: beta.slice(1), iterations, converged, objective };
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
const logit = (p: number) => {
  const q = Math.min(1 - 1e-15, Math.max(1e-15, p));
  return Math.log(q / (1 - q));
};

/** Solves A·x = b for symmetric positive-definite A. */
function choleskySolve(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length;
  const l = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= l[i]![k]! * l[j]![k]!;
      if (i === j) {
        if (!(s > 0)) throw new Error('logistic regression: the Hessian is not positive definite');
        l[i]![i] = Math.sqrt(s);
      } else l[i]![j] = s / l[j]![j]!;
    }
  const z = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i]![k]! * z[k]!;
    z[i] = s / l[i]![i]!;
  }
  const out = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k]![i]! * out[k]!;
    out[i] = s / l[i]![i]!;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Metrics.
// ---------------------------------------------------------------------------------------------

/** Area under the ROC curve (Mann–Whitney, ties count one half). NaN without both classes. */
export function auroc(scores: readonly number[], labels: readonly number[]): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  let rankSumPositive = 0;
  let positives = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const averageRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (labels[order[k]![1]] === 1) {
        rankSumPositive += averageRank;
        positives += 1;
      }
    i = j + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSumPositive - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Average precision (area under the precision–recall curve, step-wise as scikit-learn's
 * average_precision_score): Σ over distinct thresholds (R_k − R_{k−1}) · P_k.
 */
export function averagePrecision(scores: readonly number[], labels: readonly number[]): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]);
  const positives = labels.reduce((s, y) => s + (y === 1 ? 1 : 0), 0);
  if (positives === 0) return NaN;
  let tp = 0;
  let fp = 0;
  let previousRecall = 0;
  let ap = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]![1]] === 1) tp += 1;
      else fp += 1;
    }
    const recall = tp / positives;
    ap += (recall - previousRecall) * (tp / (tp + fp));
    previousRecall = recall;
    i = j + 1;
  }
  return ap;
}

export function brierScore(p: readonly number[], y: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += (p[i]! - y[i]!) ** 2;
  return s / p.length;
}

/**
 * Logistic recalibration on the logit of the predictions: `slope` from y ~ a + b·logit(p)
 * (1 = ideal; below 1 = predictions too extreme), `intercept` the calibration-in-the-large from
 * y ~ a + offset(logit(p)) (0 = ideal; above 0 = risk underestimated on average).
 */
export function calibration(
  p: readonly number[],
  y: readonly number[],
): { intercept: number; slope: number } {
  const lp = p.map(logit);
  const slope = fitLogisticRegression(
    lp.map((v) => [v]),
    y,
    { l2: 0 },
  ).coefficients[0]!;
  let a = 0;
  for (let it = 0; it < 100; it++) {
    let g = 0;
    let h = 0;
    for (let i = 0; i < lp.length; i++) {
      const q = sigmoid(a + lp[i]!);
      g += q - y[i]!;
      h += Math.max(q * (1 - q), 1e-12);
    }
    const step = g / h;
    a -= step;
    if (Math.abs(step) < 1e-12) break;
  }
  return { intercept: a, slope };
}

export interface ReliabilityBin {
  /** [from, to) (the last bin includes 1) */
  from: number;
  to: number;
  n: number;
  meanPredicted: number | null;
  observed: number | null;
}

/** Expected calibration error over `bins` equal-width bins: Σ (n_b / N)·|mean p − observed rate|. */
export function expectedCalibrationError(
  p: readonly number[],
  y: readonly number[],
  bins = 10,
): { ece: number; table: ReliabilityBin[] } {
  const sums = Array.from({ length: bins }, () => ({ n: 0, p: 0, y: 0 }));
  for (let i = 0; i < p.length; i++) {
    const b = Math.min(bins - 1, Math.floor(p[i]! * bins));
    sums[b]!.n += 1;
    sums[b]!.p += p[i]!;
    sums[b]!.y += y[i]!;
  }
  let ece = 0;
  const table = sums.map((s, b) => {
    if (s.n > 0) ece += (s.n / p.length) * Math.abs(s.p / s.n - s.y / s.n);
    return {
      from: b / bins,
      to: (b + 1) / bins,
      n: s.n,
      meanPredicted: s.n > 0 ? s.p / s.n : null,
      observed: s.n > 0 ? s.y / s.n : null,
    };
  });
  return { ece, table };
}

export interface HeldOutMetrics {
  rows: number;
  patients: number;
  positiveRows: number;
  prevalence: number;
  auroc: number;
  auprc: number;
  brier: number;
  calibrationIntercept: number;
  calibrationSlope: number;
  ece: number;
  reliability: ReliabilityBin[];
  bands: { band: string; n: number; observed: number | null }[];
}

export function evaluate(
  p: readonly number[],
  y: readonly number[],
  patients: number,
  bands: IcuRiskManifest['bands'],
): HeldOutMetrics {
  const positives = y.reduce((s, v) => s + v, 0);
  const cal = calibration(p, y);
  const { ece, table } = expectedCalibrationError(p, y, 10);
  const bandRows = (['low', 'medium', 'high'] as const).map((band) => {
    const members = p.map((v, i) => [v, y[i]!] as const).filter(([v]) => bandOf(v, bands) === band);
    return {
      band,
      n: members.length,
      observed: members.length > 0 ? members.reduce((s, [, t]) => s + t, 0) / members.length : null,
    };
  });
  return {
    rows: p.length,
    patients,
    positiveRows: positives,
    prevalence: positives / p.length,
    auroc: auroc(p, y),
    auprc: averagePrecision(p, y),
    brier: brierScore(p, y),
    calibrationIntercept: cal.intercept,
    calibrationSlope: cal.slope,
    ece,
    reliability: table,
    bands: bandRows,
  };
}

// ---------------------------------------------------------------------------------------------
// ONNX.
// ---------------------------------------------------------------------------------------------

/**
 * The ONNX graph of a standardised logistic regression: input `features` [N, F] (model space,
 * already imputed) → (x − mean) / std → MatMul W [F, 1] → Add b → `logit` [N, 1] → Sigmoid →
 * `probability` [N, 1]. Opset 13, IR 8.
 */
export function logisticRegressionToOnnx(m: {
  mean: readonly number[];
  std: readonly number[];
  coefficients: readonly number[];
  intercept: number;
  name: string;
}): Uint8Array {
  const f = m.mean.length;
  const node = (opType: string, input: string[], output: string): onnx.INodeProto => ({
    opType,
    name: `${opType}_${output}`,
    input,
    output: [output],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'medstream',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: m.name,
      node: [
        node('Sub', ['features', 'mean'], 'centred'),
        node('Div', ['centred', 'std'], 'standardised'),
        node('MatMul', ['standardised', 'weights'], 'weighted'),
        node('Add', ['weighted', 'intercept'], 'logit'),
        node('Sigmoid', ['logit'], 'probability'),
      ],
      initializer: [
        floatTensor('mean', [f], m.mean),
        floatTensor('std', [f], m.std),
        floatTensor('weights', [f, 1], m.coefficients),
        floatTensor('intercept', [1], [m.intercept]),
      ],
      input: [valueInfo({ name: 'features', shape: ['N', f] })],
      output: [
        valueInfo({ name: 'logit', shape: ['N', 1] }),
        valueInfo({ name: 'probability', shape: ['N', 1] }),
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

// ---------------------------------------------------------------------------------------------
// Training.
// ---------------------------------------------------------------------------------------------

export interface TrainIcuRiskOptions {
  csvPath: string;
  outDir: string;
  /** Model name (default: the name of outDir's parent folder). */
  name?: string;
  version: string;
  /** Seed of the patient split (and, for the record, of the synthetic cohort). */
  seed: number;
  /** Share of patients held out for evaluation (e.g. 0.25). */
  heldOutFraction: number;
  /** true when the CSV is a synthetic cohort (cohort.ts): the manifest and card say so. */
  synthetic: boolean;
  /** How the synthetic cohort was made, for the model card. */
  cohort?: { generator: string; patients: number; seed: number; summary: CohortSummary };
  /** L2 penalty on the standardised coefficients (default 1). */
  l2?: number;
  /** Probability cut-offs of the medium and high bands (default 0.15 / 0.40). */
  bands?: IcuRiskManifest['bands'];
  /** Per column: the physical range the CSV's values were min-max normalised from onto [-1, 1]. */
  scales?: Record<string, { min: number; max: number }>;
  onProgress?: (message: string) => void;
}

export interface TrainIcuRiskResult {
  manifest: IcuRiskManifest;
  heldOut: HeldOutMetrics;
  files: Record<string, number>;
  trainingSeconds: number;
  totalSeconds: number;
}

const DISCLAIMER = 'synthetic training data — not for clinical use';
const OUTCOME =
  'ICU admission later in the same hospital encounter, scored from a window before any ICU admission';

export async function trainIcuRisk(options: TrainIcuRiskOptions): Promise<TrainIcuRiskResult> {
  const t0 = performance.now();
  const log = options.onProgress ?? (() => undefined);
  const l2 = options.l2 ?? 1;
  const bands = options.bands ?? { medium: 0.15, high: 0.4 };
  const scales = options.scales ?? {};
  const name = options.name ?? basename(resolve(options.outDir, '..'));
  const columns = FEATURE_COLUMNS;
  for (const [column, scale] of Object.entries(scales)) {
    if (!columns.includes(column))
      throw new Error(`scales: '${column}' is not a model input (${columns.join(', ')})`);
    if (!(Number.isFinite(scale.min) && Number.isFinite(scale.max) && scale.max > scale.min))
      throw new Error(`scales.${column}: needs numbers min < max (got ${JSON.stringify(scale)})`);
  }

  log(`reading ${options.csvPath}`);
  const table = csvTable(readFileSync(options.csvPath, 'utf8'), options.csvPath);
  const examples = buildExamples(table, columns, options.csvPath);
  log(
    `${table.rows.length} rows, ${examples.patients} patients (${examples.admittedPatients} admitted); ` +
      `${examples.x.length} pre-admission examples, ${examples.droppedIcuRows} ICU rows dropped`,
  );
  const heldOutIds = splitPatients(examples, options.heldOutFraction, options.seed + 1);
  const trainIdx: number[] = [];
  const testIdx: number[] = [];
  examples.patient.forEach((id, i) => (heldOutIds.has(id) ? testIdx : trainIdx).push(i));
  const trainPatients = new Set(trainIdx.map((i) => examples.patient[i]!));
  if (trainIdx.length === 0 || testIdx.length === 0)
    throw new Error('too few patients for a training / held-out split');

  const warnings: string[] = [];
  const looksNormalised = columns.every(
    (c, k) =>
      c === AGE_COLUMN ||
      examples.x.every((row) => row[k] === undefined || (row[k]! >= -1 && row[k]! <= 1)),
  );
  if (looksNormalised && Object.keys(scales).length === 0) {
    const w =
      'every input lies in [-1, 1]: the CSV looks min-max normalised, but no scales were given, so ' +
      'the model expects normalised values and will score physical units wrongly (pass --scales)';
    warnings.push(w);
    log(`WARNING: ${w}`);
  }

  // Impute (training median), standardise (training mean / SD).
  const missingTrain = columns.map(
    (_, k) => trainIdx.filter((i) => examples.x[i]![k] === undefined).length,
  );
  const missingTest = columns.map(
    (_, k) => testIdx.filter((i) => examples.x[i]![k] === undefined).length,
  );
  const imputeValue = columns.map((c, k) => {
    const m = median(
      trainIdx.map((i) => examples.x[i]![k]).filter((v): v is number => v !== undefined),
    );
    if (!Number.isFinite(m)) throw new Error(`column ${c} has no value in the training split`);
    return m;
  });
  const filled = (i: number) => examples.x[i]!.map((v, k) => v ?? imputeValue[k]!);
  const trainFilled = trainIdx.map(filled);
  const mean = columns.map(
    (_, k) => trainFilled.reduce((s, r) => s + r[k]!, 0) / trainFilled.length,
  );
  const std = columns.map((_, k) => {
    const v = trainFilled.reduce((s, r) => s + (r[k]! - mean[k]!) ** 2, 0) / trainFilled.length;
    return v > 0 ? Math.sqrt(v) : 1;
  });
  const standardise = (r: number[]) => r.map((v, k) => (v - mean[k]!) / std[k]!);

  log(`fitting on ${trainIdx.length} examples (${trainPatients.size} patients), λ = ${l2}`);
  const tFit = performance.now();
  const fit = fitLogisticRegression(
    trainFilled.map(standardise),
    trainIdx.map((i) => examples.y[i]!),
    { l2 },
  );
  const trainingSeconds = (performance.now() - tFit) / 1000;
  if (!fit.converged)
    throw new Error(`logistic regression did not converge in ${fit.iterations} iterations`);
  log(`converged in ${fit.iterations} Newton steps (${trainingSeconds.toFixed(3)} s)`);

  const inputs: InputSpec[] = columns.map((column, k) => {
    const described = describeColumn(column);
    if (!described) throw new Error(`internal: no description of column ${column}`);
    const v = described.variable === 'age' ? undefined : CLINICAL_VARIABLES[described.variable];
    return {
      column,
      description:
        described.variable === 'age'
          ? '1 when the patient is 65 years or older (age from Patient.birthDate), else 0'
          : `${v!.description}, ${described.stat.toLowerCase()} over the window`,
      unit: v ? v.unit : 'a',
      loinc: v ? [...v.loinc] : [AGE_LOINC],
      stat: described.stat,
      ...(scales[column] ? { scale: scales[column] } : {}),
      imputeValue: imputeValue[k]!,
      mean: mean[k]!,
      std: std[k]!,
      coefficient: fit.coefficients[k]!,
    };
  });

  const predict = (i: number) =>
    scoreWithCoefficients({ inputs, intercept: fit.intercept }, filled(i)).probability;
  const heldOut = evaluate(
    testIdx.map(predict),
    testIdx.map((i) => examples.y[i]!),
    heldOutIds.size,
    bands,
  );
  const trainMetrics = {
    auroc: auroc(
      trainIdx.map(predict),
      trainIdx.map((i) => examples.y[i]!),
    ),
  };
  log(
    `held-out: AUROC ${heldOut.auroc.toFixed(3)}, AUPRC ${heldOut.auprc.toFixed(3)}, Brier ${heldOut.brier.toFixed(4)}, ` +
      `calibration slope ${heldOut.calibrationSlope.toFixed(3)} intercept ${heldOut.calibrationIntercept.toFixed(3)}, ECE ${heldOut.ece.toFixed(4)}`,
  );

  const { reliability: _reliability, ...headline } = heldOut;
  const manifest: IcuRiskManifest = {
    name,
    version: options.version,
    task: 'tabular-risk',
    outcome: OUTCOME,
    syntheticTrainingData: options.synthetic,
    ...(options.synthetic ? { disclaimer: DISCLAIMER } : {}),
    inputs,
    intercept: fit.intercept,
    bands,
    artifacts: { onnx: 'model.onnx' },
    onnx: { inputName: 'features', outputName: 'probability', logitName: 'logit' },
    heldOutMetrics: round(headline) as Record<string, unknown>,
    training: {
      data: options.synthetic
        ? `synthetic cohort (${options.cohort?.generator ?? 'models/training/icu-risk/cohort.ts'}${options.cohort ? `, ${options.cohort.patients} patients, seed ${options.cohort.seed}` : ''})`
        : basename(options.csvPath),
      method: `logistic regression, L2 λ = ${l2} on standardised inputs (intercept unpenalised), Newton–Raphson`,
      split: `by patient, stratified by outcome, ${options.heldOutFraction} held out, seed ${options.seed + 1}`,
      trainingExamples: trainIdx.length,
      trainingPatients: trainPatients.size,
      ...(warnings.length > 0 ? { warnings } : {}),
    },
  };

  mkdirSync(options.outDir, { recursive: true });
  writeFileSync(
    join(options.outDir, 'model.onnx'),
    logisticRegressionToOnnx({
      mean,
      std,
      coefficients: fit.coefficients,
      intercept: fit.intercept,
      name,
    }),
  );
  await writeFormatted(join(options.outDir, 'manifest.json'), JSON.stringify(manifest, null, 2));

  // The served path (scale, impute, ONNX in float32) against plain double arithmetic.
  log('checking the ONNX graph against the coefficients on the held-out examples');
  const served = await loadIcuRiskModel(options.outDir);
  let parity = 0;
  try {
    for (const i of testIdx) {
      const record: Record<string, number | undefined> = {};
      columns.forEach((c, k) => {
        const v = examples.x[i]![k];
        record[c] = v === undefined ? undefined : toPhysical(inputs[k]!, v);
      });
      const { probability } = await served.score(record);
      parity = Math.max(parity, Math.abs(probability - predict(i)));
    }
  } finally {
    await served.close();
  }
  if (!(parity < 1e-5)) throw new Error(`ONNX and coefficient probabilities differ by ${parity}`);

  const totalSeconds = (performance.now() - t0) / 1000;
  const files = ['model.onnx', 'manifest.json'];
  const sizes = Object.fromEntries(files.map((f) => [f, statSync(join(options.outDir, f)).size]));
  const metrics: CardMetrics = {
    model: `${name}@${options.version}`,
    synthetic: options.synthetic,
    csv: options.synthetic ? '(synthetic cohort, not kept)' : basename(options.csvPath),
    ...(options.cohort ? { cohort: options.cohort } : {}),
    examples: {
      patients: examples.patients,
      admittedPatients: examples.admittedPatients,
      admittedWithoutExample: examples.admittedWithoutExample,
      droppedIcuRows: examples.droppedIcuRows,
      examples: examples.x.length,
      trainExamples: trainIdx.length,
      trainPatients: trainPatients.size,
      trainPositives: trainIdx.reduce((s, i) => s + examples.y[i]!, 0),
      heldOutExamples: testIdx.length,
      heldOutPatients: heldOutIds.size,
    },
    missing: Object.fromEntries(
      columns.map((c, k) => [
        c,
        { train: missingTrain[k]! / trainIdx.length, heldOut: missingTest[k]! / testIdx.length },
      ]),
    ),
    fit: {
      l2,
      iterations: fit.iterations,
      objective: fit.objective,
      trainingSeconds,
      trainAuroc: trainMetrics.auroc,
    },
    heldOut,
    onnxParityMaxAbsProbability: parity,
    seeds: { split: options.seed + 1, ...(options.cohort ? { cohort: options.cohort.seed } : {}) },
    heldOutFraction: options.heldOutFraction,
    node: process.version,
    totalSeconds,
    fileSizes: sizes,
    warnings,
  };
  await writeFormatted(
    join(options.outDir, 'metrics.json'),
    JSON.stringify(round(metrics), null, 2),
  );
  await writeFormatted(join(options.outDir, 'MODEL_CARD.md'), modelCard(manifest, round(metrics)));
  log(`wrote ${options.outDir} in ${totalSeconds.toFixed(1)} s`);
  return { manifest, heldOut, files: sizes, trainingSeconds, totalSeconds };
}

/** Numbers rounded to 6 significant digits for the JSON and the card (the manifest's parameters are not). */
function round<T>(value: T): T {
  if (typeof value === 'number')
    return (
      Number.isInteger(value) || !Number.isFinite(value) ? value : Number(value.toPrecision(6))
    ) as T;
  if (Array.isArray(value)) return value.map(round) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, round(v)])) as T;
  return value;
}

/** Formats with the project's prettier config when prettier is installed (a dev dependency). */
async function writeFormatted(path: string, text: string): Promise<void> {
  let out = text.endsWith('\n') ? text : `${text}\n`;
  try {
    const prettier = await import('prettier');
    const config = (await prettier.resolveConfig(path)) ?? {};
    out = await prettier.format(text, { ...config, filepath: basename(path) });
  } catch {
    /* prettier is a dev dependency: unformatted is fine */
  }
  writeFileSync(path, out);
}

// ---------------------------------------------------------------------------------------------
// Model card.
// ---------------------------------------------------------------------------------------------

interface CardMetrics {
  model: string;
  synthetic: boolean;
  csv: string;
  cohort?: TrainIcuRiskOptions['cohort'];
  examples: {
    patients: number;
    admittedPatients: number;
    admittedWithoutExample: number;
    droppedIcuRows: number;
    examples: number;
    trainExamples: number;
    trainPatients: number;
    trainPositives: number;
    heldOutExamples: number;
    heldOutPatients: number;
  };
  missing: Record<string, { train: number; heldOut: number }>;
  fit: {
    l2: number;
    iterations: number;
    objective: number;
    trainingSeconds: number;
    trainAuroc: number;
  };
  heldOut: HeldOutMetrics;
  onnxParityMaxAbsProbability: number;
  seeds: { split: number; cohort?: number };
  heldOutFraction: number;
  node: string;
  totalSeconds: number;
  fileSizes: Record<string, number>;
  warnings: string[];
}

const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)} %`);
const num = (x: number, digits = 3) => x.toFixed(digits);
const sig = (x: number) => String(Number(x.toPrecision(4)));

function modelCard(m: IcuRiskManifest, c: CardMetrics): string {
  const h = c.heldOut;
  const synthetic = c.synthetic;
  const header = synthetic
    ? `**${DISCLAIMER}.**
This model was trained only on a computer-generated cohort. It has never seen a real patient, says
nothing about real patients, and its probabilities mean nothing for one. It exists to exercise
medstream's ICU-risk pipeline (FHIR Observations → series → features → score) end to end.`
    : `Trained on \`${c.csv}\`. Validate it locally before any use; see Limitations.`;
  const data = synthetic
    ? `A synthetic cohort of ${c.cohort?.patients ?? '?'} patients generated by
\`${c.cohort?.generator ?? 'models/training/icu-risk/cohort.ts'}\` with seed ${c.cohort?.seed ?? '?'}, in the column layout
of the public Sírio-Libanês COVID-19 ICU dataset (Kaggle "COVID-19 - Clinical Data to assess
diagnosis", \`Kaggle_Sirio_Libanes_ICU_Prediction.csv\`) but in physical units. Each patient has
a latent severity (rising with age, male sex, and a random trend over the stay) that drives two
axes — respiratory failure (lower SpO2, higher respiratory rate) and inflammation / sepsis-like
physiology (CRP, heart rate, fever, lower blood pressure, lymphocytes and platelets, higher
creatinine and bilirubin) — over five windows (0-2, 2-4, 4-6, 6-12, ABOVE_12 hours); a patient
is admitted to the ICU at the first window where severity crosses a threshold, and ICU = 1 from
then on. ${pct(c.cohort?.summary.missingCellShare ?? null)} of the feature cells are empty (labs
far more often than vitals). No real data was used anywhere. The CSV is not shipped (the
command below regenerates it, byte for byte, in the system's temporary folder).`
    : `\`${c.csv}\`.`;
  const e = c.examples;
  const inputRows = m.inputs
    .map(
      (i) =>
        `| \`${i.column}\` | ${i.description} | \`${i.unit}\` | ${i.loinc.join(', ')} | ${i.stat} | ${sig(toPhysical(i, i.imputeValue))} | ${sig(i.mean)} | ${sig(i.std)} | ${num(i.coefficient)} | ${pct(c.missing[i.column]?.train ?? null)} |`,
    )
    .join('\n');
  const reliability = h.reliability
    .map(
      (b) =>
        `| ${b.from.toFixed(1)}–${b.to.toFixed(1)} | ${b.n} | ${b.meanPredicted === null ? '–' : num(b.meanPredicted)} | ${b.observed === null ? '–' : num(b.observed)} |`,
    )
    .join('\n');
  const bandRows = h.bands
    .map((b) => {
      const range =
        b.band === 'low'
          ? `p < ${m.bands.medium}`
          : b.band === 'medium'
            ? `${m.bands.medium} ≤ p < ${m.bands.high}`
            : `p ≥ ${m.bands.high}`;
      return `| ${b.band} | ${range} | ${b.n} | ${pct(b.observed)} |`;
    })
    .join('\n');
  const reproduce = synthetic
    ? `medstream train icu-risk --synthetic-cohort ${c.cohort?.patients ?? 4000} --seed ${c.cohort?.seed ?? c.seeds.split - 1} --version ${m.version}`
    : `medstream train icu-risk --csv ${c.csv} --seed ${c.seeds.split - 1} --version ${m.version}`;
  return `# ${m.name} ${m.version} — model card

${header}

## Intended use

${
  synthetic
    ? `Demonstration and integration testing of \`processors/icu-risk\`, which scores an ICU-admission
probability next to NEWS2 from a patient's FHIR Observations. Not for diagnosis, triage,
prognosis, resource planning, research on disease, or any clinical use.`
    : `Research on ICU-admission prediction with the data it was trained on. Not a medical device.`
}

Output: the probability of ${m.outcome}, with bands low (p < ${m.bands.medium}), medium
(${m.bands.medium} ≤ p < ${m.bands.high}) and high (p ≥ ${m.bands.high}).

## Training data

${data}

Examples are patient windows before ICU admission: the ${e.droppedIcuRows} rows with ICU = 1
(at or after admission) are dropped, so the ${e.admittedWithoutExample} patients admitted in their
first window contribute nothing. Each remaining window is labelled 1 when its patient is admitted
in a later window. Patients (not rows) are split into training and held-out sets, stratified by
outcome (${c.heldOutFraction} held out, seed ${c.seeds.split}).

| split    | patients | examples | positive examples |
| -------- | -------- | -------- | ----------------- |
| training | ${e.trainPatients} | ${e.trainExamples} | ${e.trainPositives} |
| held-out | ${e.heldOutPatients} | ${e.heldOutExamples} | ${h.positiveRows} |

## Inputs

In this order (the ONNX input \`features\` [N, ${m.inputs.length}]). Values in the unit shown; a
missing value is replaced by the training median (shown in the same unit) and reported by
\`score()\`. The series statistics follow the dataset: MEAN, MEDIAN, MIN, MAX over the window,
DIFF = MAX − MIN, DIFF_REL = DIFF / MEDIAN (\`seriesStats\` in
\`processors/icu-risk/learned-model.ts\`). AGE_ABOVE65 is read as "65 or older".

| column | description | unit (UCUM) | LOINC | stat | training median | mean | SD | coefficient (per SD) | missing (training) |
| ------ | ----------- | ----------- | ----- | ---- | --------------- | ---- | -- | -------------------- | ------------------ |
${inputRows}

Intercept ${num(m.intercept)}. logit = intercept + Σ coefficient · (x − mean) / SD.

## Model

Logistic regression with an L2 penalty λ = ${c.fit.l2} on the standardised coefficients (the
intercept is not penalised), fitted by Newton–Raphson from zero: ${c.fit.iterations} steps to a
largest parameter change below 1e-10. Training AUROC ${num(c.fit.trainAuroc)}. Fit time
${c.fit.trainingSeconds.toFixed(3)} s; whole run (reading the CSV, fitting, evaluation, ONNX
check, writing) ${c.totalSeconds.toFixed(1)} s on Node ${c.node}.

ONNX graph (opset 13): \`features\` → (x − mean) / std → MatMul → Add → \`logit\` → Sigmoid →
\`probability\`; imputation and the optional \`scale\` happen before it, in
\`learned-model.ts\`. On the held-out examples the served path (float32 ONNX) and the plain
coefficients (float64) differ by at most ${c.onnxParityMaxAbsProbability.toExponential(1)} in probability.

## Measured results (held-out ${synthetic ? 'synthetic ' : ''}patients)

${h.rows} examples from ${h.patients} patients, prevalence ${pct(h.prevalence)}.

| metric | value |
| ------ | ----- |
| AUROC | ${num(h.auroc)} |
| AUPRC (average precision) | ${num(h.auprc)} |
| Brier score | ${num(h.brier, 4)} |
| calibration intercept (calibration-in-the-large; 0 = ideal) | ${num(h.calibrationIntercept)} |
| calibration slope (1 = ideal) | ${num(h.calibrationSlope)} |
| ECE (10 equal-width bins) | ${num(h.ece, 4)} |

Reliability (10 equal-width bins of predicted probability):

| predicted | examples | mean predicted | observed rate |
| --------- | -------- | -------------- | ------------- |
${reliability}

Bands:

| band | probability | examples | observed rate |
| ---- | ----------- | -------- | ------------- |
${bandRows}

## Reproduce, or retrain on the real dataset

\`\`\`
${reproduce}
\`\`\`

The run is deterministic (seeded cohort, seeded split, Newton–Raphson from zero): it writes the
same coefficients every time.

To train on the real Sírio-Libanês file (download it from Kaggle yourself; it is not shipped):

\`\`\`
medstream train icu-risk --csv Kaggle_Sirio_Libanes_ICU_Prediction.csv --out models/icu-risk/1.0.0 --scales scales.json
\`\`\`

**The scale caveat.** The real file's values are min-max normalised to [-1, 1] per column, with
ranges it does not publish, while \`score()\` receives physical units from FHIR. A model trained
on it is only usable when each input carries a \`scale\` (\`{ "PCR_MEDIAN": { "min": …, "max":
… }, … }\` in \`scales.json\`: the physical values that map to -1 and 1), which \`score()\`
applies before imputation and standardisation. Without them the trainer warns and the model
expects normalised inputs. Any ranges you supply are an assumption to be checked (e.g. against
the file's own distribution of each column); the dataset's AGE_ABOVE65 is used as is (0/1).

## Limitations

${
  synthetic
    ? `- ${DISCLAIMER}: the cohort is a simple invented generative story; real patients differ in
  every respect (case mix, treatment, measurement practice, why data is missing, when and why
  they are admitted to the ICU).
- The metrics above measure how well a logistic regression recovers the generator's own
  structure; they say nothing about clinical performance.
`
    : ''
}- Window-level examples from the same patient are correlated; the held-out metrics treat them as
  independent.
- Missing values are imputed with a single training median and missingness is not an input, so
  "not measured" is read as "typical".
- Linear in its inputs: no interactions, no trends across windows.
- A patient admitted in the first window gives no training example, and the model says nothing
  about patients already in the ICU.
- A patient's last window (ABOVE_12) can only be a negative example (no later window to be
  admitted in), as in the real dataset, so late windows are mostly negatives.
- Bands are fixed cut-offs chosen for the demo, not thresholds validated for any decision.
${c.warnings.map((w) => `- WARNING: ${w}`).join('\n')}

## Files

| file | bytes |
| ---- | ----- |
${Object.entries(c.fileSizes)
  .map(([f, b]) => `| ${f} | ${b} |`)
  .join('\n')}

\`metrics.json\`: every number above, with the missingness per input and split.
`;
}

// ---------------------------------------------------------------------------------------------
// CLI.
// ---------------------------------------------------------------------------------------------

const USAGE = `usage: medstream train icu-risk (--csv FILE | --synthetic-cohort N) [--out DIR] [--name NAME]
       [--version V] [--seed S] [--held-out F] [--l2 L] [--scales FILE]`;

export const DEFAULT_SEED = 20240601;

/**
 * `medstream train icu-risk …`: parses argv (without the command words) and trains. Bad options
 * are CONFIG_INVALID with the usage.
 */
export async function main(argv: readonly string[]): Promise<TrainIcuRiskResult> {
  let csv: string | undefined;
  let out: string | undefined;
  let name: string | undefined;
  let version = '1.0.0';
  let seed = DEFAULT_SEED;
  let syntheticPatients: number | undefined;
  let heldOutFraction = 0.25;
  let l2 = 1;
  let scalesFile: string | undefined;
  const value = (i: number, flag: string) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--'))
      throw new EngineError('CONFIG_INVALID', `${flag} needs a value\n${USAGE}`);
    return v;
  };
  const number = (i: number, flag: string) => {
    const v = Number(value(i, flag));
    if (!Number.isFinite(v))
      throw new EngineError('CONFIG_INVALID', `${flag} needs a number (got '${argv[i + 1]}')`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    switch (flag) {
      case '--csv':
        csv = value(i++, flag);
        break;
      case '--out':
        out = value(i++, flag);
        break;
      case '--name':
        name = value(i++, flag);
        break;
      case '--version':
        version = value(i++, flag);
        break;
      case '--seed':
        seed = number(i++, flag);
        break;
      case '--synthetic-cohort':
        syntheticPatients = number(i++, flag);
        break;
      case '--held-out':
        heldOutFraction = number(i++, flag);
        break;
      case '--l2':
        l2 = number(i++, flag);
        break;
      case '--scales':
        scalesFile = value(i++, flag);
        break;
      case '--help':
      case '-h':
        throw new EngineError('CONFIG_INVALID', USAGE);
      default:
        throw new EngineError('CONFIG_INVALID', `unknown option '${flag}'\n${USAGE}`);
    }
  }
  if (!Number.isInteger(seed))
    throw new EngineError('CONFIG_INVALID', `--seed must be an integer (got ${seed})`);
  if (!/^[0-9]+(\.[0-9]+)*$/.test(version))
    throw new EngineError(
      'CONFIG_INVALID',
      `--version must be dotted numbers like 1.0.0 (got '${version}')`,
    );
  if (csv === undefined && syntheticPatients === undefined)
    throw new EngineError('CONFIG_INVALID', `give --csv FILE or --synthetic-cohort N\n${USAGE}`);
  const synthetic = syntheticPatients !== undefined;
  name ??= synthetic ? 'icu-risk-demo' : 'icu-risk';
  const outDir = out ? resolve(out) : join(projectRoot(), 'models', name, version);
  let cohort: TrainIcuRiskOptions['cohort'];
  let csvPath = csv === undefined ? undefined : resolve(csv);
  if (synthetic) {
    csvPath ??= join(tmpdir(), `medstream-icu-cohort-${syntheticPatients}-${seed}.csv`);
    const summary = writeCohortCsv(csvPath, { patients: syntheticPatients!, seed });
    cohort = {
      generator: 'models/training/icu-risk/cohort.ts',
      patients: syntheticPatients!,
      seed,
      summary,
    };
    console.log(
      `[train-icu-risk] synthetic cohort: ${summary.patients} patients, ${summary.rows} rows, ${summary.admitted} admitted → ${csvPath}`,
    );
  }
  const scales = scalesFile
    ? (JSON.parse(readFileSync(scalesFile, 'utf8')) as Record<string, { min: number; max: number }>)
    : undefined;
  return trainIcuRisk({
    csvPath: csvPath!,
    outDir,
    name,
    version,
    seed,
    heldOutFraction,
    synthetic,
    l2,
    ...(cohort ? { cohort } : {}),
    ...(scales ? { scales } : {}),
    onProgress: (m) => console.log(`[train-icu-risk] ${m}`),
  });
}

if (require.main === module)
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
