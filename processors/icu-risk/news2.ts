/**
 * National Early Warning Score 2 — Royal College of Physicians, 2017 (Chart 1 and Table 2).
 * Pure functions; every band edge is unit-tested.
 *
 * Values between the chart's printed integers (e.g. a respiratory rate of 11.5) are placed by
 * upper bound: a value scores in the first band whose printed upper limit it does not exceed.
 */

export type Consciousness = 'A' | 'C' | 'V' | 'P' | 'U';
export type News2Band = 'low' | 'low-medium' | 'medium' | 'high';

export interface News2Input {
  respiratoryRate: number;
  spo2: number;
  /** 2 only for patients with hypercapnic respiratory failure on a prescribed 88–92 % target. */
  spo2Scale: 1 | 2;
  supplementalOxygen: boolean;
  systolicBp: number;
  pulse: number;
  consciousness: Consciousness;
  /** °C */
  temperature: number;
}

export interface News2Subscores {
  respiratoryRate: number;
  spo2: number;
  supplementalOxygen: number;
  systolicBp: number;
  pulse: number;
  consciousness: number;
  temperature: number;
}

export interface News2Result {
  total: number;
  band: News2Band;
  /** A "red score": 3 in any single parameter (RCP: urgent ward-based response). */
  anySingleParameterThree: boolean;
  spo2Scale: 1 | 2;
  subscores: News2Subscores;
}

export const NEWS2_MODEL = 'news2@rcp-2017';

/** [upper bound inclusive, score] pairs, scanned in order; the last one is open-ended. */
type Bands = ReadonlyArray<readonly [number, number]>;

const scoreBy = (value: number, bands: Bands): number => {
  for (const [upper, score] of bands) if (value <= upper) return score;
  return (bands[bands.length - 1] as readonly [number, number])[1];
};

const RESPIRATORY_RATE: Bands = [
  [8, 3],
  [11, 1],
  [20, 0],
  [24, 2],
  [Infinity, 3],
];
const SPO2_SCALE_1: Bands = [
  [91, 3],
  [93, 2],
  [95, 1],
  [Infinity, 0],
];
/** Scale 2 below 93 %, the same whether on air or oxygen. */
const SPO2_SCALE_2_LOW: Bands = [
  [83, 3],
  [85, 2],
  [87, 1],
  [92, 0],
];
/** Scale 2 at 93 % or more while on oxygen (on air these score 0). */
const SPO2_SCALE_2_HIGH_ON_O2: Bands = [
  [94, 1],
  [96, 2],
  [Infinity, 3],
];
const SYSTOLIC_BP: Bands = [
  [90, 3],
  [100, 2],
  [110, 1],
  [219, 0],
  [Infinity, 3],
];
const PULSE: Bands = [
  [40, 3],
  [50, 1],
  [90, 0],
  [110, 1],
  [130, 2],
  [Infinity, 3],
];
const TEMPERATURE: Bands = [
  [35.0, 3],
  [36.0, 1],
  [38.0, 0],
  [39.0, 1],
  [Infinity, 2],
];

export function scoreSpo2(spo2: number, scale: 1 | 2, onOxygen: boolean): number {
  if (scale === 1) return scoreBy(spo2, SPO2_SCALE_1);
  if (spo2 <= 92) return scoreBy(spo2, SPO2_SCALE_2_LOW);
  return onOxygen ? scoreBy(spo2, SPO2_SCALE_2_HIGH_ON_O2) : 0;
}

export function news2Subscores(input: News2Input): News2Subscores {
  return {
    respiratoryRate: scoreBy(input.respiratoryRate, RESPIRATORY_RATE),
    spo2: scoreSpo2(input.spo2, input.spo2Scale, input.supplementalOxygen),
    supplementalOxygen: input.supplementalOxygen ? 2 : 0,
    systolicBp: scoreBy(input.systolicBp, SYSTOLIC_BP),
    pulse: scoreBy(input.pulse, PULSE),
    consciousness: input.consciousness === 'A' ? 0 : 3,
    temperature: scoreBy(input.temperature, TEMPERATURE),
  };
}

/** RCP Table 2: 0–4 low (low-medium with any single 3), 5–6 medium, 7+ high. */
export function news2Band(total: number, anySingleParameterThree: boolean): News2Band {
  if (total >= 7) return 'high';
  if (total >= 5) return 'medium';
  return anySingleParameterThree ? 'low-medium' : 'low';
}

export function computeNews2(input: News2Input): News2Result {
  const subscores = news2Subscores(input);
  const values = Object.values(subscores);
  const total = values.reduce((a, b) => a + b, 0);
  const anySingleParameterThree = values.some((v) => v === 3);
  return {
    total,
    band: news2Band(total, anySingleParameterThree),
    anySingleParameterThree,
    spo2Scale: input.spo2Scale,
    subscores,
  };
}
