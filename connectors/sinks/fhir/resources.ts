/**
 * Pure mapping of medstream results to FHIR R4 resources (no I/O; unit-tested field by field).
 *
 * Every resource the sink creates carries `identifier` = {identifierSystem, resultId} (one
 * Observation per finding: `${resultId}/${label}`) and travels in a transaction Bundle as a
 * conditional create (`ifNoneExist: identifier=system|value`), so a redelivered result matches
 * what the first delivery created and nothing is written twice. Inside the Bundle, resources
 * point at each other by `urn:uuid:` fullUrls derived from the result id; the server rewrites
 * them to the created — or, for a matched conditional create, the existing — resource.
 *
 * DICOM provenance: R4 has no resource for a single instance (ImagingSelection is R5), so
 * `derivedFrom` / `imagingStudy` is a logical ImagingStudy reference by identifier
 * (`urn:dicom:uid` / `urn:oid:<StudyInstanceUID>`) whose `display` names the series and the
 * SOP Instance UID the finding was computed from (`instanceDisplay`).
 */
import { stableId } from '../../../engine/ids';
import type { ImagingResult, RiskResult } from '../../../schemas/records';

// ── FHIR shapes (the subset used here) ──────────────────────────────────────────────────────

export interface Coding {
  system?: string;
  version?: string;
  code?: string;
  display?: string;
}
export interface CodeableConcept {
  coding?: Coding[];
  text?: string;
}
export interface Identifier {
  system: string;
  value: string;
}
export interface Reference {
  reference?: string;
  type?: string;
  identifier?: Identifier;
  display?: string;
}
export interface FhirResource {
  resourceType: string;
  id?: string;
  identifier?: Identifier[];
  [key: string]: unknown;
}
export interface BundleEntry {
  fullUrl?: string;
  resource?: FhirResource;
  request?: { method: 'POST' | 'PUT' | 'GET'; url: string; ifNoneExist?: string };
  response?: { status: string; location?: string; outcome?: FhirResource };
}
export interface Bundle extends FhirResource {
  resourceType: 'Bundle';
  type: string;
  entry?: BundleEntry[];
  total?: number;
}

// ── medstream result records (decoded Avro, schemas/*.avsc) ─────────────────────────────────

/** The ImagingResult fields this sink reads (generated from schemas/imaging-result.v1.avsc). */
export type ImagingResultRecord = Pick<
  ImagingResult,
  | 'resultId'
  | 'subject'
  | 'patientId'
  | 'model'
  | 'multiLabel'
  | 'labels'
  | 'probabilities'
  | 'label'
  | 'labelProbability'
  | 'heatmap'
  | 'input'
  | 'syntheticModel'
  | 'disclaimer'
  | 'submittedAt'
  | 'computedAt'
  | 'dicom'
>;

// ── systems and codes ───────────────────────────────────────────────────────────────────────

export const SYSTEMS = {
  ucum: 'http://unitsofmeasure.org',
  interpretation: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  diagnosticServiceSection: 'http://terminology.hl7.org/CodeSystem/v2-0074',
  snomed: 'http://snomed.info/sct',
  dicomUid: 'urn:dicom:uid',
  /** `name@version` of the model that produced a result (Observation.device identifier). */
  model: 'urn:medstream:model',
  /** Labels of one model: `urn:medstream:model:<name>` with the model version as coding.version. */
  modelLabels: (modelName: string) => `urn:medstream:model:${modelName}`,
  riskScore: 'urn:medstream:risk-score',
  riskBand: 'urn:medstream:risk-band',
  news2Parameter: 'urn:medstream:news2-parameter',
  report: 'urn:medstream:report',
} as const;

export const SYNTHETIC_NOTE = 'synthetic-data model — not for clinical use';

/**
 * NEWS2 in SNOMED CT (UK clinical extension; no LOINC code for the NEWS2 total exists): the
 * total score and one concept per parameter score, as NHS England and the national IGs use them.
 */
