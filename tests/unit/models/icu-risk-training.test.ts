import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  COHORT_COLUMNS,
  csvField,
  generateCohort,
  toCsv,
  writeCohortCsv,
} from '../../../models/training/icu-risk/cohort';
import {
  auroc,
  averagePrecision,
  brierScore,
  buildExamples,
  calibration,
  csvTable,
  expectedCalibrationError,
  FEATURE_COLUMNS,
  fitLogisticRegression,
  main,
  parseCsv,
  splitPatients,
  trainIcuRisk,
} from '../../../models/training/icu-risk/train-icu-risk';
import { createRng, gaussian } from '../../../models/training/phantom';
import {
  loadIcuRiskModel,
  validateIcuRiskManifest,
} from '../../../processors/icu-risk/learned-model';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'medstream-icu-train-'));
  dirs.push(d);
  return d;
};

describe('[REQ-ICU-ML-01] CSV parsing', () => {
  it('reads empty cells, quoted fields with commas, quotes and line breaks, CRLF and a BOM', () => {
    const text = '\ufeffA,B,C\r\n1,,3\r\n"x, y","say ""hi""","two\nlines"\n\n,,\n"",last,\n';
    expect(parseCsv(text)).toEqual([
      ['A', 'B', 'C'],
      ['1', '', '3'],
      ['x, y', 'say "hi"', 'two\nlines'],
      ['', '', ''],
      ['', 'last', ''],
    ]);
  });

  it('reads a file without a final line break, and round-trips what the cohort writer quotes', () => {
    expect(parseCsv('a,b\n1,2')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    const rows = [
      ['id', 'note'],
      ['1', 'comma, "quote"\nnewline'],
    ];
    expect(parseCsv(toCsv(rows))).toEqual(rows);
    expect(csvField('plain')).toBe('plain');
  });

  it('rejects an unterminated quote and a record with the wrong number of cells', () => {
    expect(() => parseCsv('a,b\n"open,1\n')).toThrow(/unterminated/);
    expect(() => csvTable('a,b\n1,2\n3\n', 'x.csv')).toThrow(/x.csv: record 3 has 1 cells/);
  });
});

describe('[REQ-ICU-ML-02] examples: no rows at or after ICU admission; split by patient', () => {
  const header = ['PATIENT_VISIT_IDENTIFIER', 'WINDOW', 'ICU', 'RESPIRATORY_RATE_MEAN'];
  const table = csvTable(
    [
      header.join(','),
      // A: never admitted
      'A,0-2,0,18',
      'A,2-4,0,',
      'A,4-6,0,20',
      // B: admitted in the third window
      'B,0-2,0,22',
      'B,2-4,0,24',
      'B,4-6,1,30',
      'B,6-12,1,31',
      // C: admitted in the first window
      'C,0-2,1,35',
      'C,2-4,1,36',
    ].join('\n'),
  );

  it('drops ICU = 1 rows and labels the rest with the patient outcome', () => {
    const ex = buildExamples(table, ['RESPIRATORY_RATE_MEAN']);
    expect(ex.patient).toEqual(['A', 'A', 'A', 'B', 'B']);
    expect(ex.window).toEqual(['0-2', '2-4', '4-6', '0-2', '2-4']);
    expect(ex.y).toEqual([0, 0, 0, 1, 1]);
    expect(ex.x).toEqual([[18], [undefined], [20], [22], [24]]);
    expect(ex.droppedIcuRows).toBe(4);
    expect(ex.patients).toBe(3);
    expect(ex.admittedPatients).toBe(2);
    expect(ex.admittedWithoutExample).toBe(1);
  });

  it('names missing columns and bad cells', () => {
    expect(() => buildExamples(table, ['PCR_MEDIAN'], 'f.csv')).toThrow(
      'f.csv: missing columns PCR_MEDIAN',
    );
    const bad = csvTable('PATIENT_VISIT_IDENTIFIER,ICU,X\nA,0,abc\n');
    expect(() => buildExamples(bad, ['X'])).toThrow(/record 2, column X: 'abc' is not a number/);
    const badIcu = csvTable('PATIENT_VISIT_IDENTIFIER,ICU,X\nA,yes,1\n');
    expect(() => buildExamples(badIcu, ['X'])).toThrow(/ICU must be 0 or 1/);
  });

  it('holds out whole patients, stratified by outcome, the same way for the same seed', () => {
    const { rows } = generateCohort({ patients: 400, seed: 7 });
    const ex = buildExamples(csvTable(toCsv(rows)));
    const heldOut = splitPatients(ex, 0.25, 8);
    expect(splitPatients(ex, 0.25, 8)).toEqual(heldOut);
    const train = new Set(ex.patient.filter((id) => !heldOut.has(id)));
    for (const id of heldOut) expect(train.has(id)).toBe(false);
    const outcome = new Map(ex.patient.map((id, i) => [id, ex.y[i]!]));
    const count = (ids: Iterable<string>, y: number) =>
      [...ids].filter((id) => outcome.get(id) === y).length;
    const positives = count(outcome.keys(), 1);
    const negatives = count(outcome.keys(), 0);
    expect(count(heldOut, 1)).toBe(Math.round(0.25 * positives));
    expect(count(heldOut, 0)).toBe(Math.round(0.25 * negatives));
  });
});

describe('[REQ-ICU-ML-03] synthetic cohort', () => {
  const { rows, summary } = generateCohort({ patients: 300, seed: 11 });

  it('has the dataset layout, synthetic ids, five windows per patient, and ICU that stays 1', () => {
    expect(rows[0]).toEqual(COHORT_COLUMNS);
    for (const c of [
      'AGE_ABOVE65',
      'AGE_PERCENTIL',
      'GENDER',
      'WINDOW',
      'ICU',
      'PCR_MEDIAN',
      'PCR_DIFF',
      'OXYGEN_SATURATION_DIFF_REL',
      ...FEATURE_COLUMNS,
    ])
      expect(COHORT_COLUMNS).toContain(c);
    expect(summary.rows).toBe(1500);
    const at = (c: string) => COHORT_COLUMNS.indexOf(c);
    const byPatient = new Map<string, string[][]>();
    for (const r of rows.slice(1)) {
      expect(r[at('PATIENT_VISIT_IDENTIFIER')]).toMatch(/^SYNTHETIC-\d{6}$/);
      byPatient.set(r[0]!, [...(byPatient.get(r[0]!) ?? []), r]);
    }
    for (const windows of byPatient.values()) {
      expect(windows.map((r) => r[at('WINDOW')])).toEqual([
        '0-2',
        '2-4',
        '4-6',
        '6-12',
        'ABOVE_12',
      ]);
      const icu = windows.map((r) => r[at('ICU')]).join('');
      expect(icu).toMatch(/^0*1*$/);
    }
    expect(summary.admitted).toBeGreaterThan(20);
    expect(summary.admitted).toBeLessThan(150);
  });

  it('leaves labs empty more often than vitals, and is the same for the same seed', () => {
    const share = (c: string) =>
      rows.slice(1).filter((r) => r[COHORT_COLUMNS.indexOf(c)] === '').length / (rows.length - 1);
    expect(share('PCR_MEDIAN')).toBeGreaterThan(0.3);
    expect(share('HEART_RATE_MEAN')).toBeGreaterThan(0.02);
    expect(share('HEART_RATE_MEAN')).toBeLessThan(0.2);
    expect(generateCohort({ patients: 300, seed: 11 }).rows).toEqual(rows);
    expect(generateCohort({ patients: 300, seed: 12 }).rows).not.toEqual(rows);
  });
});

describe('[REQ-ICU-ML-04] logistic regression', () => {
  it('recovers known coefficients', () => {
    const rng = createRng(123);
    const truth = { intercept: -0.5, w: [1.0, -2.0, 0.5] };
    const x: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 20000; i++) {
      const row = [gaussian(rng), gaussian(rng), gaussian(rng)];
      const eta = truth.intercept + row.reduce((s, v, k) => s + truth.w[k]! * v, 0);
      x.push(row);
      y.push(rng() < 1 / (1 + Math.exp(-eta)) ? 1 : 0);
    }
    const fit = fitLogisticRegression(x, y, { l2: 1e-6 });
    expect(fit.converged).toBe(true);
    expect(fit.iterations).toBeLessThan(15);
    expect(Math.abs(fit.intercept - truth.intercept)).toBeLessThan(0.06);
    fit.coefficients.forEach((c, k) => expect(Math.abs(c - truth.w[k]!)).toBeLessThan(0.08));
    // the penalty shrinks the weights, not the intercept's role
    const shrunk = fitLogisticRegression(x, y, { l2: 5000 });
    shrunk.coefficients.forEach((c, k) =>
      expect(Math.abs(c)).toBeLessThan(Math.abs(fit.coefficients[k]!)),
    );
    // deterministic
    expect(fitLogisticRegression(x, y, { l2: 1e-6 })).toEqual(fit);
  });

  it('stays finite on perfectly separable data thanks to the penalty', () => {
    const x = [[-2], [-1], [1], [2]];
    const fit = fitLogisticRegression(x, [0, 0, 1, 1], { l2: 1 });
    expect(fit.converged).toBe(true);
    expect(fit.coefficients[0]).toBeGreaterThan(0);
    expect(Number.isFinite(fit.coefficients[0]!)).toBe(true);
  });
});

