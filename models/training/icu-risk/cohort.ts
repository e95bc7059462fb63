/**
 * A seeded SYNTHETIC cohort of hospitalised patients, written as a CSV in the column layout of
 * the public Sírio-Libanês COVID-19 ICU dataset (Kaggle_Sirio_Libanes_ICU_Prediction.csv), so
 * that the ICU-risk trainer can be developed, tested and shipped without any real patient data.
 * Every identifier starts with "SYNTHETIC-"; values are in physical units (the real file is
 * min-max normalised to [-1, 1]).
 *
 * Generative story, per patient:
 *  - age ~ N(58, 17) clipped to 18–98, sex 50/50;
 *  - a latent severity at admission s0 ~ N(0, 0.9²) + 0.035·(age − 58) + 0.25·male, a trend per
 *    12 h ~ N(0.15, 0.45²) (some patients improve, most slowly worsen), and two patient-level
 *    offsets that split the severity into a respiratory-failure axis (SpO2, respiratory rate) and
 *    an inflammatory / sepsis-like axis (CRP, heart rate, fever, blood pressure, lymphocytes,
 *    platelets, creatinine, bilirubin);
 *  - five windows (0-2, 2-4, 4-6, 6-12, ABOVE_12 hours since admission); in each, severity
 *    s = s0 + trend·t/12 + N(0, 0.25²), and the patient is admitted to the ICU at the first
 *    window where s + N(0, 0.5²) > 1.9; ICU = 1 from that window on;
 *  - in each window 1–5 readings of each vital (3–10 in ABOVE_12) and usually one lab draw,
 *    around window levels given by the axes, summarised with the dataset's statistics
 *    (processors/icu-risk/learned-model.ts `seriesStats`);
 *  - missing cells: all vitals of a window 8 %, one vital 3 %; the lab panel 45 % of windows,
 *    one lab 10 % more.
 *
 * The coefficients of this story are invented to be clinically plausible in direction and rough
 * size; nothing is fitted to real data.
 */
import { writeFileSync } from 'node:fs';
import {
  ageAbove65,
  CLINICAL_VARIABLES,
  type ClinicalVariable,
  columnName,
  LAB_STATS,
  type SeriesPoint,
  seriesStats,
  VITAL_STATS,
} from '../../../processors/icu-risk/learned-model';
import { createRng, gaussian, type Rng } from '../phantom';

export const WINDOWS = ['0-2', '2-4', '4-6', '6-12', 'ABOVE_12'] as const;
export type CohortWindow = (typeof WINDOWS)[number];
/** Window bounds in hours since admission (ABOVE_12 is taken as 12–24 h). */
const WINDOW_HOURS: Record<CohortWindow, [number, number]> = {
  '0-2': [0, 2],
  '2-4': [2, 4],
  '4-6': [4, 6],
  '6-12': [6, 12],
  ABOVE_12: [12, 24],
};

/** Vital order of the real file's column groups. */
const VITALS: readonly ClinicalVariable[] = [
  'diastolicBp',
  'systolicBp',
  'heartRate',
  'respiratoryRate',
  'temperature',
  'spo2',
];
const LABS: readonly ClinicalVariable[] = [
  'bilirubin',
  'creatinine',
  'lymphocytes',
  'crp',
  'platelets',
];

/** The CSV header: the real file's column names (a subset), labs per lab, vitals per statistic. */
export const COHORT_COLUMNS: readonly string[] = [
  'PATIENT_VISIT_IDENTIFIER',
  'AGE_ABOVE65',
  'AGE_PERCENTIL',
  'GENDER',
  ...LABS.flatMap((lab) =>
    (['MEDIAN', 'MEAN', 'MIN', 'MAX', 'DIFF'] as const).map((s) => columnName(lab, s)),
  ),
  ...VITAL_STATS.flatMap((s) => VITALS.map((v) => columnName(v, s))),
  'WINDOW',
  'ICU',
];

export interface CohortOptions {
  patients: number;
  seed: number;
}

