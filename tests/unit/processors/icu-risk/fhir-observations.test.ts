import {
  CLINICAL_VARIABLES,
  CLINICAL_VARIABLE_NAMES,
} from '../../../../processors/icu-risk/learned-model';
import {
  LOINC,
  type ObservationResource,
  VARIABLES,
  type Variable,
  convert,
  extractSamples,
  observationRef,
} from '../../../../processors/icu-risk/fhir-observations';
import { EngineError } from '../../../../engine/errors';

const LOINC_SYSTEM = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const RECEIVED = Date.parse('2024-05-01T12:00:00Z');
const EFFECTIVE = '2024-05-01T10:30:00Z';

/** A final Observation with one LOINC code and a UCUM valueQuantity. */
function obs(
  loinc: string,
  value: unknown,
  unit: { code?: string; unit?: string; system?: string } | string,
  extra: Partial<ObservationResource> = {},
): ObservationResource {
  const q = typeof unit === 'string' ? { code: unit, unit, system: UCUM } : unit;
  return {
    resourceType: 'Observation',
    id: 'o1',
    status: 'final',
    meta: { versionId: '2' },
    code: { coding: [{ system: LOINC_SYSTEM, code: loinc }] },
    valueQuantity: { value, ...q },
    effectiveDateTime: EFFECTIVE,
    ...extra,
  };
}

/** The single sample's value; fails if there is not exactly one. */
function valueOf(o: ObservationResource): number {
  const { samples } = extractSamples(o, RECEIVED);
  expect(samples).toHaveLength(1);
  return samples[0]!.value;
}

function refusal(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe('VALIDATION_FAILED');
    expect((err as EngineError).retriable).toBe(false);
    return err as EngineError;
  }
  throw new Error('expected a VALIDATION_FAILED EngineError, nothing was thrown');
}

describe('[REQ-FHIR-OBS-01] every LOINC code medstream uses maps to its variable', () => {
  const cases: [string, Variable, number][] = [
    ['9279-1', 'respiratoryRate', 18],
    ['8867-4', 'heartRate', 72],
    ['8480-6', 'systolicBp', 120],
    ['8462-4', 'diastolicBp', 80],
    ['8310-5', 'temperature', 37.2],
    ['8331-1', 'temperature', 36.8],
    ['59408-5', 'spo2', 97],
    ['2708-6', 'spo2', 95],
    ['9269-2', 'gcs', 14],
    ['3151-8', 'oxygenFlow', 2],
    ['3150-0', 'fio2', 40],
    ['1988-5', 'crp', 12],
    ['731-0', 'lymphocytes', 1.2],
    ['26474-7', 'lymphocytes', 1.2],
    ['2160-0', 'creatinine', 0.9],
    ['777-3', 'platelets', 250],
    ['26515-7', 'platelets', 180],
    ['1975-2', 'bilirubin', 0.8],
  ];

  it('the table covers exactly these codes', () => {
    expect(Object.keys(LOINC).sort()).toEqual(cases.map(([code]) => code).sort());
  });

  it.each(cases)('LOINC %s → %s (in its own unit, unchanged)', (code, variable, value) => {
    const { samples, retracted, ignored } = extractSamples(
      obs(code, value, VARIABLES[variable].unit),
      RECEIVED,
    );
    expect(samples).toEqual([
      { variable, value, at: Date.parse(EFFECTIVE), ref: 'Observation/o1/_history/2' },
    ]);
    expect(retracted).toBe(true);
    expect(ignored).toBeUndefined();
  });

  it('finds the LOINC coding among other codings; ignores LOINC codes under another system', () => {
    const o = obs('9279-1', 18, '/min');
    o.code = {
      coding: [
        { system: 'http://snomed.info/sct', code: '86290005' },
        { system: LOINC_SYSTEM, code: '9279-1' },
      ],
    };
    expect(extractSamples(o, RECEIVED).samples[0]!.variable).toBe('respiratoryRate');
    o.code = { coding: [{ system: 'http://example.org/codes', code: '9279-1' }] };
    expect(extractSamples(o, RECEIVED)).toEqual({
      samples: [],
      retracted: true,
      ignored: 'no LOINC code medstream uses, or no value',
    });
  });

  it('an unknown LOINC code gives no samples', () => {
    expect(extractSamples(obs('2339-0', 5.5, 'mmol/L'), RECEIVED).samples).toEqual([]);
  });
});

