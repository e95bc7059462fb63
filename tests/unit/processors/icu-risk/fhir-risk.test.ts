import { join } from 'node:path';
import { projectRoot } from '../../../../engine/paths';
import { stableId } from '../../../../engine/ids';
import type { Sample, Variable } from '../../../../processors/icu-risk/fhir-observations';
import {
  type RiskSettings,
  learnedFromState,
  news2FromState,
} from '../../../../processors/icu-risk/fhir-risk';
import { type IcuRiskModel, loadIcuRiskModel } from '../../../../processors/icu-risk/learned-model';
import { NEWS2_MODEL } from '../../../../processors/icu-risk/news2';
import { type PatientState, emptyState } from '../../../../processors/icu-risk/patient-state';

const H = 3600_000;
const AS_OF = Date.parse('2024-05-01T12:00:00Z');
const COMPUTED = AS_OF + 5_000;
const settings: RiskSettings = {
  freshness: { vitalsHours: 6, labsHours: 72 },
  spo2Scale: 1,
  minLearnedInputs: 3,
};

const s = (variable: Variable, value: number, hoursAgo = 1, id: string = variable): Sample => ({
  variable,
  value,
  at: AS_OF - hoursAgo * H,
  ref: `Observation/${id}/_history/1`,
});

const state = (samples: Sample[], over: Partial<PatientState> = {}): PatientState => ({
  ...emptyState('Patient/p1'),
  samples: [...samples].sort((a, b) => a.at - b.at),
  ...over,
});

/** NEWS2's five measured parameters, each in its 0 band. */
const normalVitals = (): Sample[] => [
  s('respiratoryRate', 16),
  s('spo2', 98),
  s('systolicBp', 120),
  s('heartRate', 70),
  s('temperature', 37),
];

const news2 = (st: PatientState, trigger = 'event-1') => {
  const r = news2FromState(st, AS_OF, settings, trigger, COMPUTED);
  if (!('result' in r)) throw new Error(`expected a NEWS2 result, missing ${r.missing.join(', ')}`);
  return r.result;
};

