import type { Sample, Variable } from '../../../../processors/icu-risk/fhir-observations';
import {
  type PatientState,
  type StateLimits,
  ageInYears,
  emptyState,
  freshSeries,
  withObservation,
  withPatient,
} from '../../../../processors/icu-risk/patient-state';

const H = 3600_000;
const T0 = Date.parse('2024-05-01T12:00:00Z');
const limits: StateLimits = { retentionHours: 48, maxSamplesPerVariable: 3 };

const sample = (variable: Variable, value: number, at: number, ref: string): Sample => ({
  variable,
  value,
  at,
  ref,
});

describe('[REQ-ICU-STATE-01] withObservation replaces the samples of one Observation', () => {
  it('adds samples, sorted by time, and records updatedAt', () => {
    let s = emptyState('Patient/p1');
    s = withObservation(
      s,
      'Observation/b',
      [sample('heartRate', 90, T0, 'Observation/b')],
      limits,
      5,
    );
    s = withObservation(
      s,
      'Observation/a',
      [sample('heartRate', 80, T0 - H, 'Observation/a/_history/1')],
      limits,
      6,
    );
    expect(s.samples.map((x) => x.value)).toEqual([80, 90]);
    expect(s.updatedAt).toBe(6);
    expect(s.patientRef).toBe('Patient/p1');
  });

  it('applying the same Observation again gives the same state (idempotent)', () => {
    const bp = [
      sample('systolicBp', 130, T0, 'Observation/bp/_history/1'),
      sample('diastolicBp', 85, T0, 'Observation/bp/_history/1'),
    ];
    const hr = [sample('heartRate', 70, T0 - H, 'Observation/hr/_history/1')];
    let once = withObservation(emptyState('Patient/p1'), 'Observation/hr', hr, limits, 1);
    once = withObservation(once, 'Observation/bp', bp, limits, 1);
    const twice = withObservation(once, 'Observation/bp', bp, limits, 1);
    expect(twice).toEqual(once);
    const thrice = withObservation(twice, 'Observation/hr', hr, limits, 1);
    expect(thrice).toEqual(once);
  });

  it('a new version replaces every sample of the earlier version', () => {
    let s = withObservation(
      emptyState('Patient/p1'),
      'Observation/bp',
      [
        sample('systolicBp', 130, T0, 'Observation/bp/_history/1'),
        sample('diastolicBp', 85, T0, 'Observation/bp/_history/1'),
      ],
      limits,
      1,
    );
    s = withObservation(
      s,
      'Observation/bp',
      [sample('systolicBp', 135, T0, 'Observation/bp/_history/2')],
      limits,
      2,
    );
    expect(s.samples).toEqual([sample('systolicBp', 135, T0, 'Observation/bp/_history/2')]);
  });

  it('no samples (deleted / entered-in-error) removes the Observation, nothing else', () => {
    let s = withObservation(
      emptyState('Patient/p1'),
      'Observation/a',
      [sample('heartRate', 80, T0, 'Observation/a')],
      limits,
      1,
    );
    s = withObservation(
      s,
      'Observation/ab',
      [sample('heartRate', 81, T0, 'Observation/ab')],
      limits,
      1,
    );
    s = withObservation(s, 'Observation/a', [], limits, 2);
    expect(s.samples.map((x) => x.ref)).toEqual(['Observation/ab']);
  });

  it('does not modify the state it was given', () => {
    const before = emptyState('Patient/p1');
    const frozen = JSON.stringify(before);
    withObservation(
      before,
      'Observation/a',
      [sample('heartRate', 80, T0, 'Observation/a')],
      limits,
      1,
    );
    expect(JSON.stringify(before)).toBe(frozen);
  });
});

