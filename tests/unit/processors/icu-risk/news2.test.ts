import {
  type News2Input,
  NEWS2_MODEL,
  computeNews2,
  news2Band,
  news2Subscores,
  scoreSpo2,
} from '../../../../processors/icu-risk/news2';
import { vitalsToRiskResult } from '../../../../processors/icu-risk/vitals-to-risk-result';
import type { VitalSignsSubmitted } from '../../../../schemas/records';

/** Every parameter in its 0 band: RR 16, SpO2 98 % (scale 1) on air, SBP 120, pulse 70, Alert, 37.0 °C. */
const normal: News2Input = {
  respiratoryRate: 16,
  spo2: 98,
  spo2Scale: 1,
  supplementalOxygen: false,
  systolicBp: 120,
  pulse: 70,
  consciousness: 'A',
  temperature: 37.0,
};

const withInput = (patch: Partial<News2Input>): News2Input => ({ ...normal, ...patch });

describe('[REQ-NEWS2-01] NEWS2 baseline', () => {
  it('scores a patient with every parameter in its normal band as 0 / low', () => {
    expect(computeNews2(normal)).toEqual({
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
    });
  });
});

describe('[REQ-NEWS2-02] respiratory rate bands (≤8→3, 9–11→1, 12–20→0, 21–24→2, ≥25→3)', () => {
  it.each([
    [0, 3],
    [8, 3],
    [8.5, 1],
    [9, 1],
    [11, 1],
    [12, 0],
    [20, 0],
    [21, 2],
    [24, 2],
    [25, 3],
    [60, 3],
  ])('respiratory rate %p scores %p', (respiratoryRate, expected) => {
    expect(news2Subscores(withInput({ respiratoryRate })).respiratoryRate).toBe(expected);
  });
});

describe('[REQ-NEWS2-03] SpO2 scale 1 bands (≤91→3, 92–93→2, 94–95→1, ≥96→0)', () => {
  it.each([
    [50, 3],
    [91, 3],
    [92, 2],
    [93, 2],
    [94, 1],
    [95, 1],
    [96, 0],
    [100, 0],
  ])('SpO2 %p on scale 1 scores %p on air and on oxygen', (spo2, expected) => {
    expect(scoreSpo2(spo2, 1, false)).toBe(expected);
    expect(scoreSpo2(spo2, 1, true)).toBe(expected);
    expect(news2Subscores(withInput({ spo2, spo2Scale: 1 })).spo2).toBe(expected);
  });
});

describe('[REQ-NEWS2-04] SpO2 scale 2 bands (hypercapnic respiratory failure)', () => {
  it.each([
    [50, 3],
    [83, 3],
    [84, 2],
    [85, 2],
    [86, 1],
    [87, 1],
    [88, 0],
    [92, 0],
  ])('SpO2 %p (≤92) on scale 2 scores %p whether on air or oxygen', (spo2, expected) => {
    expect(scoreSpo2(spo2, 2, false)).toBe(expected);
    expect(scoreSpo2(spo2, 2, true)).toBe(expected);
  });

  it.each([93, 94, 95, 96, 97, 100])('SpO2 %p on scale 2 on air scores 0', (spo2) => {
    expect(scoreSpo2(spo2, 2, false)).toBe(0);
    expect(news2Subscores(withInput({ spo2, spo2Scale: 2, supplementalOxygen: false })).spo2).toBe(
      0,
    );
  });

  it.each([
    [92, 0],
    [93, 1],
    [94, 1],
    [95, 2],
    [96, 2],
    [97, 3],
    [100, 3],
  ])('SpO2 %p on scale 2 on oxygen scores %p', (spo2, expected) => {
    expect(scoreSpo2(spo2, 2, true)).toBe(expected);
    expect(news2Subscores(withInput({ spo2, spo2Scale: 2, supplementalOxygen: true })).spo2).toBe(
      expected,
    );
  });

  it('keeps the scale in the result', () => {
    expect(computeNews2(withInput({ spo2: 90, spo2Scale: 2 })).spo2Scale).toBe(2);
  });
});

describe('[REQ-NEWS2-05] air or oxygen (oxygen → 2)', () => {
  it.each([
    [false, 0],
    [true, 2],
  ])('supplementalOxygen %p scores %p', (supplementalOxygen, expected) => {
    expect(news2Subscores(withInput({ supplementalOxygen })).supplementalOxygen).toBe(expected);
  });
});

