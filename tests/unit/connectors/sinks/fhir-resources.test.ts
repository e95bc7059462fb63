import {
  type Bundle,
  type ImagingResultRecord,
  NEWS2_CODES,
  SYNTHETIC_NOTE,
  derivedFromReferences,
  identifierQuery,
  imagingResultToBundle,
  instanceDisplay,
  outcomeText,
  planSubject,
  riskResultToBundle,
  splitModel,
  subjectFromSearch,
  transactionOutcomes,
  uuidFor,
} from '../../../../connectors/sinks/fhir/resources';
import type { RiskResult } from '../../../../schemas/records';

const RESULT_IDS = 'urn:medstream:result-id';
const PATIENT = { identifierSystem: 'urn:medstream:patient-id', mode: 'search' as const };

const imaging = (over: Partial<ImagingResultRecord> = {}): ImagingResultRecord => ({
  resultId: 'res-1',
  subject: '1.2.3',
  patientId: 'Patient/42',
  model: 'cxr-demo@1.0.0',
  multiLabel: false,
  labels: ['normal', 'pneumonia', 'covid19'],
  probabilities: [0.1, 0.7, 0.2],
  label: 'pneumonia',
  labelProbability: 0.7,
  heatmap: {
    overlayUri: 'blob:sha256:aa',
    mapUri: 'blob:sha256:bb',
    classIndex: 1,
    label: 'pneumonia',
    peakX: 120,
    peakY: 200,
    colormap: 'jet',
    method: 'grad-cam',
  },
  input: {
    uri: 'blob:sha256:cc',
    displayUri: 'blob:sha256:dd',
    contentType: 'application/dicom',
    width: 512,
    height: 512,
  },
  syntheticModel: true,
  disclaimer: 'Research use only.',
  submittedAt: Date.UTC(2026, 0, 2, 3, 4, 5),
  computedAt: Date.UTC(2026, 0, 2, 3, 4, 6),
  dicom: {
    studyInstanceUid: '1.2.3',
    seriesInstanceUid: '1.2.3.4',
    sopInstanceUid: '1.2.3.4.5',
    sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
    accessionNumber: 'ACC1',
    modality: 'DX',
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    frame: 0,
    numberOfFrames: 1,
    photometricInterpretation: 'MONOCHROME2',
    windowCenter: 2048,
    windowWidth: 4096,
    windowSource: 'dataset',
    inverted: false,
    callingAe: 'MODALITY',
    source: 'dimse',
  },
  ...over,
});

const risk = (over: Partial<RiskResult> = {}): RiskResult => ({
  resultId: 'risk-1',
  kind: 'news2',
  patientId: 'Patient/42',
  model: 'news2@rcp-2017',
  observedAt: Date.UTC(2026, 0, 2, 3, 0, 0),
  computedAt: Date.UTC(2026, 0, 2, 3, 0, 1),
  score: 6,
  band: 'medium',
  news2: {
    total: 6,
    band: 'medium',
    anySingleParameterThree: true,
    spo2Scale: 1,
    subscores: {
      respiratoryRate: 3,
      spo2: 1,
      supplementalOxygen: 0,
      systolicBp: 0,
      pulse: 1,
      consciousness: 0,
      temperature: 1,
    },
  },
  inputsUsed: { respiratoryRate: 26 },
  missingInputs: [],
  imputedInputs: [],
  sourceIds: ['vitals-1'],
  syntheticModel: false,
  ...over,
});

const resources = (bundle: Bundle, type: string) =>
  (bundle.entry ?? []).filter((e) => e.resource?.resourceType === type);