describe('[REQ-ICU-FHIR-01] NEWS2 from FHIR-derived state', () => {
  it('all five measured parameters fresh, no GCS/O2: scores, says what was imputed and used', () => {
    const result = news2(state(normalVitals()));
    expect(result).toEqual({
      resultId: stableId(['icu-risk', 'news2', 'event-1']),
      kind: 'news2',
      patientId: 'Patient/p1',
      model: NEWS2_MODEL,
      observedAt: AS_OF,
      computedAt: COMPUTED,
      score: 0,
      band: 'low',
      news2: {
        total: 0,
        band: 'low',
        anySingleParameterThree: false,
        spo2Scale: 1,
        subscores: {
          respiratoryRate: 0,
          spo2: 0,
          supplementalOxygen: 0,
          systolicBp: 0,
          pulse: 0,
          consciousness: 0,
          temperature: 0,
        },
      },
      inputsUsed: {
        respiratoryRate: 16,
        spo2: 98,
        systolicBp: 120,
        heartRate: 70,
        temperature: 37,
        spo2Scale: 1,
        supplementalOxygen: 0,
      },
      missingInputs: [],
      imputedInputs: [
        'consciousness: no GCS (LOINC 9269-2) — scored as Alert',
        'supplemental oxygen: no O2 flow (LOINC 3151-8) or FiO2 (3150-0) — scored as room air',
      ],
      sourceIds: [
        'Observation/heartRate/_history/1',
        'Observation/respiratoryRate/_history/1',
        'Observation/spo2/_history/1',
        'Observation/systolicBp/_history/1',
        'Observation/temperature/_history/1',
      ],
      syntheticModel: false,
    });
  });

  it('lists every missing measured parameter (absent or stale) and does not score', () => {
    expect(news2FromState(state([]), AS_OF, settings, 't', COMPUTED)).toEqual({
      missing: [
        'respiratory rate (LOINC 9279-1)',
        'SpO2 (LOINC 59408-5 / 2708-6)',
        'systolic blood pressure (LOINC 8480-6)',
        'heart rate (LOINC 8867-4)',
        'body temperature (LOINC 8310-5)',
      ],
    });
    const partial = [
      s('respiratoryRate', 16),
      s('spo2', 98),
      s('systolicBp', 120, 7), // older than the 6 h vitals window
      s('heartRate', 70),
    ];
    expect(news2FromState(state(partial), AS_OF, settings, 't', COMPUTED)).toEqual({
      missing: ['systolic blood pressure (LOINC 8480-6)', 'body temperature (LOINC 8310-5)'],
    });
  });

  it('uses the latest fresh value of each parameter', () => {
    const result = news2(state([...normalVitals(), s('heartRate', 135, 0.5, 'hr2')]));
    expect(result.inputsUsed.heartRate).toBe(135);
    expect(result.news2?.subscores.pulse).toBe(3);
    expect(result.sourceIds).toContain('Observation/hr2/_history/1');
    expect(result.sourceIds).not.toContain('Observation/heartRate/_history/1');
  });

  it.each([
    [15, 'A', 0],
    [14, 'C', 3],
    [3, 'C', 3],
  ])('GCS %p → consciousness %s (%p points)', (gcs, _level, points) => {
    const result = news2(state([...normalVitals(), s('gcs', gcs)]));
    expect(result.news2?.subscores.consciousness).toBe(points);
    expect(result.score).toBe(points);
    expect(result.inputsUsed.gcs).toBe(gcs);
    expect(result.imputedInputs).not.toContainEqual(expect.stringMatching(/^consciousness/));
    expect(result.sourceIds).toContain('Observation/gcs/_history/1');
    if (points === 3) {
      expect(result.band).toBe('low-medium');
      expect(result.news2?.anySingleParameterThree).toBe(true);
    }
  });

  it.each([
    ['O2 flow 2 L/min', [s('oxygenFlow', 2)], true],
    ['O2 flow 0 L/min', [s('oxygenFlow', 0)], false],
    ['FiO2 40 %', [s('fio2', 40)], true],
    ['FiO2 21 %', [s('fio2', 21)], false],
    ['flow 0 but FiO2 28 %', [s('oxygenFlow', 0), s('fio2', 28)], true],
  ])('%s → supplemental oxygen %p', (_what, oxygen, onOxygen) => {
    const result = news2(state([...normalVitals(), ...oxygen]));
    expect(result.inputsUsed.supplementalOxygen).toBe(onOxygen ? 1 : 0);
    expect(result.news2?.subscores.supplementalOxygen).toBe(onOxygen ? 2 : 0);
    expect(result.imputedInputs).not.toContainEqual(expect.stringMatching(/^supplemental oxygen/));
    for (const o of oxygen) expect(result.sourceIds).toContain(o.ref);
  });

  it('SpO2 scale 2 is applied as configured', () => {
    const st = state([...normalVitals().filter((x) => x.variable !== 'spo2'), s('spo2', 90)]);
    const r1 = news2FromState(st, AS_OF, settings, 't', COMPUTED);
    const r2 = news2FromState(st, AS_OF, { ...settings, spo2Scale: 2 }, 't', COMPUTED);
    expect('result' in r1 && r1.result.news2?.subscores.spo2).toBe(3);
    expect('result' in r2 && r2.result.news2?.subscores.spo2).toBe(0);
    expect('result' in r2 && r2.result.inputsUsed.spo2Scale).toBe(2);
  });

  it('a deteriorating patient scores high', () => {
    const result = news2(
      state([
        s('respiratoryRate', 26),
        s('spo2', 91),
        s('systolicBp', 95),
        s('heartRate', 125),
        s('temperature', 39.5),
        s('gcs', 13),
        s('oxygenFlow', 4),
      ]),
    );
    // RR 3 + SpO2 3 + O2 2 + SBP 2 + pulse 2 + C 3 + temp 2
    expect(result.score).toBe(17);
    expect(result.band).toBe('high');
  });

  it('sourceIds are unique and sorted (a BP panel gives one source)', () => {
    const panel = 'Observation/bp/_history/3';
    const samples = [
      ...normalVitals().filter((x) => x.variable !== 'systolicBp'),
      { ...s('systolicBp', 120), ref: panel },
      { ...s('diastolicBp', 80), ref: panel },
    ];
    const ids = news2(state(samples)).sourceIds;
    expect(ids).toEqual([...new Set(ids)].sort());
    expect(ids.filter((x) => x === panel)).toHaveLength(1);
  });

  it('the result id depends only on the trigger', () => {
    const st = state(normalVitals());
    const a = news2FromState(st, AS_OF, settings, 'event-1', COMPUTED);
    const b = news2FromState(st, AS_OF + H, settings, 'event-1', COMPUTED + H);
    const c = news2FromState(st, AS_OF, settings, 'event-2', COMPUTED);
    expect('result' in a && 'result' in b && a.result.resultId === b.result.resultId).toBe(true);
    expect('result' in a && 'result' in c && a.result.resultId !== c.result.resultId).toBe(true);
  });
});