export const NEWS2_CODES = {
  total: {
    code: '1104051000000101',
    display: 'Royal College of Physicians NEWS2 (National Early Warning Score 2) total score',
  },
  respiratoryRate: { code: '1104301000000104', display: 'NEWS2 respiration rate score' },
  spo2Scale1: { code: '1104311000000102', display: 'NEWS2 oxygen saturation scale 1 score' },
  spo2Scale2: { code: '1104321000000108', display: 'NEWS2 oxygen saturation scale 2 score' },
  supplementalOxygen: { code: '1104331000000105', display: 'NEWS2 air or oxygen score' },
  systolicBp: { code: '1104341000000101', display: 'NEWS2 systolic blood pressure score' },
  pulse: { code: '1104351000000103', display: 'NEWS2 pulse score' },
  consciousness: { code: '1104361000000100', display: 'NEWS2 consciousness score' },
  temperature: { code: '1104371000000107', display: 'NEWS2 temperature score' },
} as const;

/** Risk band → v3 ObservationInterpretation (band itself kept as a medstream coding too). */
const BAND_INTERPRETATION: Record<string, { code: string; display: string }> = {
  low: { code: 'N', display: 'Normal' },
  'low-medium': { code: 'A', display: 'Abnormal' },
  medium: { code: 'H', display: 'High' },
  high: { code: 'HH', display: 'Critical high' },
};

/** A finding of a multi-label model counts as positive from this probability on. */
export const MULTI_LABEL_POSITIVE = 0.5;

// ── helpers ─────────────────────────────────────────────────────────────────────────────────

/** A stable name-based UUID (v5 layout over SHA-1): the same result gives the same fullUrls. */
export const uuidFor = (name: string): string => stableId([name]);

/** FHIR search escaping (`\` `,` `$` `|` are separators in token values), then URL encoding. */
const tokenPart = (s: string) => encodeURIComponent(s.replace(/[\\,$|]/g, '\\$&'));

/** `identifier=system|value` as a search / ifNoneExist query. */
export function identifierQuery({ system, value }: Identifier): string {
  return `identifier=${tokenPart(system)}|${tokenPart(value)}`;
}

/** `cxr-demo@1.0.0` → { name: 'cxr-demo', version: '1.0.0' } (version '' when absent). */
export function splitModel(model: string): { name: string; version: string } {
  const at = model.lastIndexOf('@');
  return at > 0
    ? { name: model.slice(0, at), version: model.slice(at + 1) }
    : { name: model, version: '' };
}

const instant = (ms: number) => new Date(ms).toISOString();

/** A conditional create inside a transaction: created once, matched by identifier after. */
export function conditionalCreate(
  fullUrl: string,
  resource: FhirResource & { identifier: Identifier[] },
): BundleEntry {
  return {
    fullUrl,
    resource,
    request: {
      method: 'POST',
      url: resource.resourceType,
      ifNoneExist: identifierQuery(resource.identifier[0] as Identifier),
    },
  };
}

export function transaction(entries: BundleEntry[]): Bundle {
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}

function deviceReference(model: string): Reference {
  return { display: model, identifier: { system: SYSTEMS.model, value: model } };
}

function methodFor(model: string, synthetic: boolean, what: string): CodeableConcept {
  return { text: synthetic ? `${what} (${model}); ${SYNTHETIC_NOTE}` : `${what} (${model})` };
}

// ── subject ─────────────────────────────────────────────────────────────────────────────────

export type PatientMode = 'search' | 'conditional-create' | 'identifier';

export interface PatientConfig {
  identifierSystem: string;
  mode: PatientMode;
}

/** The subject the resources point at, and the Patient entry to add when it is created too. */
export interface ResolvedSubject {
  reference: Reference;
  entry?: BundleEntry;
}

/** What to do about a result's patientId before building its resources. */
export type SubjectPlan =
  | { kind: 'none' }
  | { kind: 'resolved'; subject: ResolvedSubject }
  /** GET Patient?identifier=…: exactly one match → its reference, else `fallback`. */
  | { kind: 'search'; identifier: Identifier; fallback: ResolvedSubject };

