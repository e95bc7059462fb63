import type { VitalSignsSubmitted } from '../../schemas/records';
import { NEWS2_MODEL, computeNews2 } from './news2';

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