describe('[REQ-FHIR-01] imaging result → transaction of Observations + DiagnosticReport', () => {
  const bundle = imagingResultToBundle(imaging(), {
    identifierSystem: RESULT_IDS,
    subject: { reference: { reference: 'Patient/42' } },
    heatmapPng: Buffer.from('PNGDATA'),
  });
  const observations = resources(bundle, 'Observation');
  const [report] = resources(bundle, 'DiagnosticReport');

  it('is a transaction: one Observation per label, then the report, all conditional creates', () => {
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
    expect(observations).toHaveLength(3);
    expect(report).toBeDefined();
    for (const entry of bundle.entry!) {
      expect(entry.fullUrl).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab]/);
      const id = entry.resource!.identifier![0]!;
      expect(entry.request).toEqual({
        method: 'POST',
        url: entry.resource!.resourceType,
        ifNoneExist: identifierQuery(id),
      });
    }
    expect(observations.map((o) => o.resource!.identifier)).toEqual([
      [{ system: RESULT_IDS, value: 'res-1/normal' }],
      [{ system: RESULT_IDS, value: 'res-1/pneumonia' }],
      [{ system: RESULT_IDS, value: 'res-1/covid19' }],
    ]);
    expect(report!.resource!.identifier).toEqual([{ system: RESULT_IDS, value: 'res-1' }]);
    expect(report!.request!.ifNoneExist).toBe('identifier=urn%3Amedstream%3Aresult-id|res-1');
  });

  it('fullUrls are stable per result, different across results', () => {
    const again = imagingResultToBundle(imaging(), { identifierSystem: RESULT_IDS });
    const other = imagingResultToBundle(imaging({ resultId: 'res-2' }), {
      identifierSystem: RESULT_IDS,
    });
    expect(again.entry!.map((e) => e.fullUrl)).toEqual(bundle.entry!.map((e) => e.fullUrl));
    expect(other.entry![0]!.fullUrl).not.toBe(bundle.entry![0]!.fullUrl);
  });

  it('each Observation: code, probability in UCUM 1, interpretation, category, times, device, method', () => {
    const o = observations[1]!.resource!;
    expect(o).toMatchObject({
      status: 'final',
      category: [
        {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/observation-category',
              code: 'imaging',
            },
          ],
        },
      ],
      code: {
        coding: [
          {
            system: 'urn:medstream:model:cxr-demo',
            version: '1.0.0',
            code: 'pneumonia',
            display: 'pneumonia',
          },
        ],
        text: 'pneumonia',
      },
      subject: { reference: 'Patient/42' },
      effectiveDateTime: '2026-01-02T03:04:05.000Z',
      issued: '2026-01-02T03:04:06.000Z',
      valueQuantity: { value: 0.7, unit: '1', system: 'http://unitsofmeasure.org', code: '1' },
      interpretation: [
        {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
              code: 'POS',
            },
          ],
        },
      ],
      device: {
        display: 'cxr-demo@1.0.0',
        identifier: { system: 'urn:medstream:model', value: 'cxr-demo@1.0.0' },
      },
      note: [{ text: 'Research use only.' }],
    });
    expect((o.method as { text: string }).text).toContain(SYNTHETIC_NOTE);
    const interp = observations.map(
      (e) =>
        (e.resource!.interpretation as Array<{ coding: Array<{ code: string }> }>)[0]!.coding[0]!
          .code,
    );
    expect(interp).toEqual(['NEG', 'POS', 'NEG']);
  });

  it('no synthetic note for a model trained on real data', () => {
    const b = imagingResultToBundle(imaging({ syntheticModel: false, disclaimer: null }), {
      identifierSystem: RESULT_IDS,
    });
    const o = resources(b, 'Observation')[0]!.resource!;
    expect((o.method as { text: string }).text).not.toContain('synthetic');
    expect(o.note).toBeUndefined();
    const r = resources(b, 'DiagnosticReport')[0]!.resource!;
    expect(r.conclusion).not.toMatch(/synthetic/i);
  });

  it('multi-label: POS at p ≥ 0.5 for every label, NEG below', () => {
    const b = imagingResultToBundle(
      imaging({ multiLabel: true, probabilities: [0.6, 0.5, 0.49] }),
      { identifierSystem: RESULT_IDS },
    );
    const codes = resources(b, 'Observation').map(
      (e) =>
        (e.resource!.interpretation as Array<{ coding: Array<{ code: string }> }>)[0]!.coding[0]!
          .code,
    );
    expect(codes).toEqual(['POS', 'POS', 'NEG']);
    expect(resources(b, 'DiagnosticReport')[0]!.resource!.conclusion).toMatch(
      /^Findings: normal \(60\.0 %\), pneumonia \(50\.0 %\)\./,
    );
  });

  it('derivedFrom: the ImagingStudy by DICOM UID, the display naming series and SOP Instance', () => {
    const o = observations[0]!.resource!;
    expect(o.derivedFrom).toEqual([
      {
        type: 'ImagingStudy',
        identifier: { system: 'urn:dicom:uid', value: 'urn:oid:1.2.3' },
        display: 'DICOM study 1.2.3, series 1.2.3.4, SOP Instance 1.2.3.4.5',
      },
    ]);
    expect(
      instanceDisplay({
        ...imaging().dicom!,
        seriesInstanceUid: null,
        frame: 2,
        numberOfFrames: 5,
      }),
    ).toBe('DICOM study 1.2.3, SOP Instance 1.2.3.4.5 frame 3');
  });

  it('no DICOM source → no derivedFrom / imagingStudy; no patient → no subject', () => {
    const b = imagingResultToBundle(imaging({ dicom: null, patientId: null }), {
      identifierSystem: RESULT_IDS,
    });
    for (const e of b.entry!) {
      expect(e.resource!.derivedFrom).toBeUndefined();
      expect(e.resource!.imagingStudy).toBeUndefined();
      expect(e.resource!.subject).toBeUndefined();
    }
  });

  it('the DiagnosticReport groups the Observations by fullUrl, with conclusion, study and heatmap', () => {
    const r = report!.resource!;
    expect(r).toMatchObject({
      status: 'final',
      subject: { reference: 'Patient/42' },
      category: [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'RAD' }] },
      ],
      code: { text: 'AI image classification (cxr-demo@1.0.0)' },
      imagingStudy: [{ type: 'ImagingStudy', identifier: { value: 'urn:oid:1.2.3' } }],
      effectiveDateTime: '2026-01-02T03:04:05.000Z',
      issued: '2026-01-02T03:04:06.000Z',
    });
    expect(r.result).toEqual(
      observations.map((o, i) => ({ reference: o.fullUrl, display: imaging().labels[i] })),
    );
    expect(r.conclusion).toBe(
      'Top finding: pneumonia (70.0 %). Model cxr-demo@1.0.0. Synthetic-data model — not for clinical use. Research use only.',
    );
    expect(r.presentedForm).toEqual([
      {
        contentType: 'image/png',
        data: Buffer.from('PNGDATA').toString('base64'),
        title: `Grad-CAM heatmap — pneumonia (cxr-demo@1.0.0), ${SYNTHETIC_NOTE}`,
      },
    ]);
  });

  it('no heatmap bytes (attachHeatmap off) or no heatmap → no presentedForm', () => {
    const a = imagingResultToBundle(imaging(), { identifierSystem: RESULT_IDS });
    const b = imagingResultToBundle(imaging({ heatmap: null }), {
      identifierSystem: RESULT_IDS,
      heatmapPng: Buffer.from('x'),
    });
    expect(resources(a, 'DiagnosticReport')[0]!.resource!.presentedForm).toBeUndefined();
    expect(resources(b, 'DiagnosticReport')[0]!.resource!.presentedForm).toBeUndefined();
  });

  it('a configured identifier system is used on every resource', () => {
    const b = imagingResultToBundle(imaging(), { identifierSystem: 'https://h.example/ids' });
    expect(
      b.entry!.every((e) => e.resource!.identifier![0]!.system === 'https://h.example/ids'),
    ).toBe(true);
    expect(b.entry![0]!.request!.ifNoneExist).toBe(
      'identifier=https%3A%2F%2Fh.example%2Fids|res-1%2Fnormal',
    );
  });
});