const PATIENT_REFERENCE = /^(?:https?:\/\/\S+\/)?Patient\/[A-Za-z0-9\-.]{1,64}$/;

/**
 * patientId → subject plan. `Patient/123` (or an absolute URL ending so) is used as it is; a
 * `system|value` pair or a bare value (system = patient.identifierSystem) is an identifier,
 * handled by `mode`: `search` the server for it, `conditional-create` the Patient in the same
 * transaction, or `identifier` — a logical reference only.
 */
export function planSubject(
  patientId: string | null | undefined,
  patient: PatientConfig,
): SubjectPlan {
  if (!patientId) return { kind: 'none' };
  if (PATIENT_REFERENCE.test(patientId)) {
    return { kind: 'resolved', subject: { reference: { reference: patientId } } };
  }
  const bar = patientId.indexOf('|');
  const identifier: Identifier =
    bar > 0
      ? { system: patientId.slice(0, bar), value: patientId.slice(bar + 1) }
      : { system: patient.identifierSystem, value: patientId };
  const logical: ResolvedSubject = { reference: { type: 'Patient', identifier } };
  switch (patient.mode) {
    case 'identifier':
      return { kind: 'resolved', subject: logical };
    case 'conditional-create': {
      const fullUrl = `urn:uuid:${uuidFor(`Patient|${identifier.system}|${identifier.value}`)}`;
      return {
        kind: 'resolved',
        subject: {
          reference: { reference: fullUrl, type: 'Patient' },
          entry: conditionalCreate(fullUrl, { resourceType: 'Patient', identifier: [identifier] }),
        },
      };
    }
    default:
      return { kind: 'search', identifier, fallback: logical };
  }
}

/** The answer to `GET Patient?identifier=…`: exactly one match → `Patient/<id>`, else fallback. */
export function subjectFromSearch(searchset: Bundle, fallback: ResolvedSubject): ResolvedSubject {
  const matches = (searchset.entry ?? []).filter(
    (e) => e.resource?.resourceType === 'Patient' && e.resource.id,
  );
  if (matches.length !== 1) return fallback;
  return { reference: { reference: `Patient/${matches[0]!.resource!.id}` } };
}

// ── imaging result → Observations + DiagnosticReport ────────────────────────────────────────

export interface ImagingBundleOptions {
  identifierSystem: string;
  subject?: ResolvedSubject;
  /** The heatmap overlay PNG, attached to the report as presentedForm when given. */
  heatmapPng?: Buffer;
}

/** "DICOM study …, series …, SOP Instance …" — where the instance UID lives in R4. */
export function instanceDisplay(dicom: NonNullable<ImagingResultRecord['dicom']>): string {
  const parts = [`DICOM study ${dicom.studyInstanceUid}`];
  if (dicom.seriesInstanceUid) parts.push(`series ${dicom.seriesInstanceUid}`);
  let instance = `SOP Instance ${dicom.sopInstanceUid}`;
  if ((dicom.numberOfFrames ?? 1) > 1) instance += ` frame ${(dicom.frame ?? 0) + 1}`;
  parts.push(instance);
  return parts.join(', ');
}

export function imagingStudyReference(dicom: NonNullable<ImagingResultRecord['dicom']>): Reference {
  return {
    type: 'ImagingStudy',
    identifier: { system: SYSTEMS.dicomUid, value: `urn:oid:${dicom.studyInstanceUid}` },
    display: instanceDisplay(dicom),
  };
}

/** Whether a finding is reported positive: the top label, or ≥ 0.5 for multi-label models. */
export function isPositive(result: ImagingResultRecord, index: number): boolean {
  return result.multiLabel
    ? (result.probabilities[index] ?? 0) >= MULTI_LABEL_POSITIVE
    : result.labels[index] === result.label;
}

const positive: CodeableConcept = {
  coding: [{ system: SYSTEMS.interpretation, code: 'POS', display: 'Positive' }],
};
const negative: CodeableConcept = {
  coding: [{ system: SYSTEMS.interpretation, code: 'NEG', display: 'Negative' }],
};