describe('[REQ-NEWS2-06] systolic blood pressure bands (≤90→3, 91–100→2, 101–110→1, 111–219→0, ≥220→3)', () => {
  it.each([
    [40, 3],
    [90, 3],
    [91, 2],
    [100, 2],
    [101, 1],
    [110, 1],
    [111, 0],
    [219, 0],
    [220, 3],
    [300, 3],
  ])('systolic BP %p scores %p', (systolicBp, expected) => {
    expect(news2Subscores(withInput({ systolicBp })).systolicBp).toBe(expected);
  });
});

describe('[REQ-NEWS2-07] pulse bands (≤40→3, 41–50→1, 51–90→0, 91–110→1, 111–130→2, ≥131→3)', () => {
  it.each([
    [20, 3],
    [40, 3],
    [41, 1],
    [50, 1],
    [51, 0],
    [90, 0],
    [91, 1],
    [110, 1],
    [111, 2],
    [130, 2],
    [131, 3],
    [250, 3],
  ])('pulse %p scores %p', (pulse, expected) => {
    expect(news2Subscores(withInput({ pulse })).pulse).toBe(expected);
  });
});

describe('[REQ-NEWS2-08] consciousness (A→0, new confusion/V/P/U→3)', () => {
  it.each([
    ['A', 0],
    ['C', 3],
    ['V', 3],
    ['P', 3],
    ['U', 3],
  ] as const)('ACVPU %p scores %p', (consciousness, expected) => {
    expect(news2Subscores(withInput({ consciousness })).consciousness).toBe(expected);
  });
});

describe('[REQ-NEWS2-09] temperature bands (≤35.0→3, 35.1–36.0→1, 36.1–38.0→0, 38.1–39.0→1, ≥39.1→2)', () => {
  it.each([
    [30, 3],
    [35.0, 3],
    [35.05, 1],
    [35.1, 1],
    [36.0, 1],
    [36.1, 0],
    [38.0, 0],
    [38.1, 1],
    [39.0, 1],
    [39.1, 2],
    [42, 2],
  ])('temperature %p °C scores %p', (temperature, expected) => {
    expect(news2Subscores(withInput({ temperature })).temperature).toBe(expected);
  });
});

describe('[REQ-NEWS2-10] aggregate score and clinical risk band (RCP Table 2)', () => {
  it.each([
    [0, false, 'low'],
    [4, false, 'low'],
    [1, true, 'low-medium'],
    [4, true, 'low-medium'],
    [5, false, 'medium'],
    [5, true, 'medium'],
    [6, true, 'medium'],
    [7, false, 'high'],
    [7, true, 'high'],
    [20, true, 'high'],
  ] as const)('news2Band(%p, anyThree=%p) is %p', (total, anyThree, band) => {
    expect(news2Band(total, anyThree)).toBe(band);
  });

  it.each([
    // [description, input patch, total, band, anySingleParameterThree]
    [
      'RR 21 (2) + SBP 95 (2) = 4, no single 3',
      { respiratoryRate: 21, systolicBp: 95 },
      4,
      'low',
      false,
    ],
    ['single 3 alone (voice) = 3', { consciousness: 'V' }, 3, 'low-medium', true],
    [
      'RR 25 (3) + pulse 95 (1) = 4 with a 3',
      { respiratoryRate: 25, pulse: 95 },
      4,
      'low-medium',
      true,
    ],
    [
      'RR 21 (2) + SBP 95 (2) + pulse 95 (1) = 5',
      { respiratoryRate: 21, systolicBp: 95, pulse: 95 },
      5,
      'medium',
      false,
    ],
    [
      'RR 25 (3) + SBP 95 (2) = 5 with a 3',
      { respiratoryRate: 25, systolicBp: 95 },
      5,
      'medium',
      true,
    ],
    [
      'RR 21 (2) + SBP 95 (2) + oxygen (2) = 6',
      { respiratoryRate: 21, systolicBp: 95, supplementalOxygen: true },
      6,
      'medium',
      false,
    ],
    [
      'SpO2 91 (3) + temp 39.1 (2) + pulse 95 (1) = 6 with a 3',
      { spo2: 91, temperature: 39.1, pulse: 95 },
      6,
      'medium',
      true,
    ],
    [
      'RR 21 (2) + SBP 95 (2) + oxygen (2) + pulse 95 (1) = 7',
      { respiratoryRate: 21, systolicBp: 95, supplementalOxygen: true, pulse: 95 },
      7,
      'high',
      false,
    ],
    [
      'every parameter at its worst = 20',
      {
        respiratoryRate: 30,
        spo2: 85,
        supplementalOxygen: true,
        systolicBp: 80,
        pulse: 140,
        consciousness: 'U',
        temperature: 34,
      },
      20,
      'high',
      true,
    ],
  ] as const)('%s', (_name, patch, total, band, anyThree) => {
    const result = computeNews2(withInput(patch));
    expect(result.total).toBe(total);
    expect(result.band).toBe(band);
    expect(result.anySingleParameterThree).toBe(anyThree);
  });

  it('the total is the sum of the subscores', () => {
    const result = computeNews2(
      withInput({
        respiratoryRate: 10,
        spo2: 93,
        supplementalOxygen: true,
        systolicBp: 105,
        pulse: 115,
        temperature: 38.5,
      }),
    );
    expect(result.subscores).toEqual({
      respiratoryRate: 1,
      spo2: 2,
      supplementalOxygen: 2,
      systolicBp: 1,
      pulse: 2,
      consciousness: 0,
      temperature: 1,
    });
    expect(result.total).toBe(9);
    expect(result.band).toBe('high');
    expect(result.anySingleParameterThree).toBe(false);
  });

  it('oxygen scoring 2 is not a "red score" of 3', () => {
    const result = computeNews2(withInput({ supplementalOxygen: true }));
    expect(result.total).toBe(2);
    expect(result.band).toBe('low');
    expect(result.anySingleParameterThree).toBe(false);
  });
});