describe('[REQ-ICU-STATE-02] pruning: retention relative to the newest sample, per-variable cap', () => {
  it('drops samples older than retentionHours before the newest sample (not the clock)', () => {
    const old = sample('crp', 10, T0 - 49 * H, 'Observation/old');
    const edge = sample('crp', 11, T0 - 48 * H, 'Observation/edge');
    let s = withObservation(emptyState('Patient/p1'), 'Observation/old', [old], limits, 0);
    s = withObservation(s, 'Observation/edge', [edge], limits, 0);
    // the newest sample is only 1 h after `old`: both kept
    expect(s.samples).toHaveLength(2);
    s = withObservation(
      s,
      'Observation/new',
      [sample('heartRate', 70, T0, 'Observation/new')],
      limits,
      0,
    );
    expect(s.samples.map((x) => x.ref)).toEqual(['Observation/edge', 'Observation/new']);
  });

  it('an older Observation arriving late does not prune the newer ones', () => {
    let s = withObservation(
      emptyState('Patient/p1'),
      'Observation/new',
      [sample('heartRate', 70, T0, 'Observation/new')],
      limits,
      0,
    );
    s = withObservation(
      s,
      'Observation/ancient',
      [sample('heartRate', 60, T0 - 100 * H, 'Observation/ancient')],
      limits,
      0,
    );
    expect(s.samples.map((x) => x.ref)).toEqual(['Observation/new']);
  });

  it('keeps at most maxSamplesPerVariable per variable (the newest)', () => {
    let s = emptyState('Patient/p1');
    for (let i = 0; i < 5; i++)
      s = withObservation(
        s,
        `Observation/hr${i}`,
        [sample('heartRate', 60 + i, T0 + i * H, `Observation/hr${i}`)],
        limits,
        0,
      );
    s = withObservation(
      s,
      'Observation/rr',
      [sample('respiratoryRate', 18, T0, 'Observation/rr')],
      limits,
      0,
    );
    expect(s.samples.filter((x) => x.variable === 'heartRate').map((x) => x.value)).toEqual([
      62, 63, 64,
    ]);
    expect(s.samples.filter((x) => x.variable === 'respiratoryRate')).toHaveLength(1);
  });

  it('at equal times the order is deterministic (by ref within a variable)', () => {
    const a = sample('heartRate', 1, T0, 'Observation/a');
    const b = sample('heartRate', 2, T0, 'Observation/b');
    const c = sample('heartRate', 3, T0, 'Observation/c');
    const one = [a, b, c].reduce(
      (s, x) => withObservation(s, x.ref, [x], { ...limits, maxSamplesPerVariable: 2 }, 0),
      emptyState('Patient/p1'),
    );
    const other = [c, a, b].reduce(
      (s, x) => withObservation(s, x.ref, [x], { ...limits, maxSamplesPerVariable: 2 }, 0),
      emptyState('Patient/p1'),
    );
    expect(one.samples).toEqual([b, c]);
    expect(other.samples).toEqual(one.samples);
  });
});

describe('[REQ-ICU-STATE-03] withPatient', () => {
  it('records birth date and version, keeps the samples', () => {
    const s = withObservation(
      emptyState('Patient/p1'),
      'Observation/a',
      [sample('heartRate', 80, T0, 'Observation/a')],
      limits,
      1,
    );
    const p = withPatient(s, '1950-02-03', 'Patient/p1/_history/2', 9);
    expect(p).toEqual({
      ...s,
      birthDate: '1950-02-03',
      patientVersion: 'Patient/p1/_history/2',
      updatedAt: 9,
    });
    expect(emptyState('Patient/x')).toEqual({
      patientRef: 'Patient/x',
      birthDate: null,
      patientVersion: null,
      samples: [],
      updatedAt: 0,
    });
  });
});

