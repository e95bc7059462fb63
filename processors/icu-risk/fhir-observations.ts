/**
 * FHIR Observations → numeric samples in the units the risk models use.
 *  - Which variable: the LOINC code (code.coding with system http://loinc.org), at the top level
 *    or in a component (a blood-pressure panel 85354-9 carries 8480-6 and 8462-4 as components).
 *  - Which unit: valueQuantity's UCUM `code` (or its `unit` text when that parses as UCUM),
 *    converted by @lhncbc/ucum-lhc, with molecular weights for µmol/L ↔ mg/dL.
 *  - A value whose unit cannot be parsed or converted, or that is physiologically implausible
 *    after conversion, is refused with the reason (the processor dead-letters the record).
 *  - Observations without a usable value (dataAbsentReason, status registered/cancelled/
 *    entered-in-error) give no samples, and `retracted` says whether earlier samples from the
 *    same Observation must go.
 */
import { UcumLhcUtils } from '@lhncbc/ucum-lhc';
import { EngineError } from '../../engine/errors';

export type Variable =
  | 'respiratoryRate'
  | 'heartRate'
  | 'systolicBp'
  | 'diastolicBp'
  | 'temperature'
  | 'spo2'
  | 'gcs'
  | 'oxygenFlow'
  | 'fio2'
  | 'crp'
  | 'lymphocytes'
  | 'creatinine'
  | 'platelets'
  | 'bilirubin';

interface VariableSpec {
  unit: string;
  /** Plausible range in `unit`; outside it the value is refused as a data error. */
  plausible: readonly [number, number];
  /** g/mol, for converting amount-of-substance concentrations to mass concentrations. */
  molecularWeight?: number;
  kind: 'vital' | 'lab';
}

export const VARIABLES: Readonly<Record<Variable, VariableSpec>> = {
  respiratoryRate: { unit: '/min', plausible: [0, 90], kind: 'vital' },
  heartRate: { unit: '/min', plausible: [0, 300], kind: 'vital' },
  systolicBp: { unit: 'mm[Hg]', plausible: [20, 300], kind: 'vital' },
  diastolicBp: { unit: 'mm[Hg]', plausible: [5, 250], kind: 'vital' },
  temperature: { unit: 'Cel', plausible: [25, 45], kind: 'vital' },
  spo2: { unit: '%', plausible: [30, 100], kind: 'vital' },
  gcs: { unit: '{score}', plausible: [3, 15], kind: 'vital' },
  oxygenFlow: { unit: 'L/min', plausible: [0, 80], kind: 'vital' },
  fio2: { unit: '%', plausible: [21, 100], kind: 'vital' },
  crp: { unit: 'mg/L', plausible: [0, 1000], kind: 'lab' },
  lymphocytes: { unit: '10*3/uL', plausible: [0, 500], kind: 'lab' },
  creatinine: { unit: 'mg/dL', plausible: [0, 40], molecularWeight: 113.12, kind: 'lab' },
  platelets: { unit: '10*3/uL', plausible: [0, 3000], kind: 'lab' },
  bilirubin: { unit: 'mg/dL', plausible: [0, 80], molecularWeight: 584.66, kind: 'lab' },
};

/** LOINC code → variable. */
export const LOINC: Readonly<Record<string, Variable>> = {
  '9279-1': 'respiratoryRate',
  '8867-4': 'heartRate',
  '8480-6': 'systolicBp',
  '8462-4': 'diastolicBp',
  '8310-5': 'temperature',
  '8331-1': 'temperature',
  '59408-5': 'spo2',
  '2708-6': 'spo2',
  '9269-2': 'gcs',
  '3151-8': 'oxygenFlow',
  '3150-0': 'fio2',
  '1988-5': 'crp',
  '731-0': 'lymphocytes',
  '26474-7': 'lymphocytes',
  '2160-0': 'creatinine',
  '777-3': 'platelets',
  '26515-7': 'platelets',
  '1975-2': 'bilirubin',
};

const LOINC_SYSTEM = 'http://loinc.org';
const UCUM_SYSTEM = 'http://unitsofmeasure.org';
const USABLE_STATUS = new Set(['final', 'amended', 'corrected', 'preliminary']);
const RETRACTED_STATUS = new Set(['cancelled', 'entered-in-error']);

export interface Sample {
  variable: Variable;
  /** In VARIABLES[variable].unit. */
  value: number;
  /** Effective time, epoch ms. */
  at: number;
  /** Observation/<id>/_history/<version> (or without the version when the server gave none). */
  ref: string;
}

/** An Observation that cannot be taken in: a non-retriable VALIDATION_FAILED naming why. */
const refused = (message: string) => new EngineError('VALIDATION_FAILED', message);