describe('[REQ-ICU-ML-05] metrics against hand-computed examples', () => {
  it('AUROC and average precision', () => {
    // scikit-learn's documentation example: AUROC 0.75, AP 0.8333
    const s = [0.1, 0.4, 0.35, 0.8];
    const y = [0, 0, 1, 1];
    expect(auroc(s, y)).toBeCloseTo(0.75, 12);
    expect(averagePrecision(s, y)).toBeCloseTo((1 / 2) * 1 + (1 / 2) * (2 / 3), 12);
    // ties count one half; a tied block is one threshold
    expect(auroc([0.5, 0.5], [0, 1])).toBe(0.5);
    expect(averagePrecision([0.5, 0.5], [0, 1])).toBe(0.5);
    expect(auroc([0.9, 0.8, 0.1], [1, 1, 0])).toBe(1);
    expect(auroc([0.1, 0.2], [1, 1])).toBeNaN();
  });

  it('Brier score and ECE with its reliability table', () => {
    expect(brierScore([0.1, 0.9], [0, 1])).toBeCloseTo(0.01, 12);
    expect(brierScore([0.5, 0.5, 1], [0, 1, 0])).toBeCloseTo((0.25 + 0.25 + 1) / 3, 12);
    const { ece, table } = expectedCalibrationError([0.05, 0.15, 0.15, 0.95, 1], [0, 0, 1, 1, 1]);
    // bins: [0,.1) n1 |.05−0|; [.1,.2) n2 |.15−.5|; [.9,1] n2 |.975−1|
    expect(ece).toBeCloseTo((0.05 + 2 * 0.35 + 2 * 0.025) / 5, 12);
    expect(table).toHaveLength(10);
    expect(table[1]).toEqual({ from: 0.1, to: 0.2, n: 2, meanPredicted: 0.15, observed: 0.5 });
    expect(table[9]!.n).toBe(2);
    expect(table[5]).toEqual({ from: 0.5, to: 0.6, n: 0, meanPredicted: null, observed: null });
  });

  it('calibration intercept and slope: 0 and 1 when calibrated, slope 1/2 when twice too extreme', () => {
    // each group's observed rate equals its prediction exactly
    const groups: [number, number, number][] = [
      [0.2, 1, 5],
      [0.5, 1, 2],
      [0.8, 4, 5],
    ];
    const p: number[] = [];
    const y: number[] = [];
    for (const [prob, positives, n] of groups)
      for (let i = 0; i < n; i++) {
        p.push(prob);
        y.push(i < positives ? 1 : 0);
      }
    const good = calibration(p, y);
    expect(good.intercept).toBeCloseTo(0, 8);
    expect(good.slope).toBeCloseTo(1, 8);
    const extreme = p.map((q) => 1 / (1 + Math.exp(-2 * Math.log(q / (1 - q)))));
    const bad = calibration(extreme, y);
    expect(bad.slope).toBeCloseTo(0.5, 8);
    // everything predicted too low: positive calibration-in-the-large
    const low = p.map((q) => q / 2);
    expect(calibration(low, y).intercept).toBeGreaterThan(0.3);
  });
});