export function imagingConclusion(result: ImagingResultRecord): string {
  const pct = (p: number) => `${(p * 100).toFixed(1)} %`;
  let text: string;
  if (result.multiLabel) {
    const found = result.labels
      .map((label, i) => ({ label, p: result.probabilities[i] ?? 0 }))
      .filter((f) => f.p >= MULTI_LABEL_POSITIVE)
      .map((f) => `${f.label} (${pct(f.p)})`);
    text = found.length > 0 ? `Findings: ${found.join(', ')}.` : 'No finding above threshold.';
  } else {
    text = `Top finding: ${result.label} (${pct(result.labelProbability)}).`;
  }
  text += ` Model ${result.model}.`;
  if (result.syntheticModel)
    text += ` ${SYNTHETIC_NOTE[0]!.toUpperCase()}${SYNTHETIC_NOTE.slice(1)}.`;
  if (result.disclaimer) text += ` ${result.disclaimer}`;
  return text;
}

/**
 * One transaction: [Patient (conditional-create mode)] + one Observation per label + one
 * DiagnosticReport whose `result` lists them, each a conditional create by identifier.
 */
export function imagingResultToBundle(
  result: ImagingResultRecord,
  { identifierSystem, subject, heatmapPng }: ImagingBundleOptions,
): Bundle {
  const { name: modelName, version: modelVersion } = splitModel(result.model);
  const study = result.dicom ? imagingStudyReference(result.dicom) : undefined;
  const effective = instant(result.submittedAt);
  const issued = instant(result.computedAt);
  const note = result.disclaimer ? [{ text: result.disclaimer }] : undefined;
  const category = [
    {
      coding: [{ system: SYSTEMS.observationCategory, code: 'imaging', display: 'Imaging' }],
    },
  ];

  const observations = result.labels.map((label, i) => {
    const fullUrl = `urn:uuid:${uuidFor(`${result.resultId}|Observation|${label}`)}`;
    const observation = {
      resourceType: 'Observation',
      identifier: [{ system: identifierSystem, value: `${result.resultId}/${label}` }],
      status: 'final',
      category,
      code: {
        coding: [
          {
            system: SYSTEMS.modelLabels(modelName),
            ...(modelVersion ? { version: modelVersion } : {}),
            code: label,
            display: label,
          },
        ],
        text: label,
      },
      ...(subject ? { subject: subject.reference } : {}),
      effectiveDateTime: effective,
      issued,
      valueQuantity: {
        value: result.probabilities[i] ?? 0,
        unit: '1',
        system: SYSTEMS.ucum,
        code: '1',
      },
      interpretation: [isPositive(result, i) ? positive : negative],
      ...(note ? { note } : {}),
      method: methodFor(result.model, result.syntheticModel, 'AI image classification'),
      device: deviceReference(result.model),
      ...(study ? { derivedFrom: [study] } : {}),
    };
    return conditionalCreate(fullUrl, observation);
  });

  const attach = heatmapPng && result.heatmap;
  const report = {
    resourceType: 'DiagnosticReport',
    identifier: [{ system: identifierSystem, value: result.resultId }],
    status: 'final',
    category: [
      {
        coding: [{ system: SYSTEMS.diagnosticServiceSection, code: 'RAD', display: 'Radiology' }],
      },
    ],
    code: {
      coding: [
        {
          system: SYSTEMS.report,
          code: 'ai-image-classification',
          display: 'AI image classification',
        },
      ],
      text: `AI image classification (${result.model})`,
    },
    ...(subject ? { subject: subject.reference } : {}),
    effectiveDateTime: effective,
    issued,
    result: observations.map((o, i) => ({ reference: o.fullUrl, display: result.labels[i] })),
    ...(study ? { imagingStudy: [study] } : {}),
    conclusion: imagingConclusion(result),
    ...(attach
      ? {
          presentedForm: [
            {
              contentType: 'image/png',
              data: heatmapPng.toString('base64'),
              title: `Grad-CAM heatmap — ${result.heatmap!.label} (${result.model})${result.syntheticModel ? `, ${SYNTHETIC_NOTE}` : ''}`,
            },
          ],
        }
      : {}),
  };
  const reportUrl = `urn:uuid:${uuidFor(`${result.resultId}|DiagnosticReport`)}`;
  return transaction([
    ...(subject?.entry ? [subject.entry] : []),
    ...observations,
    conditionalCreate(reportUrl, report),
  ]);
}