export interface CohortSummary {
  patients: number;
  rows: number;
  /** patients admitted to the ICU at some window */
  admitted: number;
  /** of those, admitted in the first window (no pre-admission row) */
  admittedInFirstWindow: number;
  /** share of empty cells among the feature columns */
  missingCellShare: number;
}

const softplus = (x: number) => (x > 20 ? x : Math.log1p(Math.exp(x)));
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

interface Level {
  /** window-level value */
  mean: number;
  /** spread of single readings around it */
  sd: number;
  lo: number;
  hi: number;
  digits: number;
}

/** Window levels of each variable from the two severity axes (r: respiratory, q: inflammatory). */
function levels(r: number, q: number, age: number, rng: Rng): Record<ClinicalVariable, Level> {
  const n = () => gaussian(rng);
  const sr = softplus(r);
  const sq = softplus(q);
  const sbp = 128 - 9 * sq + 0.15 * (age - 58) + 10 * n();
  return {
    respiratoryRate: { mean: 16 + 3.2 * sr + 1.8 * n(), sd: 1.5, lo: 8, hi: 50, digits: 1 },
    spo2: { mean: 97.5 - 2.6 * sr + 1.0 * n(), sd: 1.0, lo: 70, hi: 100, digits: 1 },
    heartRate: { mean: 76 + 7 * sq + 2 * sr + 9 * n(), sd: 4, lo: 35, hi: 180, digits: 1 },
    temperature: { mean: 36.8 + 0.45 * sq + 0.35 * n(), sd: 0.2, lo: 34.5, hi: 41.5, digits: 2 },
    systolicBp: { mean: sbp, sd: 6, lo: 60, hi: 220, digits: 1 },
    diastolicBp: { mean: 0.55 * sbp + 8 + 6 * n(), sd: 4, lo: 30, hi: 130, digits: 1 },
    crp: {
      mean: Math.exp(Math.log(18) + 0.55 * q + 0.7 * n()),
      sd: 0,
      lo: 0.2,
      hi: 400,
      digits: 2,
    },
    lymphocytes: {
      mean: Math.exp(Math.log(1.35) - 0.22 * q + 0.35 * n()),
      sd: 0,
      lo: 0.05,
      hi: 8,
      digits: 3,
    },
    creatinine: {
      mean: Math.exp(Math.log(0.9) + 0.12 * sq + 0.006 * (age - 58) + 0.25 * n()),
      sd: 0,
      lo: 0.3,
      hi: 12,
      digits: 3,
    },
    platelets: {
      mean: Math.exp(Math.log(235) - 0.1 * q + 0.3 * n()),
      sd: 0,
      lo: 10,
      hi: 900,
      digits: 1,
    },
    bilirubin: {
      mean: Math.exp(Math.log(0.6) + 0.1 * q + 0.4 * n()),
      sd: 0,
      lo: 0.1,
      hi: 15,
      digits: 3,
    },
  };
}

/** Percentile bucket labels as the real file writes them. */
const PERCENTILE_LABELS = [
  '10th',
  '20th',
  '30th',
  '40th',
  '50th',
  '60th',
  '70th',
  '80th',
  '90th',
  'Above 90th',
];

function readings(
  level: Level,
  count: number,
  [from, to]: [number, number],
  rng: Rng,
  lab: boolean,
): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (let k = 0; k < count; k++) {
    // lab repeats vary multiplicatively (~8 %), vitals additively
    const raw = lab
      ? level.mean * Math.exp(0.08 * gaussian(rng))
      : level.mean + level.sd * gaussian(rng);
    const v = clamp(raw, level.lo, level.hi);
    points.push({
      value: Math.round(v * 10 ** level.digits) / 10 ** level.digits,
      at: (from + (to - from) * rng()) * 3_600_000,
    });
  }
  return points;
}

const format = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v) ? '' : String(Math.round(v * 1e4) / 1e4);