describe('[REQ-FHIR-OBS-01b] the learned model reads what extraction produces', () => {
  it.each(CLINICAL_VARIABLE_NAMES)(
    '%s: every LOINC code and the unit of its manifest entry',
    (v) => {
      for (const code of CLINICAL_VARIABLES[v].loinc) expect(LOINC[code]).toBe(v);
      expect(CLINICAL_VARIABLES[v].unit).toBe(VARIABLES[v].unit);
    },
  );
});

describe('[REQ-FHIR-OBS-02] UCUM conversions to the model units', () => {
  it('[degF] → Cel', () => {
    expect(valueOf(obs('8310-5', 98.6, '[degF]'))).toBe(37);
    expect(valueOf(obs('8310-5', 102.2, '[degF]'))).toBe(39);
  });

  it('K → Cel', () => {
    expect(valueOf(obs('8310-5', 310.15, 'K'))).toBe(37);
  });

  it('creatinine µmol/L → mg/dL with its molecular weight (113.12 g/mol)', () => {
    // 88.4 µmol/L × 113.12 g/mol = 0.99998 mg/dL (the familiar 88.4 factor)
    expect(valueOf(obs('2160-0', 88.4, 'umol/L'))).toBeCloseTo(1.0, 4);
    expect(valueOf(obs('2160-0', 150, 'umol/L'))).toBeCloseTo((150 * 113.12) / 10_000, 6);
  });

  it('bilirubin µmol/L → mg/dL with its molecular weight (584.66 g/mol)', () => {
    expect(valueOf(obs('1975-2', 17.1, 'umol/L'))).toBeCloseTo(1.0, 3);
    expect(valueOf(obs('1975-2', 34.2, 'umol/L'))).toBeCloseTo((34.2 * 584.66) / 10_000, 6);
  });

  it('CRP mg/dL → mg/L (× 10)', () => {
    expect(valueOf(obs('1988-5', 9.5, 'mg/dL'))).toBe(95);
  });

  it('10*9/L → 10*3/uL (same number), rounded to 6 decimals', () => {
    expect(valueOf(obs('731-0', 0.6, '10*9/L'))).toBe(0.6); // ucum gives 0.6000000000000001
    expect(valueOf(obs('777-3', 250, '10*9/L'))).toBe(250);
  });

  it('lymphocytes /uL → 10*3/uL', () => {
    expect(valueOf(obs('731-0', 1500, '/uL'))).toBe(1.5);
  });

  it('{beats}/min → /min (annotations are unity)', () => {
    expect(valueOf(obs('8867-4', 88, '{beats}/min'))).toBe(88);
    expect(valueOf(obs('9279-1', 22, '{breaths}/min'))).toBe(22);
  });

  it('O2 flow mL/min → L/min; FiO2 as a fraction (unit 1) → %', () => {
    expect(valueOf(obs('3151-8', 2000, 'mL/min'))).toBe(2);
    expect(valueOf(obs('3150-0', 0.4, '1'))).toBe(40);
  });

  it.each([['{score}'], ['{total}'], ['{GCS}'], ['1']])(
    'GCS with unit %p is the plain number',
    (unit) => {
      expect(valueOf(obs('9269-2', 13, unit))).toBe(13);
    },
  );

  it('prefers valueQuantity.code over the unit text', () => {
    // code says °F, display text says °C: the code wins
    expect(valueOf(obs('8310-5', 98.6, { code: '[degF]', unit: 'Cel', system: UCUM }))).toBe(37);
  });

  it('falls back to the unit text when the code does not parse', () => {
    expect(valueOf(obs('8480-6', 120, { code: 'mmHg', unit: 'mm[Hg]', system: UCUM }))).toBe(120);
  });

  it('uses the unit text when the code is not UCUM (another system)', () => {
    expect(
      valueOf(obs('8310-5', 98.6, { code: 'Cel', unit: '[degF]', system: 'http://example.org' })),
    ).toBe(37);
  });

  it('takes a code without a system as UCUM', () => {
    expect(valueOf(obs('1988-5', 1.2, { code: 'mg/dL' }))).toBe(12);
  });
});

