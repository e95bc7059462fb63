/**
 * Per-patient state of processors/icu-risk, as pure functions over the IcuRiskPatientState
 * record (schemas/icu-risk-patient-state.v1.avsc): the recent samples of each variable and the
 * birth date. Applying the same FHIR event twice gives the same state (samples are replaced per
 * Observation, not accumulated), so a redelivery after a crash changes nothing.
 */
import type { IcuRiskPatientState } from '../../schemas/records';
import { type Sample, type Variable, VARIABLES } from './fhir-observations';

/** The IcuRiskPatientState record with each sample's variable one the processor knows. */
export interface PatientState extends Omit<IcuRiskPatientState, 'samples'> {
  readonly samples: readonly Sample[];
}

/**
 * A changelog record as state: samples of a variable this version does not know (written by a
 * newer or older processor) are left out rather than misread.
 */
export function stateFromRecord(record: IcuRiskPatientState): PatientState {
  return {
    ...record,
    samples: record.samples.filter((s): s is Sample => Object.hasOwn(VARIABLES, s.variable)),
  };
}

export interface StateLimits {
  /** Samples older than this before the patient's newest sample are dropped. */
  retentionHours: number;
  /** At most this many samples per variable are kept (the newest). */
  maxSamplesPerVariable: number;
}

export function emptyState(patientRef: string): PatientState {
  return { patientRef, birthDate: null, patientVersion: null, samples: [], updatedAt: 0 };
}

/** Observation/<id> of a sample's versioned reference. */
export const observationId = (ref: string) => ref.split('/_history/')[0];

/** Replaces every sample of `observation` (any version) by `samples`, then prunes. */
export function withObservation(
  state: PatientState,
  observation: string,
  samples: readonly Sample[],
  limits: StateLimits,
  now: number,
): PatientState {
  const kept = state.samples.filter((s) => observationId(s.ref) !== observation);
  return prune({ ...state, samples: [...kept, ...samples], updatedAt: now }, limits);
}

export function withPatient(
  state: PatientState,
  birthDate: string | null,
  patientVersion: string,
  now: number,
): PatientState {
  return { ...state, birthDate, patientVersion, updatedAt: now };
}

function prune(state: PatientState, limits: StateLimits): PatientState {
  const newest = Math.max(0, ...state.samples.map((s) => s.at));
  const oldest = newest - limits.retentionHours * 3600_000;
  const byVariable = new Map<Variable, Sample[]>();
  for (const s of state.samples) {
    if (s.at < oldest) continue;
    const list = byVariable.get(s.variable) ?? [];
    list.push(s);
    byVariable.set(s.variable, list);
  }
  const samples: Sample[] = [];
  for (const list of byVariable.values()) {
    list.sort((a, b) => a.at - b.at || a.ref.localeCompare(b.ref));
    samples.push(...list.slice(-limits.maxSamplesPerVariable));
  }
  samples.sort((a, b) => a.at - b.at || a.variable.localeCompare(b.variable));
  return { ...state, samples };
}

export interface Freshness {
  vitalsHours: number;
  labsHours: number;
}

/**
 * The samples of each variable that are fresh at `asOf` (within the vitals or labs window before
 * it, not after it), oldest first.
 */
export function freshSeries(
  state: PatientState,
  asOf: number,
  freshness: Freshness,
): Partial<Record<Variable, Sample[]>> {
  const out: Partial<Record<Variable, Sample[]>> = {};
  for (const s of state.samples) {
    const hours =
      VARIABLES[s.variable].kind === 'lab' ? freshness.labsHours : freshness.vitalsHours;
    if (s.at > asOf || s.at < asOf - hours * 3600_000) continue;
    (out[s.variable] ??= []).push(s);
  }
  return out;
}

/** Whole years between a FHIR birthDate (YYYY, YYYY-MM or YYYY-MM-DD) and `at`. */
export function ageInYears(birthDate: string | null, at: number): number | undefined {
  if (!birthDate) return undefined;
  const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(birthDate);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = m[2] ? Number(m[2]) - 1 : 6; // mid-year when only the year is known
  const day = m[3] ? Number(m[3]) : 1;
  const when = new Date(at);
  let age = when.getUTCFullYear() - year;
  if (when.getUTCMonth() < month || (when.getUTCMonth() === month && when.getUTCDate() < day))
    age -= 1;
  return age >= 0 && age < 150 ? age : undefined;
}