describe('[REQ-ICU-FHIR-02] learned ICU-admission model from FHIR-derived state', () => {
  let model: IcuRiskModel;
  beforeAll(async () => {
    model = await loadIcuRiskModel(join(projectRoot(), 'models', 'icu-risk-demo', '1.0.0'));
  });
  afterAll(async () => {
    await model.close();
  });

  const learned = (st: PatientState, over: Partial<RiskSettings> = {}, trigger = 'event-1') =>
    learnedFromState(st, AS_OF, { ...settings, ...over }, model, trigger, COMPUTED);

  const ALL: Variable[] = [
    'respiratoryRate',
    'heartRate',
    'systolicBp',
    'diastolicBp',
    'temperature',
    'spo2',
    'crp',
    'lymphocytes',
    'creatinine',
    'platelets',
    'bilirubin',
  ];

  it('fewer fresh variables than minLearnedInputs → missing, no score', async () => {
    const st = state([s('heartRate', 80), s('respiratoryRate', 18)]);
    const r = await learned(st);
    expect(r).toEqual({ missing: ALL.filter((v) => v !== 'heartRate' && v !== 'respiratoryRate') });
    // GCS / O2 are not model inputs and do not count
    expect('missing' in (await learned(state([...st.samples, s('gcs', 15), s('fio2', 30)])))).toBe(
      true,
    );
    // stale vitals do not count either
    expect('missing' in (await learned(state([...st.samples, s('spo2', 97, 7)])))).toBe(true);
  });

  it('at minLearnedInputs it scores, listing absent variables and the age as missing', async () => {
    const st = state([s('heartRate', 80), s('respiratoryRate', 18), s('crp', 40, 30)]);
    const r = await learned(st);
    if (!('result' in r)) throw new Error('expected a result');
    const { result } = r;
    expect(result).toMatchObject({
      resultId: stableId(['icu-risk', 'icu-admission', 'event-1']),
      kind: 'icu-admission',
      patientId: 'Patient/p1',
      model: 'icu-risk-demo@1.0.0',
      observedAt: AS_OF,
      computedAt: COMPUTED,
      news2: null,
      syntheticModel: true,
    });
    expect(result.score).toBeGreaterThan(0);
    expect(result.score).toBeLessThan(1);
    expect(['low', 'medium', 'high']).toContain(result.band);
    expect(result.missingInputs).toEqual([
      ...ALL.filter((v) => !['heartRate', 'respiratoryRate', 'crp'].includes(v)),
      'age (Patient.birthDate)',
    ]);
    expect(result.inputsUsed).toMatchObject({
      HEART_RATE_MEAN: 80,
      RESPIRATORY_RATE_MEAN: 18,
      PCR_MEDIAN: 40,
    });
    // every model input that had no value is listed as imputed, with the training median
    const imputedColumns = result.imputedInputs.map((x) => x.split(' ')[0]);
    expect(imputedColumns.sort()).toEqual(
      [
        'AGE_ABOVE65',
        'BLOODPRESSURE_SISTOLIC_MEAN',
        'BLOODPRESSURE_DIASTOLIC_MEAN',
        'TEMPERATURE_MEAN',
        'OXYGEN_SATURATION_MEAN',
        'LINFOCITOS_MEDIAN',
        'CREATININ_MEDIAN',
        'PLATELETS_MEDIAN',
        'BILLIRUBIN_MEDIAN',
      ].sort(),
    );
    for (const line of result.imputedInputs)
      expect(line).toMatch(/\(imputed .+, training median\)$/);
    expect(result.sourceIds).toEqual([
      'Observation/crp/_history/1',
      'Observation/heartRate/_history/1',
      'Observation/respiratoryRate/_history/1',
    ]);
  });

  it('minLearnedInputs is a setting: a stricter one refuses the same state', async () => {
    const st = state([s('heartRate', 80), s('respiratoryRate', 18), s('crp', 40, 30)]);
    expect('missing' in (await learned(st, { minLearnedInputs: 4 }))).toBe(true);
    expect('result' in (await learned(st, { minLearnedInputs: 1 }))).toBe(true);
  });

  it('with a birth date: age is used (not missing), the Patient version is a source', async () => {
    const values: Partial<Record<Variable, number>> = {
      respiratoryRate: 24,
      heartRate: 110,
      systolicBp: 100,
      diastolicBp: 60,
      temperature: 38.5,
      spo2: 91,
      crp: 120,
      lymphocytes: 0.6,
      creatinine: 1.6,
      platelets: 130,
      bilirubin: 1.1,
    };
    const samples = ALL.map((v, i) => s(v, values[v]!, 1 + i / 10));
    const st = state(samples, {
      birthDate: '1948-03-02',
      patientVersion: 'Patient/p1/_history/2',
    });
    const r = await learned(st);
    if (!('result' in r)) throw new Error('expected a result');
    expect(r.result.missingInputs).toEqual([]);
    expect(r.result.imputedInputs).toEqual([]);
    expect(r.result.inputsUsed.AGE_ABOVE65).toBe(1);
    expect(r.result.sourceIds).toContain('Patient/p1/_history/2');
    expect(r.result.sourceIds).toHaveLength(ALL.length + 1);

    // the same patient younger than 65: a different (lower-risk) input, same sources otherwise
    const young = await learned({ ...st, birthDate: '1990-01-01' });
    if (!('result' in young)) throw new Error('expected a result');
    expect(young.result.inputsUsed.AGE_ABOVE65).toBe(0);
    expect(young.result.score).not.toBe(r.result.score);
  });

  it('no birth date: age is missing and imputed, the Patient version is not a source', async () => {
    const st = state([s('heartRate', 80), s('respiratoryRate', 18), s('spo2', 96)], {
      patientVersion: 'Patient/p1/_history/1',
    });
    const r = await learned(st);
    if (!('result' in r)) throw new Error('expected a result');
    expect(r.result.missingInputs).toContain('age (Patient.birthDate)');
    expect(r.result.imputedInputs).toContainEqual(expect.stringMatching(/^AGE_ABOVE65 \(imputed/));
    expect(r.result.sourceIds).not.toContain('Patient/p1/_history/1');
  });

  it('uses every fresh sample of a variable (the series), not only the latest', async () => {
    const st = state([
      s('heartRate', 70, 3, 'hr-a'),
      s('heartRate', 90, 2, 'hr-b'),
      s('heartRate', 200, 8, 'hr-stale'),
      s('respiratoryRate', 18),
      s('spo2', 96),
    ]);
    const r = await learned(st);
    if (!('result' in r)) throw new Error('expected a result');
    expect(r.result.inputsUsed.HEART_RATE_MEAN).toBe(80);
    expect(r.result.sourceIds).toEqual(
      expect.arrayContaining(['Observation/hr-a/_history/1', 'Observation/hr-b/_history/1']),
    );
    expect(r.result.sourceIds).not.toContain('Observation/hr-stale/_history/1');
  });

  it('the result id is stable for the same trigger and differs for another', async () => {
    const st = state([s('heartRate', 80), s('respiratoryRate', 18), s('spo2', 96)]);
    const a = await learned(st, {}, 'event-7');
    const b = await learnedFromState(st, AS_OF + H, settings, model, 'event-7', COMPUTED + H);
    const c = await learned(st, {}, 'event-8');
    if (!('result' in a) || !('result' in b) || !('result' in c))
      throw new Error('expected results');
    expect(a.result.resultId).toBe(stableId(['icu-risk', 'icu-admission', 'event-7']));
    expect(b.result.resultId).toBe(a.result.resultId);
    expect(c.result.resultId).not.toBe(a.result.resultId);
    // and never equal to the NEWS2 result id of the same trigger
    expect(a.result.resultId).not.toBe(stableId(['icu-risk', 'news2', 'event-7']));
  });

  it('the same state scores the same (deterministic)', async () => {
    const st = state([s('heartRate', 80), s('respiratoryRate', 18), s('spo2', 96)]);
    const a = await learned(st);
    const b = await learned(st);
    expect(b).toEqual(a);
  });
});