describe('[REQ-FHIR-OBS-03] values that cannot be used are refused with the reason', () => {
  it('an unparseable unit → VALIDATION_FAILED naming the unit and the target', () => {
    const err = refusal(() => extractSamples(obs('8480-6', 120, 'mmHg'), RECEIVED));
    expect(err.message).toMatch(/^Observation\/o1: unit cannot be converted to mm\[Hg\] \(/);
    expect(err.message).toContain('"mmHg"');
    expect(err.message).toContain('mmHg is not a valid UCUM code');
  });

  it('every candidate unit is named when code and unit text both fail', () => {
    const err = refusal(() =>
      extractSamples(obs('8867-4', 80, { code: 'bpm', unit: 'beats/min', system: UCUM }), RECEIVED),
    );
    expect(err.message).toContain('"bpm"');
    expect(err.message).toContain('"beats/min"');
  });

  it('a unit of the wrong dimension is refused', () => {
    const err = refusal(() => extractSamples(obs('8310-5', 37, 'mm[Hg]'), RECEIVED));
    expect(err.message).toMatch(/unit cannot be converted to Cel \("mm\[Hg\]": /);
  });

  it('a GCS unit that is neither an annotation nor 1 is converted (and fails)', () => {
    const err = refusal(() => extractSamples(obs('9269-2', 13, 'points'), RECEIVED));
    expect(err.message).toContain('"points"');
  });

  it('no unit → VALIDATION_FAILED', () => {
    expect(refusal(() => extractSamples(obs('8867-4', 80, {}), RECEIVED)).message).toBe(
      'Observation/o1: no unit (valueQuantity.code / unit) — cannot convert to /min',
    );
    // a non-UCUM code and no unit text: no candidate either
    expect(
      refusal(() =>
        extractSamples(obs('8867-4', 80, { code: 'bpm', system: 'http://example.org' }), RECEIVED),
      ).message,
    ).toMatch(/no unit/);
  });

  it('a value that is not a number → VALIDATION_FAILED', () => {
    for (const value of ['80', null, undefined, Number.NaN, Number.POSITIVE_INFINITY])
      expect(refusal(() => extractSamples(obs('8867-4', value, '/min'), RECEIVED)).message).toBe(
        'Observation/o1: valueQuantity.value is not a number',
      );
  });

  it.each([
    ['8310-5', 98.6, 'Cel', 'temperature in °F labelled Cel'],
    ['8310-5', 60, '[degF]', '60 °F'],
    ['59408-5', 101, '%', 'SpO2 > 100'],
    ['8867-4', 301, '/min', 'heart rate 301'],
    ['9269-2', 2, '{score}', 'GCS 2'],
    ['9269-2', 16, '{score}', 'GCS 16'],
    ['3150-0', 0.21, '%', 'FiO2 fraction labelled %'],
    ['2160-0', 88.4, 'mg/dL', 'creatinine µmol/L labelled mg/dL'],
    ['8480-6', -5, 'mm[Hg]', 'a negative pressure'],
  ])('implausible: LOINC %s %p %s (%s)', (code, value, unit) => {
    const err = refusal(() => extractSamples(obs(code, value, unit), RECEIVED));
    expect(err.message).toMatch(/is outside the plausible range/);
  });

  it('the implausible message gives the converted value, the range and the unit', () => {
    expect(refusal(() => extractSamples(obs('8310-5', 122, '[degF]'), RECEIVED)).message).toMatch(
      /^Observation\/o1: 50(\.0+\d*)? Cel is outside the plausible range 25–45 Cel$/,
    );
  });

  it('range edges are plausible', () => {
    expect(valueOf(obs('59408-5', 100, '%'))).toBe(100);
    expect(valueOf(obs('9269-2', 3, '{score}'))).toBe(3);
    expect(valueOf(obs('3151-8', 0, 'L/min'))).toBe(0);
    expect(valueOf(obs('3150-0', 21, '%'))).toBe(21);
  });

  it('convert names the place given', () => {
    expect(() => convert('heartRate', { value: 80 }, 'Observation/x component 1')).toThrow(
      'Observation/x component 1: no unit',
    );
  });
});

describe('[REQ-FHIR-OBS-04] blood-pressure panel (85354-9) with components', () => {
  const panel = (components: ObservationResource['component']): ObservationResource => ({
    resourceType: 'Observation',
    id: 'bp1',
    status: 'final',
    code: { coding: [{ system: LOINC_SYSTEM, code: '85354-9' }] },
    effectiveDateTime: EFFECTIVE,
    component: components,
  });
  const comp = (code: string, value: number, unit = 'mm[Hg]') => ({
    code: { coding: [{ system: LOINC_SYSTEM, code }] },
    valueQuantity: { value, unit, system: UCUM, code: unit },
  });

  it('gives systolic and diastolic samples with the panel reference', () => {
    const { samples, retracted } = extractSamples(
      panel([comp('8480-6', 132), comp('8462-4', 84)]),
      RECEIVED,
    );
    const at = Date.parse(EFFECTIVE);
    expect(samples).toEqual([
      { variable: 'systolicBp', value: 132, at, ref: 'Observation/bp1' },
      { variable: 'diastolicBp', value: 84, at, ref: 'Observation/bp1' },
    ]);
    expect(retracted).toBe(true);
  });

  it('skips a component with a dataAbsentReason or without a value', () => {
    const { samples } = extractSamples(
      panel([
        comp('8480-6', 132),
        {
          code: { coding: [{ system: LOINC_SYSTEM, code: '8462-4' }] },
          dataAbsentReason: { coding: [{ code: 'error' }] },
        },
      ]),
      RECEIVED,
    );
    expect(samples.map((s) => s.variable)).toEqual(['systolicBp']);
  });

  it('names the component when its unit cannot be converted', () => {
    const err = refusal(() =>
      extractSamples(panel([comp('8480-6', 132), comp('8462-4', 84, 'mmHg')]), RECEIVED),
    );
    expect(err.message).toMatch(/^Observation\/bp1 component 1: unit cannot be converted/);
  });
});

describe('[REQ-FHIR-OBS-05] status, absent data and effective time', () => {
  it.each([['final'], ['amended'], ['corrected'], ['preliminary']])(
    'status %s gives samples',
    (status) => {
      expect(extractSamples(obs('8867-4', 80, '/min', { status }), RECEIVED).samples).toHaveLength(
        1,
      );
    },
  );

  it.each([['entered-in-error'], ['cancelled']])(
    'status %s → no samples, retracted (earlier samples must go)',
    (status) => {
      expect(extractSamples(obs('8867-4', 80, '/min', { status }), RECEIVED)).toEqual({
        samples: [],
        retracted: true,
        ignored: `status ${status}`,
      });
    },
  );

  it.each([['registered'], ['unknown'], [undefined]])(
    'status %p → ignored, nothing retracted',
    (status) => {
      const o = obs('8867-4', 80, '/min');
      if (status === undefined) delete o.status;
      else o.status = status;
      expect(extractSamples(o, RECEIVED)).toEqual({
        samples: [],
        retracted: false,
        ignored: `status ${status ?? 'unknown'} carries no result yet`,
      });
    },
  );

  it('a retracted or ignored status does not look at the value (no error for a bad unit)', () => {
    expect(
      extractSamples(obs('8480-6', 120, 'mmHg', { status: 'entered-in-error' }), RECEIVED).samples,
    ).toEqual([]);
    expect(
      extractSamples(obs('8480-6', 120, 'mmHg', { status: 'registered' }), RECEIVED).samples,
    ).toEqual([]);
  });

  it('dataAbsentReason → skipped, no error', () => {
    const o: ObservationResource = {
      resourceType: 'Observation',
      id: 'o1',
      status: 'final',
      code: { coding: [{ system: LOINC_SYSTEM, code: '8867-4' }] },
      dataAbsentReason: { coding: [{ code: 'not-performed' }] },
      effectiveDateTime: EFFECTIVE,
    };
    expect(extractSamples(o, RECEIVED)).toEqual({
      samples: [],
      retracted: true,
      ignored: 'no LOINC code medstream uses, or no value',
    });
    // even with a (bad) value next to it, the value is not used
    expect(
      extractSamples({ ...o, valueQuantity: { value: 80, code: 'bpm' } }, RECEIVED).samples,
    ).toEqual([]);
  });

  it('effective time: effectiveDateTime first', () => {
    const o = obs('8867-4', 80, '/min', {
      effectiveDateTime: '2024-05-01T08:00:00+02:00',
      issued: '2024-05-01T11:00:00Z',
    });
    expect(extractSamples(o, RECEIVED).samples[0]!.at).toBe(Date.parse('2024-05-01T06:00:00Z'));
  });

  it('effective time: effectiveInstant', () => {
    const o = obs('8867-4', 80, '/min', { effectiveInstant: '2024-05-01T09:15:00Z' });
    delete o.effectiveDateTime;
    expect(extractSamples(o, RECEIVED).samples[0]!.at).toBe(Date.parse('2024-05-01T09:15:00Z'));
  });

  it('effective time: effectivePeriod end, else start', () => {
    const o = obs('8867-4', 80, '/min', {
      effectivePeriod: { start: '2024-05-01T09:00:00Z', end: '2024-05-01T09:30:00Z' },
    });
    delete o.effectiveDateTime;
    expect(extractSamples(o, RECEIVED).samples[0]!.at).toBe(Date.parse('2024-05-01T09:30:00Z'));
    o.effectivePeriod = { start: '2024-05-01T09:00:00Z' };
    expect(extractSamples(o, RECEIVED).samples[0]!.at).toBe(Date.parse('2024-05-01T09:00:00Z'));
  });

  it('effective time: issued when there is no effective[x]', () => {
    const o = obs('8867-4', 80, '/min', { issued: '2024-05-01T11:00:00.000Z' });
    delete o.effectiveDateTime;
    expect(extractSamples(o, RECEIVED).samples[0]!.at).toBe(Date.parse('2024-05-01T11:00:00Z'));
  });

  it('effective time: the receive time as the fallback', () => {
    const o = obs('8867-4', 80, '/min');
    delete o.effectiveDateTime;
    expect(extractSamples(o, RECEIVED).samples[0]!.at).toBe(RECEIVED);
  });

  it('a date-only effectiveDateTime is midnight UTC', () => {
    const o = obs('8867-4', 80, '/min', { effectiveDateTime: '2024-05-01' });
    expect(extractSamples(o, RECEIVED).samples[0]!.at).toBe(Date.parse('2024-05-01T00:00:00Z'));
  });

  it('an effective time that is not a date → VALIDATION_FAILED', () => {
    expect(
      refusal(() =>
        extractSamples(obs('8867-4', 80, '/min', { effectiveDateTime: 'yesterday' }), RECEIVED),
      ).message,
    ).toBe('effective time "yesterday" is not a date');
  });
});

describe('[REQ-FHIR-OBS-06] observationRef', () => {
  it('versioned when the server gave a versionId', () => {
    expect(observationRef({ id: 'a', meta: { versionId: '3' } })).toBe('Observation/a/_history/3');
    expect(observationRef({ id: 'a' })).toBe('Observation/a');
    expect(observationRef({ id: 'a', meta: {} })).toBe('Observation/a');
  });
});