// ── risk result → Observation ───────────────────────────────────────────────────────────────

/** Resource types R4 allows in Observation.derivedFrom. */
const DERIVED_FROM_TYPES = new Set([
  'DocumentReference',
  'ImagingStudy',
  'Media',
  'QuestionnaireResponse',
  'Observation',
  'MolecularSequence',
]);
const FHIR_REFERENCE =
  /^([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** The source ids that are FHIR references derivedFrom may hold, as they are (versions kept). */
export function derivedFromReferences(sourceIds: readonly string[]): Reference[] {
  return sourceIds
    .filter((id) => {
      const m = FHIR_REFERENCE.exec(id);
      return m !== null && DERIVED_FROM_TYPES.has(m[1] as string);
    })
    .map((reference) => ({ reference }));
}

function bandInterpretation(band: string, what: string): CodeableConcept {
  const v3 = BAND_INTERPRETATION[band];
  return {
    coding: [
      ...(v3 ? [{ system: SYSTEMS.interpretation, ...v3 }] : []),
      { system: SYSTEMS.riskBand, code: band, display: `${band} risk` },
    ],
    text: `${what}: ${band} risk`,
  };
}

/** Human-readable list of missing / imputed inputs, or undefined when there were none. */
export function inputsNote(result: RiskResult): string | undefined {
  const parts: string[] = [];
  if (result.missingInputs.length > 0)
    parts.push(`Missing inputs (not scored): ${result.missingInputs.join(', ')}.`);
  if ((result.imputedInputs ?? []).length > 0)
    parts.push(`Imputed inputs: ${result.imputedInputs!.join(', ')}.`);
  return parts.length > 0 ? parts.join(' ') : undefined;
}

const NEWS2_PARAMETERS: ReadonlyArray<
  readonly [string, (scale: number) => { code: string; display: string }]
> = [
  ['respiratoryRate', () => NEWS2_CODES.respiratoryRate],
  ['spo2', (scale) => (scale === 2 ? NEWS2_CODES.spo2Scale2 : NEWS2_CODES.spo2Scale1)],
  ['supplementalOxygen', () => NEWS2_CODES.supplementalOxygen],
  ['systolicBp', () => NEWS2_CODES.systolicBp],
  ['pulse', () => NEWS2_CODES.pulse],
  ['consciousness', () => NEWS2_CODES.consciousness],
  ['temperature', () => NEWS2_CODES.temperature],
];

function news2Components(news2: NonNullable<RiskResult['news2']>) {
  const known = new Set(NEWS2_PARAMETERS.map(([key]) => key));
  const components: Array<Record<string, unknown>> = [];
  for (const [key, codeFor] of NEWS2_PARAMETERS) {
    const value = news2.subscores[key];
    if (value === undefined) continue;
    const sct = codeFor(news2.spo2Scale);
    components.push({
      code: {
        coding: [
          { system: SYSTEMS.snomed, ...sct },
          { system: SYSTEMS.news2Parameter, code: key },
        ],
        text: sct.display,
      },
      valueInteger: value,
    });
  }
  // sub-scores this mapping does not know yet are kept, coded locally
  for (const [key, value] of Object.entries(news2.subscores)) {
    if (known.has(key)) continue;
    components.push({
      code: { coding: [{ system: SYSTEMS.news2Parameter, code: key }], text: `NEWS2 ${key} score` },
      valueInteger: value,
    });
  }
  components.push(
    {
      code: {
        coding: [{ system: SYSTEMS.news2Parameter, code: 'spo2Scale' }],
        text: 'NEWS2 SpO2 scale used',
      },
      valueInteger: news2.spo2Scale,
    },
    {
      code: {
        coding: [{ system: SYSTEMS.news2Parameter, code: 'anySingleParameterThree' }],
        text: 'NEWS2 score of 3 in any single parameter',
      },
      valueBoolean: news2.anySingleParameterThree,
    },
  );
  return components;
}

export interface RiskBundleOptions {
  identifierSystem: string;
  subject?: ResolvedSubject;
}

/** The Observation of one RiskResult: NEWS2 total with sub-score components, or a probability. */
export function riskResultToObservation(
  result: RiskResult,
  { identifierSystem, subject }: RiskBundleOptions,
): FhirResource & { identifier: Identifier[] } {
  const news2 = result.kind === 'news2' ? result.news2 : null;
  const notes = [inputsNote(result)].filter((n): n is string => n !== undefined);
  const derivedFrom = derivedFromReferences(result.sourceIds);
  const common = {
    resourceType: 'Observation',
    identifier: [{ system: identifierSystem, value: result.resultId }],
    status: 'final',
    ...(subject ? { subject: subject.reference } : {}),
    effectiveDateTime: instant(result.observedAt),
    issued: instant(result.computedAt),
    device: deviceReference(result.model),
    ...(derivedFrom.length > 0 ? { derivedFrom } : {}),
  };
  if (news2) {
    return {
      ...common,
      category: [
        { coding: [{ system: SYSTEMS.observationCategory, code: 'survey', display: 'Survey' }] },
      ],
      code: {
        coding: [{ system: SYSTEMS.snomed, ...NEWS2_CODES.total }],
        text: 'NEWS2 total score',
      },
      valueInteger: news2.total,
      interpretation: [bandInterpretation(news2.band, 'NEWS2')],
      method: methodFor(
        result.model,
        result.syntheticModel,
        'NEWS2, Royal College of Physicians 2017',
      ),
      ...(notes.length > 0 ? { note: notes.map((text) => ({ text })) } : {}),
      component: news2Components(news2),
    };
  }
  const what = result.kind === 'icu-admission' ? 'ICU admission risk' : `${result.kind} risk`;
  return {
    ...common,
    code: {
      coding: [{ system: SYSTEMS.riskScore, code: result.kind, display: what }],
      text: `${what} (probability)`,
    },
    valueQuantity: { value: result.score, unit: '1', system: SYSTEMS.ucum, code: '1' },
    interpretation: [bandInterpretation(result.band, what)],
    method: methodFor(result.model, result.syntheticModel, 'learned risk model'),
    ...(notes.length > 0 ? { note: notes.map((text) => ({ text })) } : {}),
  };
}

/** One transaction: [Patient (conditional-create mode)] + the risk Observation. */
export function riskResultToBundle(result: RiskResult, options: RiskBundleOptions): Bundle {
  const observation = riskResultToObservation(result, options);
  const fullUrl = `urn:uuid:${uuidFor(`${result.resultId}|Observation`)}`;
  return transaction([
    ...(options.subject?.entry ? [options.subject.entry] : []),
    conditionalCreate(fullUrl, observation),
  ]);
}

// ── server answers ──────────────────────────────────────────────────────────────────────────

export {
  ERROR_SEVERITIES,
  type OperationOutcomeIssue,
  outcomeIssues,
  outcomeText,
} from '../../shared/fhir/client';

/** Resource type and outcome of each transaction-response entry, in request order. */
export function transactionOutcomes(
  sent: Bundle,
  response: Bundle,
): Array<{ type: string; outcome: 'created' | 'existed' }> {
  return (sent.entry ?? []).map((entry, i) => {
    const status = response.entry?.[i]?.response?.status ?? '';
    return {
      type: entry.resource?.resourceType ?? 'unknown',
      outcome: /^201\b/.test(status) ? 'created' : 'existed',
    };
  });
}