interface Coding {
  system?: string;
  code?: string;
}
interface Quantity {
  value?: unknown;
  unit?: string;
  system?: string;
  code?: string;
}
interface ObservationPart {
  code?: { coding?: Coding[] };
  valueQuantity?: Quantity;
  dataAbsentReason?: unknown;
}
export interface ObservationResource extends ObservationPart {
  resourceType: 'Observation';
  id?: string;
  status?: string;
  meta?: { versionId?: string; lastUpdated?: string };
  effectiveDateTime?: string;
  effectiveInstant?: string;
  effectivePeriod?: { start?: string; end?: string };
  issued?: string;
  component?: ObservationPart[];
}

const utils = UcumLhcUtils.getInstance();

function loincVariable(part: ObservationPart): Variable | undefined {
  for (const c of part.code?.coding ?? [])
    if (c.system === LOINC_SYSTEM && c.code && LOINC[c.code]) return LOINC[c.code];
  return undefined;
}

/** The quantity in the variable's unit; throws VALIDATION_FAILED EngineError saying why not. */
export function convert(variable: Variable, q: Quantity, where: string): number {
  const spec = VARIABLES[variable];
  if (typeof q.value !== 'number' || !Number.isFinite(q.value))
    throw refused(`${where}: valueQuantity.value is not a number`);
  const candidates = [
    ...(q.code && (!q.system || q.system === UCUM_SYSTEM) ? [q.code] : []),
    ...(q.unit ? [q.unit] : []),
  ];
  let value: number | undefined;
  const reasons: string[] = [];
  for (const from of candidates) {
    if (from === spec.unit) {
      value = q.value;
      break;
    }
    // Scores (GCS) have no unit to convert: '{score}', '1', '{total}' … are all the plain number
    if (spec.unit === '{score}' && /^(\{[^}]*\}|1)$/.test(from)) {
      value = q.value;
      break;
    }
    const result = utils.convertUnitTo(
      from,
      q.value,
      spec.unit,
      spec.molecularWeight ? { molecularWeight: spec.molecularWeight } : undefined,
    );
    if (result.status === 'succeeded' && typeof result.toVal === 'number') {
      value = result.toVal;
      break;
    }
    reasons.push(`"${from}": ${(result.msg ?? [result.status]).join(' ')}`);
  }
  if (value === undefined)
    throw refused(
      candidates.length === 0
        ? `${where}: no unit (valueQuantity.code / unit) — cannot convert to ${spec.unit}`
        : `${where}: unit cannot be converted to ${spec.unit} (${reasons.join('; ')})`,
    );
  const [low, high] = spec.plausible;
  if (value < low || value > high)
    throw refused(
      `${where}: ${value} ${spec.unit} is outside the plausible range ${low}–${high} ${spec.unit}`,
    );
  return Math.round(value * 1e6) / 1e6;
}

function effectiveTime(o: ObservationResource, fallback: number): number {
  const text =
    o.effectiveDateTime ??
    o.effectiveInstant ??
    o.effectivePeriod?.end ??
    o.effectivePeriod?.start ??
    o.issued;
  if (!text) return fallback;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw refused(`effective time ${JSON.stringify(text)} is not a date`);
  return ms;
}

export interface Extracted {
  samples: Sample[];
  /** true when earlier samples of this Observation must be removed (a usable result replaces them; cancelled / entered-in-error withdraws them); false while the status carries no result yet. */
  retracted: boolean;
  /** Why nothing was taken, when samples is empty. */
  ignored?: string;
}

export function observationRef(o: { id?: string; meta?: { versionId?: string } }): string {
  return o.meta?.versionId
    ? `Observation/${o.id}/_history/${o.meta.versionId}`
    : `Observation/${o.id}`;
}

/** The samples an Observation gives; `receivedAt` stands in for a missing effective time. */
export function extractSamples(o: ObservationResource, receivedAt: number): Extracted {
  const status = o.status ?? 'unknown';
  if (RETRACTED_STATUS.has(status))
    return { samples: [], retracted: true, ignored: `status ${status}` };
  if (!USABLE_STATUS.has(status))
    return { samples: [], retracted: false, ignored: `status ${status} carries no result yet` };
  const at = effectiveTime(o, receivedAt);
  const ref = observationRef(o);
  const samples: Sample[] = [];
  const parts: [ObservationPart, string][] = [
    [o, `Observation/${o.id}`],
    ...(o.component ?? []).map(
      (c, i) => [c, `Observation/${o.id} component ${i}`] as [ObservationPart, string],
    ),
  ];
  for (const [part, where] of parts) {
    const variable = loincVariable(part);
    if (!variable || part.dataAbsentReason !== undefined || !part.valueQuantity) continue;
    samples.push({ variable, value: convert(variable, part.valueQuantity, where), at, ref });
  }
  return samples.length > 0
    ? { samples, retracted: true }
    : { samples, retracted: true, ignored: 'no LOINC code medstream uses, or no value' };
}