describe('[REQ-ICU-STATE-04] freshSeries: vitals and labs windows before asOf', () => {
  const state: PatientState = {
    ...emptyState('Patient/p1'),
    samples: [
      sample('heartRate', 70, T0 - 7 * H, 'Observation/hr-old'),
      sample('heartRate', 72, T0 - 6 * H, 'Observation/hr-edge'),
      sample('heartRate', 75, T0 - H, 'Observation/hr-1h'),
      sample('heartRate', 99, T0 + 1, 'Observation/hr-future'),
      sample('crp', 30, T0 - 73 * H, 'Observation/crp-old'),
      sample('crp', 40, T0 - 72 * H, 'Observation/crp-edge'),
      sample('crp', 50, T0 - 10 * H, 'Observation/crp-10h'),
      sample('gcs', 15, T0, 'Observation/gcs-now'),
    ],
  };
  const freshness = { vitalsHours: 6, labsHours: 72 };

  it('keeps each variable within its window (edges included), nothing after asOf, oldest first', () => {
    const series = freshSeries(state, T0, freshness);
    expect(series.heartRate?.map((s) => s.value)).toEqual([72, 75]);
    expect(series.crp?.map((s) => s.value)).toEqual([40, 50]);
    expect(series.gcs?.map((s) => s.value)).toEqual([15]);
    expect(Object.keys(series).sort()).toEqual(['crp', 'gcs', 'heartRate']);
  });

  it('a lab older than the vitals window is still fresh; a vital is not', () => {
    const series = freshSeries(state, T0 + 5 * H, freshness);
    expect(series.heartRate?.map((s) => s.value)).toEqual([75, 99]);
    expect(series.crp?.map((s) => s.value)).toEqual([50]);
  });

  it('variables with nothing fresh are absent', () => {
    expect(freshSeries(state, T0 + 100 * H, freshness)).toEqual({});
    expect(freshSeries(emptyState('Patient/p1'), T0, freshness)).toEqual({});
  });
});

describe('[REQ-ICU-STATE-05] ageInYears from a FHIR birthDate', () => {
  const at = (iso: string) => Date.parse(iso);

  it('full date: the birthday itself counts, the day before does not', () => {
    expect(ageInYears('1950-03-15', at('2020-03-15T00:00:00Z'))).toBe(70);
    expect(ageInYears('1950-03-15', at('2020-03-14T23:59:59Z'))).toBe(69);
    expect(ageInYears('1950-03-15', at('2020-02-20T12:00:00Z'))).toBe(69);
    expect(ageInYears('1950-03-15', at('2020-04-01T12:00:00Z'))).toBe(70);
  });

  it('29 February: a year older from 1 March in common years', () => {
    expect(ageInYears('2000-02-29', at('2021-02-28T12:00:00Z'))).toBe(20);
    expect(ageInYears('2000-02-29', at('2021-03-01T00:00:00Z'))).toBe(21);
    expect(ageInYears('2000-02-29', at('2024-02-29T00:00:00Z'))).toBe(24);
  });

  it('year only: taken as mid-year (1 July)', () => {
    expect(ageInYears('1950', at('2020-07-01T00:00:00Z'))).toBe(70);
    expect(ageInYears('1950', at('2020-06-30T23:59:59Z'))).toBe(69);
  });

  it('year and month: the first of the month', () => {
    expect(ageInYears('1950-03', at('2020-03-01T00:00:00Z'))).toBe(70);
    expect(ageInYears('1950-03', at('2020-02-29T23:00:00Z'))).toBe(69);
  });

  it('a birth date with a time part uses its date', () => {
    expect(ageInYears('1950-03-15T08:00:00Z', at('2020-03-15T00:00:00Z'))).toBe(70);
  });

  it('newborns are 0', () => {
    expect(ageInYears('2024-05-01', at('2024-05-01T12:00:00Z'))).toBe(0);
  });

  it.each([
    ['null', null],
    ['empty', ''],
    ['not a date', 'unknown'],
    ['in the future', '2030-01-01'],
    ['150 years or more ago', '1850-01-01'],
  ])('undefined when the birth date is %s', (_what, birthDate) => {
    expect(ageInYears(birthDate, at('2024-05-01T12:00:00Z'))).toBeUndefined();
  });
});