describe('[REQ-ICU-ML-06] trainIcuRisk end to end', () => {
  it('writes a model folder the runtime loads, with held-out metrics and the synthetic flag', async () => {
    const dir = tempDir();
    const csvPath = join(dir, 'cohort.csv');
    const summary = writeCohortCsv(csvPath, { patients: 600, seed: 5 });
    const outDir = join(dir, 'models', 'icu-risk-test', '2.0.0');
    const progress: string[] = [];
    const result = await trainIcuRisk({
      csvPath,
      outDir,
      version: '2.0.0',
      seed: 5,
      heldOutFraction: 0.3,
      synthetic: true,
      cohort: { generator: 'models/training/icu-risk/cohort.ts', patients: 600, seed: 5, summary },
      onProgress: (m) => progress.push(m),
    });
    expect(result.manifest.name).toBe('icu-risk-test');
    expect(result.manifest.syntheticTrainingData).toBe(true);
    expect(result.manifest.inputs.map((i) => i.column)).toEqual(FEATURE_COLUMNS);
    expect(result.heldOut.auroc).toBeGreaterThan(0.6);
    expect(result.heldOut.ece).toBeLessThan(0.1);
    expect(progress.some((m) => m.startsWith('held-out: AUROC'))).toBe(true);
    const manifest = validateIcuRiskManifest(
      JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')),
      'manifest.json',
    );
    expect(manifest.heldOutMetrics).toMatchObject({ auroc: expect.any(Number) });
    const card = readFileSync(join(outDir, 'MODEL_CARD.md'), 'utf8');
    expect(card).toContain('synthetic training data — not for clinical use');
    expect(card).toContain('medstream train icu-risk --synthetic-cohort 600 --seed 5');
    const model = await loadIcuRiskModel(outDir);
    try {
      expect(model.ref).toBe('icu-risk-test@2.0.0');
      const score = await model.score({});
      expect(score.imputed).toHaveLength(FEATURE_COLUMNS.length);
    } finally {
      await model.close();
    }
    // deterministic: the same inputs give the same coefficients
    const again = await trainIcuRisk({
      csvPath,
      outDir: join(dir, 'again', 'icu-risk-test', '2.0.0'),
      version: '2.0.0',
      seed: 5,
      heldOutFraction: 0.3,
      synthetic: true,
    });
    expect(again.manifest.inputs).toEqual(result.manifest.inputs);
    expect(again.manifest.intercept).toBe(result.manifest.intercept);
  });

  it('warns when the CSV looks min-max normalised and no scales are given', async () => {
    const dir = tempDir();
    const { rows } = generateCohort({ patients: 200, seed: 3 });
    // squash every feature into [-1, 1] like the real file
    const squashed = rows.map((r, i) =>
      i === 0
        ? r
        : r.map((cell, k) =>
            FEATURE_COLUMNS.includes(rows[0]![k]!) && rows[0]![k] !== 'AGE_ABOVE65' && cell !== ''
              ? String(Math.tanh(Number(cell) / 200))
              : cell,
          ),
    );
    const csvPath = join(dir, 'normalised.csv');
    writeFileSync(csvPath, toCsv(squashed));
    const progress: string[] = [];
    const result = await trainIcuRisk({
      csvPath,
      outDir: join(dir, 'icu-risk', '1.0.0'),
      version: '1.0.0',
      seed: 1,
      heldOutFraction: 0.25,
      synthetic: false,
      onProgress: (m) => progress.push(m),
    });
    expect(progress.some((m) => m.startsWith('WARNING: every input lies in [-1, 1]'))).toBe(true);
    expect(result.manifest.training).toMatchObject({ warnings: [expect.any(String)] });
    expect(result.manifest.syntheticTrainingData).toBe(false);
    expect(result.manifest.disclaimer).toBeUndefined();
  });
});