describe('[REQ-NEWS2-11] vitalsToRiskResult maps a submission to its RiskResult', () => {
  const vitals: VitalSignsSubmitted = {
    id: '6f1c1d52-6c0e-4c39-9b8e-1d2a3b4c5d6e',
    patientId: 'P-001',
    observedAt: 1_700_000_000_000,
    receivedAt: 1_700_000_001_000,
    respiratoryRate: 25,
    spo2: 95,
    spo2Scale: 1,
    supplementalOxygen: true,
    systolicBp: 105,
    pulse: 95,
    consciousness: 'P',
    temperature: 38.5,
    source: 'http',
  };

  it('uses the submission id as result id and names the model news2@rcp-2017', () => {
    const result = vitalsToRiskResult(vitals, 1_700_000_002_000);
    expect(result.resultId).toBe(vitals.id);
    expect(result.model).toBe('news2@rcp-2017');
    expect(NEWS2_MODEL).toBe('news2@rcp-2017');
  });

  it('carries the full score, inputs and provenance', () => {
    expect(vitalsToRiskResult(vitals, 1_700_000_002_000)).toEqual({
      resultId: vitals.id,
      kind: 'news2',
      patientId: 'P-001',
      model: 'news2@rcp-2017',
      observedAt: 1_700_000_000_000,
      computedAt: 1_700_000_002_000,
      score: 12,
      band: 'high',
      news2: {
        total: 12,
        band: 'high',
        anySingleParameterThree: true,
        spo2Scale: 1,
        subscores: {
          respiratoryRate: 3,
          spo2: 1,
          supplementalOxygen: 2,
          systolicBp: 1,
          pulse: 1,
          consciousness: 3,
          temperature: 1,
        },
      },
      inputsUsed: {
        respiratoryRate: 25,
        spo2: 95,
        spo2Scale: 1,
        supplementalOxygen: 1,
        systolicBp: 105,
        pulse: 95,
        consciousness: 3,
        temperature: 38.5,
      },
      missingInputs: [],
      sourceIds: [vitals.id],
      syntheticModel: false,
    });
  });

  it('encodes consciousness as its ACVPU index and air as 0', () => {
    const result = vitalsToRiskResult(
      { ...vitals, consciousness: 'A', supplementalOxygen: false },
      0,
    );
    expect(result.inputsUsed.consciousness).toBe(0);
    expect(result.inputsUsed.supplementalOxygen).toBe(0);
  });

  it('scores with scale 2 when the submission asks for it', () => {
    const result = vitalsToRiskResult({ ...vitals, spo2Scale: 2, spo2: 97 }, 0);
    expect(result.news2.spo2Scale).toBe(2);
    expect(result.news2.subscores.spo2).toBe(3);
  });

  it.each([0, 3, 1.5, -1])('throws a RangeError for spo2Scale %p', (spo2Scale) => {
    expect(() => vitalsToRiskResult({ ...vitals, spo2Scale }, 0)).toThrow(RangeError);
    expect(() => vitalsToRiskResult({ ...vitals, spo2Scale }, 0)).toThrow(
      `spo2Scale must be 1 or 2 (got ${spo2Scale})`,
    );
  });
});
