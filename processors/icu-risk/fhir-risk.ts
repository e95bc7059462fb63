/**
 * Risk results from a patient's FHIR-derived state: NEWS2 (RCP 2017, when its five measured
 * parameters are fresh) and the learned ICU-admission model. Pure apart from the model call.
 * Every result lists what it used (with the source Observation versions), what was missing and
 * what was imputed — nothing is filled in silently.
 */
import { stableId } from '../../engine/ids';
import type { Sample, Variable } from './fhir-observations';
import type { IcuRiskModel } from './learned-model';
import { CLINICAL_VARIABLE_NAMES, featuresFromSeries } from './learned-model';
import { NEWS2_MODEL, computeNews2 } from './news2';
import { type Freshness, type PatientState, ageInYears, freshSeries } from './patient-state';
import type { RiskResult } from '../../schemas/records';

export interface RiskSettings {
  freshness: Freshness;
  /** NEWS2 SpO2 scale (2 only for a prescribed 88–92 % target in hypercapnic failure). */
  spo2Scale: 1 | 2;
  /** The learned model scores only when at least this many of its variables are fresh. */
  minLearnedInputs: number;
}

const NEWS2_MEASURED: readonly [Variable, string][] = [
  ['respiratoryRate', 'respiratory rate (LOINC 9279-1)'],
  ['spo2', 'SpO2 (LOINC 59408-5 / 2708-6)'],
  ['systolicBp', 'systolic blood pressure (LOINC 8480-6)'],
  ['heartRate', 'heart rate (LOINC 8867-4)'],
  ['temperature', 'body temperature (LOINC 8310-5)'],
];

const latest = (list: Sample[] | undefined) => list?.[list.length - 1];
const unique = (refs: Iterable<string>) => [...new Set(refs)].sort();

/** The NEWS2 result at `asOf`, or the measured parameters that are missing. */
export function news2FromState(
  state: PatientState,
  asOf: number,
  settings: RiskSettings,
  trigger: string,
  computedAt: number,
): { result: RiskResult } | { missing: string[] } {
  const series = freshSeries(state, asOf, settings.freshness);
  const missing = NEWS2_MEASURED.filter(([v]) => !series[v]?.length).map(([, label]) => label);
  if (missing.length > 0) return { missing };
  const value = (v: Variable) => (latest(series[v]) as Sample).value;
  const imputedInputs: string[] = [];
  const gcs = latest(series.gcs);
  if (!gcs) imputedInputs.push('consciousness: no GCS (LOINC 9269-2) — scored as Alert');
  const flow = latest(series.oxygenFlow);
  const fio2 = latest(series.fio2);
  const onOxygen =
    (flow !== undefined && flow.value > 0) || (fio2 !== undefined && fio2.value > 21);
  if (!flow && !fio2)
    imputedInputs.push(
      'supplemental oxygen: no O2 flow (LOINC 3151-8) or FiO2 (3150-0) — scored as room air',
    );
  const news2 = computeNews2({
    respiratoryRate: value('respiratoryRate'),
    spo2: value('spo2'),
    spo2Scale: settings.spo2Scale,
    supplementalOxygen: onOxygen,
    systolicBp: value('systolicBp'),
    pulse: value('heartRate'),
    // GCS 15 = alert; anything lower is scored like new confusion (3 points)
    consciousness: !gcs || gcs.value >= 15 ? 'A' : 'C',
    temperature: value('temperature'),
  });
  const used = [
    ...NEWS2_MEASURED.map(([v]) => latest(series[v]) as Sample),
    gcs,
    flow,
    fio2,
  ].filter((s): s is Sample => s !== undefined);
  return {
    result: {
      resultId: stableId(['icu-risk', 'news2', trigger]),
      kind: 'news2',
      patientId: state.patientRef,
      model: NEWS2_MODEL,
      observedAt: asOf,
      computedAt,
      score: news2.total,
      band: news2.band,
      news2: { ...news2, subscores: { ...news2.subscores } },
      inputsUsed: {
        ...Object.fromEntries(used.map((s) => [s.variable, s.value])),
        spo2Scale: settings.spo2Scale,
        supplementalOxygen: onOxygen ? 1 : 0,
      },
      missingInputs: [],
      imputedInputs,
      sourceIds: unique(used.map((s) => s.ref)),
      syntheticModel: false,
    },
  };
}

/** The learned model's result at `asOf`, or why it did not score. */
export async function learnedFromState(
  state: PatientState,
  asOf: number,
  settings: RiskSettings,
  model: IcuRiskModel,
  trigger: string,
  computedAt: number,
): Promise<{ result: RiskResult } | { missing: string[] }> {
  const series = freshSeries(state, asOf, settings.freshness);
  const present = CLINICAL_VARIABLE_NAMES.filter((v) => series[v]?.length);
  const missing = CLINICAL_VARIABLE_NAMES.filter((v) => !series[v]?.length);
  const age = ageInYears(state.birthDate, asOf);
  if (present.length < settings.minLearnedInputs) return { missing };
  const points = Object.fromEntries(
    present.map((v) => [v, (series[v] as Sample[]).map((s) => ({ value: s.value, at: s.at }))]),
  );
  const scored = await model.score(featuresFromSeries(points, age));
  const sources = present.flatMap((v) => (series[v] as Sample[]).map((s) => s.ref));
  if (state.patientVersion && age !== undefined) sources.push(state.patientVersion);
  return {
    result: {
      resultId: stableId(['icu-risk', 'icu-admission', trigger]),
      kind: 'icu-admission',
      patientId: state.patientRef,
      model: model.ref,
      observedAt: asOf,
      computedAt,
      score: scored.probability,
      band: scored.band,
      news2: null,
      inputsUsed: scored.used,
      missingInputs: [...missing, ...(age === undefined ? ['age (Patient.birthDate)'] : [])],
      imputedInputs: scored.imputed,
      sourceIds: unique(sources),
      syntheticModel: model.syntheticTrainingData,
    },
  };
}