describe('[REQ-ICU-ML-07] the CLI entry (medstream train icu-risk)', () => {
  it('rejects bad options with the usage', async () => {
    await expect(main([])).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/give --csv FILE or --synthetic-cohort N\nusage:/),
    });
    await expect(main(['--bogus'])).rejects.toThrow(/unknown option '--bogus'/);
    await expect(main(['--synthetic-cohort'])).rejects.toThrow(/--synthetic-cohort needs a value/);
    await expect(main(['--synthetic-cohort', '10', '--version', 'v1'])).rejects.toThrow(
      /--version must be dotted numbers/,
    );
  });

  it('generates a synthetic cohort and trains on it in one go', async () => {
    const dir = tempDir();
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const result = await main([
        '--synthetic-cohort',
        '300',
        '--seed',
        '3',
        '--csv',
        join(dir, 'cohort.csv'),
        '--out',
        join(dir, 'out'),
      ]);
      expect(result.manifest.name).toBe('icu-risk-demo');
      expect(result.manifest.version).toBe('1.0.0');
      expect(readFileSync(join(dir, 'cohort.csv'), 'utf8')).toMatch(/^PATIENT_VISIT_IDENTIFIER,/);
      expect(log).toHaveBeenCalledWith(expect.stringMatching(/^\[train-icu-risk\] wrote /));
    } finally {
      log.mockRestore();
    }
  });
});