describe('[REQ-FHIR-02] risk result → one Observation', () => {
  it('NEWS2: SNOMED total score, valueInteger, a component per sub-score, band interpretation', () => {
    const b = riskResultToBundle(risk(), {
      identifierSystem: RESULT_IDS,
      subject: { reference: { reference: 'Patient/42' } },
    });
    expect(b.entry).toHaveLength(1);
    const entry = b.entry![0]!;
    expect(entry.request).toEqual({
      method: 'POST',
      url: 'Observation',
      ifNoneExist: 'identifier=urn%3Amedstream%3Aresult-id|risk-1',
    });
    const o = entry.resource!;
    expect(o).toMatchObject({
      identifier: [{ system: RESULT_IDS, value: 'risk-1' }],
      status: 'final',
      category: [{ coding: [{ code: 'survey' }] }],
      code: {
        coding: [{ system: 'http://snomed.info/sct', code: NEWS2_CODES.total.code }],
        text: 'NEWS2 total score',
      },
      subject: { reference: 'Patient/42' },
      effectiveDateTime: '2026-01-02T03:00:00.000Z',
      issued: '2026-01-02T03:00:01.000Z',
      valueInteger: 6,
      interpretation: [
        {
          coding: [
            {
              code: 'H',
              system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
            },
            { system: 'urn:medstream:risk-band', code: 'medium' },
          ],
          text: 'NEWS2: medium risk',
        },
      ],
      device: { display: 'news2@rcp-2017' },
    });
    expect(o.valueQuantity).toBeUndefined();
    expect(o.derivedFrom).toBeUndefined(); // 'vitals-1' is not a FHIR reference
    const components = o.component as Array<{
      code: { coding: Array<{ code: string }> };
      valueInteger?: number;
      valueBoolean?: boolean;
    }>;
    const byLocal = Object.fromEntries(
      components.map((c) => [c.code.coding[c.code.coding.length - 1]!.code, c]),
    );
    expect(byLocal.respiratoryRate).toMatchObject({ valueInteger: 3 });
    expect(byLocal.respiratoryRate!.code.coding[0]!.code).toBe(NEWS2_CODES.respiratoryRate.code);
    expect(byLocal.spo2!.code.coding[0]!.code).toBe(NEWS2_CODES.spo2Scale1.code);
    expect(byLocal.temperature).toMatchObject({ valueInteger: 1 });
    expect(byLocal.spo2Scale).toMatchObject({ valueInteger: 1 });
    expect(byLocal.anySingleParameterThree).toMatchObject({ valueBoolean: true });
    expect(components).toHaveLength(9);
  });

  it('NEWS2 on SpO2 scale 2 uses the scale 2 code', () => {
    const r = risk();
    const o = riskResultToBundle(risk({ news2: { ...r.news2!, spo2Scale: 2 } }), {
      identifierSystem: RESULT_IDS,
    }).entry![0]!.resource!;
    const codes = (o.component as Array<{ code: { coding: Array<{ code: string }> } }>).map(
      (c) => c.code.coding[0]!.code,
    );
    expect(codes).toContain(NEWS2_CODES.spo2Scale2.code);
    expect(codes).not.toContain(NEWS2_CODES.spo2Scale1.code);
  });

  it('icu-admission: probability, band, synthetic note, missing / imputed inputs note, derivedFrom', () => {
    const o = riskResultToBundle(
      risk({
        kind: 'icu-admission',
        model: 'icu-gbm@0.3.0',
        score: 0.82,
        band: 'high',
        news2: null,
        missingInputs: ['lactate'],
        imputedInputs: ['temperature (last value carried forward)'],
        sourceIds: [
          'Observation/123/_history/2',
          'Observation/abc',
          'vitals-9',
          'Patient/1',
          'http://x/Observation/1',
        ],
        syntheticModel: true,
      }),
      { identifierSystem: RESULT_IDS },
    ).entry![0]!.resource!;
    expect(o).toMatchObject({
      code: { coding: [{ system: 'urn:medstream:risk-score', code: 'icu-admission' }] },
      valueQuantity: { value: 0.82, unit: '1', system: 'http://unitsofmeasure.org', code: '1' },
      interpretation: [{ coding: [{ code: 'HH' }, { code: 'high' }] }],
      note: [
        {
          text: 'Missing inputs (not scored): lactate. Imputed inputs: temperature (last value carried forward).',
        },
      ],
      derivedFrom: [{ reference: 'Observation/123/_history/2' }, { reference: 'Observation/abc' }],
    });
    expect((o.method as { text: string }).text).toBe(
      `learned risk model (icu-gbm@0.3.0); ${SYNTHETIC_NOTE}`,
    );
    expect(o.component).toBeUndefined();
    expect(o.valueInteger).toBeUndefined();
  });

  it('derivedFrom keeps only reference types R4 allows there, versions untouched', () => {
    expect(
      derivedFromReferences([
        'Observation/1/_history/7',
        'DocumentReference/d-1',
        'Encounter/9',
        'observation/1',
        'Observation/',
        '1234',
      ]),
    ).toEqual([{ reference: 'Observation/1/_history/7' }, { reference: 'DocumentReference/d-1' }]);
  });
});