/** The cohort as CSV rows (header first), plus a summary. */
export function generateCohort({ patients, seed }: CohortOptions): {
  rows: string[][];
  summary: CohortSummary;
} {
  if (!Number.isInteger(patients) || patients < 1)
    throw new RangeError(`patients must be a positive integer (got ${patients})`);
  const rng = createRng(seed);
  const n = () => gaussian(rng);
  const ages = Array.from({ length: patients }, () => clamp(Math.round(58 + 17 * n()), 18, 98));
  // AGE_PERCENTIL: the patient's age decile within this cohort
  const order = ages.map((a, i) => [a, i] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const percentile = new Array<string>(patients);
  order.forEach(([, i], rank) => {
    percentile[i] = PERCENTILE_LABELS[Math.min(9, Math.floor((rank * 10) / patients))]!;
  });

  const rows: string[][] = [[...COHORT_COLUMNS]];
  let admitted = 0;
  let admittedInFirstWindow = 0;
  let featureCells = 0;
  let emptyCells = 0;
  for (let p = 0; p < patients; p++) {
    const age = ages[p]!;
    const male = rng() < 0.5 ? 1 : 0;
    const s0 = 0.9 * n() + 0.035 * (age - 58) + 0.25 * male;
    const trend = 0.15 + 0.45 * n();
    const respOffset = 0.6 * n();
    const inflOffset = 0.6 * n();
    let icu = false;
    WINDOWS.forEach((window, w) => {
      const hours = WINDOW_HOURS[window];
      const t = (hours[0] + hours[1]) / 2;
      const s = s0 + (trend * t) / 12 + 0.25 * n();
      if (!icu && s + 0.5 * n() > 1.9) {
        icu = true;
        admitted += 1;
        if (w === 0) admittedInFirstWindow += 1;
      }
      const lv = levels(s + respOffset, s + inflOffset, age, rng);
      const values: Record<string, number | undefined> = {};
      const allVitalsMissing = rng() < 0.08;
      for (const v of VITALS) {
        if (allVitalsMissing || rng() < 0.03) continue;
        const count = window === 'ABOVE_12' ? 3 + Math.floor(rng() * 8) : 1 + Math.floor(rng() * 5);
        const stats = seriesStats(readings(lv[v], count, hours, rng, false));
        for (const stat of VITAL_STATS) values[columnName(v, stat)] = stats[stat];
      }
      const panelMissing = rng() < 0.45;
      for (const lab of LABS) {
        if (panelMissing || rng() < 0.1) continue;
        const count = rng() < 0.15 ? 2 : 1;
        const stats = seriesStats(readings(lv[lab], count, hours, rng, true));
        for (const stat of LAB_STATS) values[columnName(lab, stat)] = stats[stat];
      }
      const row: string[] = [];
      for (const column of COHORT_COLUMNS) {
        switch (column) {
          case 'PATIENT_VISIT_IDENTIFIER':
            row.push(`SYNTHETIC-${String(p + 1).padStart(6, '0')}`);
            break;
          case 'AGE_ABOVE65':
            row.push(String(ageAbove65(age)));
            break;
          case 'AGE_PERCENTIL':
            row.push(percentile[p]!);
            break;
          case 'GENDER':
            row.push(String(male));
            break;
          case 'WINDOW':
            row.push(window);
            break;
          case 'ICU':
            row.push(icu ? '1' : '0');
            break;
          default: {
            const cell = format(values[column]);
            featureCells += 1;
            if (cell === '') emptyCells += 1;
            row.push(cell);
          }
        }
      }
      rows.push(row);
    });
  }
  return {
    rows,
    summary: {
      patients,
      rows: rows.length - 1,
      admitted,
      admittedInFirstWindow,
      missingCellShare: emptyCells / featureCells,
    },
  };
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function toCsv(rows: readonly (readonly string[])[]): string {
  return rows.map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

/** Generates the cohort and writes it to `path`. */
export function writeCohortCsv(path: string, options: CohortOptions): CohortSummary {
  const { rows, summary } = generateCohort(options);
  writeFileSync(path, toCsv(rows));
  return summary;
}

/** Variables written, for documentation (model card). */
export const COHORT_VARIABLES = [...VITALS, ...LABS].map((v) => ({
  variable: v,
  prefix: CLINICAL_VARIABLES[v].prefix,
  unit: CLINICAL_VARIABLES[v].unit,
}));
