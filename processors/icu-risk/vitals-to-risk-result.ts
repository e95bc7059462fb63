import type { Consciousness } from './news2';
import { NEWS2_MODEL, computeNews2 } from './news2';

/** The decoded VitalSignsSubmitted record (schemas/vital-signs-submitted.v1.avsc). */
export interface VitalSignsSubmitted {
  id: string;
  patientId: string;
  observedAt: number;
  receivedAt: number;
  respiratoryRate: number;
  spo2: number;
  spo2Scale: number;
  supplementalOxygen: boolean;
  systolicBp: number;
  pulse: number;
  consciousness: Consciousness;
  temperature: number;
  source: string;
}

/**
 * Pure mapping of one vitals submission to its NEWS2 RiskResult. The result id is the
 * submission id, so a redelivered submission yields the same result (sinks upsert by it).
 */
export function vitalsToRiskResult(vitals: VitalSignsSubmitted, computedAt: number) {
  if (vitals.spo2Scale !== 1 && vitals.spo2Scale !== 2) {
    throw new RangeError(`spo2Scale must be 1 or 2 (got ${vitals.spo2Scale})`);
  }
  const news2 = computeNews2({ ...vitals, spo2Scale: vitals.spo2Scale });
  return {
    resultId: vitals.id,
    kind: 'news2',
    patientId: vitals.patientId,
    model: NEWS2_MODEL,
    observedAt: vitals.observedAt,
    computedAt,
    score: news2.total,
    band: news2.band,
    news2: { ...news2, subscores: { ...news2.subscores } },
    inputsUsed: {
      respiratoryRate: vitals.respiratoryRate,
      spo2: vitals.spo2,
      spo2Scale: vitals.spo2Scale,
      supplementalOxygen: vitals.supplementalOxygen ? 1 : 0,
      systolicBp: vitals.systolicBp,
      pulse: vitals.pulse,
      consciousness: ['A', 'C', 'V', 'P', 'U'].indexOf(vitals.consciousness),
      temperature: vitals.temperature,
    },
    missingInputs: [] as string[],
    sourceIds: [vitals.id],
    syntheticModel: false,
  };
}