describe('[REQ-FHIR-03] the subject by patientId and patient.mode', () => {
  it('Patient/<id> (or an absolute URL to one) is used as it is, whatever the mode', () => {
    for (const mode of ['search', 'conditional-create', 'identifier'] as const) {
      expect(planSubject('Patient/123', { ...PATIENT, mode })).toEqual({
        kind: 'resolved',
        subject: { reference: { reference: 'Patient/123' } },
      });
    }
    expect(planSubject('https://fhir.example/r4/Patient/x-1', PATIENT)).toMatchObject({
      kind: 'resolved',
    });
  });

  it('no patientId → no subject', () => {
    expect(planSubject(null, PATIENT)).toEqual({ kind: 'none' });
    expect(planSubject('', PATIENT)).toEqual({ kind: 'none' });
  });

  it('search: plan with identifier (configured system, or system|value) and a logical fallback', () => {
    expect(planSubject('MRN-7', PATIENT)).toEqual({
      kind: 'search',
      identifier: { system: 'urn:medstream:patient-id', value: 'MRN-7' },
      fallback: {
        reference: {
          type: 'Patient',
          identifier: { system: 'urn:medstream:patient-id', value: 'MRN-7' },
        },
      },
    });
    expect(planSubject('urn:oid:1.2.36|99', PATIENT)).toMatchObject({
      identifier: { system: 'urn:oid:1.2.36', value: '99' },
    });
  });

  it('search answer: exactly one Patient → its reference; none or several → logical reference', () => {
    const fallback = { reference: { type: 'Patient', identifier: { system: 's', value: 'v' } } };
    const set = (...ids: string[]): Bundle => ({
      resourceType: 'Bundle',
      type: 'searchset',
      entry: ids.map((id) => ({ resource: { resourceType: 'Patient', id } })),
    });
    expect(subjectFromSearch(set('p1'), fallback)).toEqual({
      reference: { reference: 'Patient/p1' },
    });
    expect(subjectFromSearch(set(), fallback)).toBe(fallback);
    expect(subjectFromSearch(set('p1', 'p2'), fallback)).toBe(fallback);
  });

  it('identifier: a logical reference only', () => {
    expect(planSubject('MRN-7', { ...PATIENT, mode: 'identifier' })).toEqual({
      kind: 'resolved',
      subject: {
        reference: {
          type: 'Patient',
          identifier: { system: 'urn:medstream:patient-id', value: 'MRN-7' },
        },
      },
    });
  });

  it('conditional-create: a Patient entry in the transaction, referenced by its urn:uuid', () => {
    const plan = planSubject('MRN-7', { ...PATIENT, mode: 'conditional-create' });
    expect(plan.kind).toBe('resolved');
    const subject = (plan as Extract<typeof plan, { kind: 'resolved' }>).subject;
    expect(subject.entry).toEqual({
      fullUrl: subject.reference.reference,
      resource: {
        resourceType: 'Patient',
        identifier: [{ system: 'urn:medstream:patient-id', value: 'MRN-7' }],
      },
      request: {
        method: 'POST',
        url: 'Patient',
        ifNoneExist: 'identifier=urn%3Amedstream%3Apatient-id|MRN-7',
      },
    });
    const b = riskResultToBundle(risk({ patientId: 'MRN-7' }), {
      identifierSystem: RESULT_IDS,
      subject,
    });
    expect(b.entry!.map((e) => e.resource!.resourceType)).toEqual(['Patient', 'Observation']);
    expect(b.entry![1]!.resource!.subject).toEqual({
      reference: subject.reference.reference,
      type: 'Patient',
    });
    const i = imagingResultToBundle(imaging({ patientId: 'MRN-7' }), {
      identifierSystem: RESULT_IDS,
      subject,
    });
    expect(i.entry![0]!.resource!.resourceType).toBe('Patient');
    expect(i.entry!.filter((e) => e.resource!.resourceType === 'Patient')).toHaveLength(1);
  });
});

describe('[REQ-FHIR-04] helpers', () => {
  it('identifierQuery escapes FHIR search separators and URL-encodes', () => {
    expect(identifierQuery({ system: 'urn:a', value: 'x,y|z' })).toBe(
      'identifier=urn%3Aa|x%5C%2Cy%5C%7Cz',
    );
  });

  it('uuidFor is a deterministic RFC 4122 v5-layout UUID', () => {
    expect(uuidFor('a')).toBe(uuidFor('a'));
    expect(uuidFor('a')).not.toBe(uuidFor('b'));
    expect(uuidFor('a')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('splitModel', () => {
    expect(splitModel('cxr-demo@1.0.0')).toEqual({ name: 'cxr-demo', version: '1.0.0' });
    expect(splitModel('plain')).toEqual({ name: 'plain', version: '' });
  });

  it('outcomeText lists issues with diagnostics or details text and the location', () => {
    const oo = {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'processing',
          diagnostics: 'bad ref',
          expression: ['Observation.subject'],
        },
        { severity: 'warning', code: 'informational', details: { text: 'just so' } },
      ],
    };
    expect(outcomeText(oo)).toBe(
      'error processing: bad ref @ Observation.subject; warning informational: just so',
    );
    expect(outcomeText(oo, new Set(['error']))).toBe(
      'error processing: bad ref @ Observation.subject',
    );
    expect(outcomeText({ resourceType: 'Patient' })).toBe('');
  });

  it('transactionOutcomes: 201 → created, 200 (matched conditional create) → existed', () => {
    const sent = riskResultToBundle(risk(), { identifierSystem: RESULT_IDS });
    expect(
      transactionOutcomes(sent, {
        resourceType: 'Bundle',
        type: 'transaction-response',
        entry: [{ response: { status: '201 Created' } }],
      }),
    ).toEqual([{ type: 'Observation', outcome: 'created' }]);
    expect(
      transactionOutcomes(sent, {
        resourceType: 'Bundle',
        type: 'transaction-response',
        entry: [{ response: { status: '200 OK' } }],
      }),
    ).toEqual([{ type: 'Observation', outcome: 'existed' }]);
  });
});
