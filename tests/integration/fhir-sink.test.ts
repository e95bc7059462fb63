import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { fhirSink } from '../../connectors/sinks/fhir';
import { freePort } from '../../deploy/local/kafka/local-kafka';
import { type LocalFhir, startLocalFhir } from '../../deploy/local/fhir/local-fhir';
import { loadConfig } from '../../engine/config/load-config';
import type { AnyComponent } from '../../engine/contracts';
import { TOPICS } from '../../engine/kafka/topics';
import { createLogger } from '../../engine/logger';
import { type RunningEngine, startEngine } from '../../engine/runtime';
import {
  type TestSettings,
  createTestSettings,
  randomId,
  settingsToOverrides,
} from '../helpers/test-env';
import { deadLetters } from '../helpers/topics';
import { waitFor } from '../helpers/wait-for';

const RESULT_IDS = 'urn:medstream:result-id';
const PATIENT_IDS = 'urn:medstream:patient-id';

/** Only the fhir sink: the engine under test runs nothing else (no result store consumer). */
const components: readonly AnyComponent[] = [fhirSink];

/** An engine running the sink role with components.fhir as given. */
async function startSinkEngine(settings: TestSettings): Promise<RunningEngine> {
  const config = loadConfig({
    env: {},
    file: '/dev/null',
    componentSchemas: Object.fromEntries(components.map((c) => [c.name, c.configSchema])),
    overrides: settingsToOverrides(settings, { registry: false }),
  });
  return startEngine({
    config,
    roles: ['sink'],
    components,
    logger: createLogger(config.log.level),
  });
}

interface Bundle {
  resourceType: string;
  total?: number;
  entry?: Array<{ resource: Record<string, unknown> & { id: string; resourceType: string } }>;
}

async function fhirRequest<T = Bundle>(
  baseUrl: string,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${baseUrl}/${path}`, {
    method: init.method ?? 'GET',
    headers: { accept: 'application/fhir+json', 'content-type': 'application/fhir+json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

const token = (system: string, value: string) =>
  `identifier=${encodeURIComponent(system)}|${encodeURIComponent(value)}`;

// Real HAPI FHIR R4 JPA (deploy/local/fhir), H2 on disk so it can be stopped and started again
// on the same port with its data — the outage test needs exactly that.
describe('[REQ-FHIR-10] results written to a real HAPI FHIR R4 server', () => {
  let hapi: LocalFhir | undefined;
  let hapiDir: string;
  let hapiPort: number;
  let baseUrl: string;
  let engine: RunningEngine;
  let cleanup: () => Promise<void>;
  let patientRef: string;
  let patientValue: string;
  let sourceObservation: string;
  let png: Buffer;
  let overlayUri: string;
  const run = randomId();

  const startHapi = () =>
    startLocalFhir({ dataDir: hapiDir, port: hapiPort, persist: true, heapMb: 768 });

  const fhirMetric = async (outcome: string, on = engine) => {
    const metric = await on.metrics.registry
      .getSingleMetric('medstream_fhir_resources_total')!
      .get();
    return metric.values
      .filter((v) => v.labels.outcome === outcome)
      .reduce((sum, v) => sum + v.value, 0);
  };

  const imagingResult = (resultId: string, patientId: string) => {
    const now = Date.now();
    const study = `2.25.${BigInt(`0x${randomId(8)}`)}`;
    return {
      resultId,
      kind: 'imaging',
      subject: study,
      patientId,
      model: 'cxr-demo@1.0.0',
      runtime: { kind: 'tfjs', backend: 'cpu', device: 'cpu' },
      multiLabel: false,
      labels: ['normal', 'pneumonia', 'covid19'],
      probabilities: [0.1, 0.75, 0.15],
      label: 'pneumonia',
      labelProbability: 0.75,
      heatmap: {
        overlayUri,
        mapUri: overlayUri,
        classIndex: 1,
        label: 'pneumonia',
        peakX: 4,
        peakY: 4,
        colormap: 'jet',
        method: 'grad-cam',
      },
      input: {
        uri: overlayUri,
        displayUri: overlayUri,
        contentType: 'application/dicom',
        width: 8,
        height: 8,
      },
      timingsMs: { total: 12 },
      batchSize: 1,
      syntheticModel: true,
      disclaimer: 'Research use only.',
      submittedAt: now - 1000,
      computedAt: now,
      dicom: {
        studyInstanceUid: study,
        seriesInstanceUid: `${study}.1`,
        sopInstanceUid: `${study}.1.1`,
        sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
        accessionNumber: 'ACC-1',
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
    };
  };

  const riskResult = (resultId: string, patientId: string, sourceIds: string[] = []) => ({
    resultId,
    kind: 'news2',
    patientId,
    model: 'news2@rcp-2017',
    observedAt: Date.now() - 5000,
    computedAt: Date.now(),
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
    inputsUsed: { respiratoryRate: 26, spo2: 95 },
    missingInputs: [],
    imputedInputs: [],
    sourceIds,
    syntheticModel: false,
  });

  const publishImaging = (value: ReturnType<typeof imagingResult>, on = engine) =>
    on.producer.send(
      [
        {
          topic: TOPICS.resultsImaging,
          key: value.subject,
          value,
          headers: { 'correlation-id': value.resultId },
        },
      ],
      'test',
    );
  const publishRisk = (values: Array<ReturnType<typeof riskResult>>, on = engine) =>
    on.producer.send(
      values.map((value) => ({
        topic: TOPICS.resultsRisk,
        key: value.patientId,
        value,
        headers: { 'correlation-id': value.resultId },
      })),
      'test',
    );

  /** Resources of `type` carrying identifier `value` (the result id, or `${id}/${label}`). */
  const byIdentifier = async (type: string, value: string) =>
    (await fhirRequest(baseUrl, `${type}?${token(RESULT_IDS, value)}`)).body.entry ?? [];

  beforeAll(async () => {
    hapiDir = mkdtempSync(join(tmpdir(), 'medstream-fhir-sink-hapi-'));
    hapiPort = await freePort();
    hapi = await startHapi();
    baseUrl = hapi.baseUrl;

    patientValue = `MRN-${run}`;
    const patient = await fhirRequest<{ id: string }>(baseUrl, 'Patient', {
      method: 'POST',
      body: {
        resourceType: 'Patient',
        identifier: [{ system: PATIENT_IDS, value: patientValue }],
        name: [{ family: 'Test', given: ['Fhir'] }],
      },
    });
    expect(patient.status).toBe(201);
    patientRef = `Patient/${patient.body.id}`;
    const source = await fhirRequest<{ id: string; meta: { versionId: string } }>(
      baseUrl,
      'Observation',
      {
        method: 'POST',
        body: {
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '9279-1' }] },
          subject: { reference: patientRef },
          valueQuantity: {
            value: 26,
            unit: '/min',
            system: 'http://unitsofmeasure.org',
            code: '/min',
          },
        },
      },
    );
    sourceObservation = `Observation/${source.body.id}/_history/${source.body.meta.versionId}`;

    const fixture = await createTestSettings('pglite', {
      components: {
        fhir: {
          enabled: true,
          baseUrl,
          timeoutMs: 5000,
          headers: { 'X-Medstream-Test': run },
          patient: { mode: 'search' },
        },
      },
    });
    cleanup = fixture.cleanup;
    engine = await startSinkEngine(fixture.settings);
    png = await sharp({
      create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 30, b: 30 } },
    })
      .png()
      .toBuffer();
    overlayUri = (await engine.blobs.put(png)).uri;
  }, 300000);

  afterAll(async () => {
    await engine?.stop();
    await hapi?.stop();
    await cleanup?.();
    if (hapiDir) rmSync(hapiDir, { recursive: true, force: true });
  });

  const imaging1 = () => imagingResult(`img-${run}-1`, patientValue);
  let imaging1Value: ReturnType<typeof imagingResult>;
  let risk1Value: ReturnType<typeof riskResult>;

  it('[REQ-FHIR-10a] an imaging result → 3 Observations + 1 DiagnosticReport, found by subject and identifier', async () => {
    imaging1Value = imaging1();
    risk1Value = riskResult(`risk-${run}-1`, patientValue, [sourceObservation, 'vitals-1']);
    await publishImaging(imaging1Value);
    await publishRisk([risk1Value]);

    const [report] = await waitFor(
      async () => {
        const found = await byIdentifier('DiagnosticReport', imaging1Value.resultId);
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 60000, intervalMs: 500, what: 'the DiagnosticReport in HAPI' },
    );
    await waitFor(async () => (await byIdentifier('Observation', risk1Value.resultId)).length > 0, {
      timeoutMs: 60000,
      intervalMs: 500,
      what: 'the risk Observation in HAPI',
    });

    // by subject: the Patient found by identifier search (mode 'search')
    const observations = await fhirRequest(baseUrl, `Observation?subject=${patientRef}&_count=50`);
    const reports = await fhirRequest(baseUrl, `DiagnosticReport?subject=${patientRef}`);
    // the 3 findings + the NEWS2 risk + the source Observation created in beforeAll
    expect(observations.body.total).toBe(5);
    expect(reports.body.total).toBe(1);

    const r = report!.resource;
    expect(r.subject).toEqual({ reference: patientRef });
    expect(r.identifier).toEqual([{ system: RESULT_IDS, value: imaging1Value.resultId }]);
    expect(r.presentedForm).toEqual([
      expect.objectContaining({ contentType: 'image/png', data: png.toString('base64') }),
    ]);
    expect(r.conclusion).toMatch(/^Top finding: pneumonia \(75\.0 %\)\..*not for clinical use/);
    expect(r.imagingStudy).toEqual([
      expect.objectContaining({
        identifier: {
          system: 'urn:dicom:uid',
          value: `urn:oid:${imaging1Value.dicom.studyInstanceUid}`,
        },
      }),
    ]);
    // result[] points at the created Observations (urn:uuid rewritten by HAPI)
    const resultRefs = (r.result as Array<{ reference: string }>).map((x) => x.reference);
    expect(resultRefs).toHaveLength(3);
    for (const [i, label] of imaging1Value.labels.entries()) {
      const [o] = await byIdentifier('Observation', `${imaging1Value.resultId}/${label}`);
      expect(o).toBeDefined();
      expect(resultRefs[i]).toBe(`Observation/${o!.resource.id}`);
      expect(o!.resource).toMatchObject({
        status: 'final',
        subject: { reference: patientRef },
        valueQuantity: { value: imaging1Value.probabilities[i], unit: '1', code: '1' },
        device: { display: 'cxr-demo@1.0.0' },
        interpretation: [{ coding: [{ code: label === 'pneumonia' ? 'POS' : 'NEG' }] }],
      });
      expect((o!.resource.method as { text: string }).text).toMatch(/not for clinical use/);
      expect((o!.resource.derivedFrom as Array<{ display: string }>)[0]!.display).toContain(
        `SOP Instance ${imaging1Value.dicom.sopInstanceUid}`,
      );
    }

    const [risk] = await byIdentifier('Observation', risk1Value.resultId);
    expect(risk!.resource).toMatchObject({
      subject: { reference: patientRef },
      valueInteger: 6,
      code: { coding: [{ system: 'http://snomed.info/sct', code: '1104051000000101' }] },
    });
    expect(risk!.resource.component).toHaveLength(9);
    // HAPI stores references without their version by default (stripVersionsFromReferences)
    const derived = (risk!.resource.derivedFrom as Array<{ reference: string }>).map(
      (d) => d.reference,
    );
    expect(derived).toHaveLength(1);
    expect(sourceObservation.startsWith(derived[0]!)).toBe(true);
    expect(await fhirMetric('created')).toBe(5);
  });

  it('[REQ-FHIR-10b] the same results published again → still exactly one of each', async () => {
    await publishImaging(imaging1Value);
    await publishRisk([risk1Value]);
    await waitFor(async () => (await fhirMetric('existed')) >= 5, {
      timeoutMs: 60000,
      intervalMs: 250,
      what: 'the redelivered results matched in HAPI',
    });
    expect(await fhirMetric('existed')).toBe(5);
    expect(await fhirMetric('created')).toBe(5);
    expect(await byIdentifier('DiagnosticReport', imaging1Value.resultId)).toHaveLength(1);
    expect(await byIdentifier('Observation', risk1Value.resultId)).toHaveLength(1);
    for (const label of imaging1Value.labels) {
      expect(await byIdentifier('Observation', `${imaging1Value.resultId}/${label}`)).toHaveLength(
        1,
      );
    }
    const observations = await fhirRequest(baseUrl, `Observation?subject=${patientRef}&_count=50`);
    expect(observations.body.total).toBe(5);
  });

  it('[REQ-FHIR-10c] every created resource passes HAPI $validate (no error-severity issue)', async () => {
    const created = [
      ...(await byIdentifier('DiagnosticReport', imaging1Value.resultId)),
      ...(await byIdentifier('Observation', risk1Value.resultId)),
    ];
    for (const label of imaging1Value.labels) {
      created.push(...(await byIdentifier('Observation', `${imaging1Value.resultId}/${label}`)));
    }
    expect(created).toHaveLength(5);
    for (const { resource } of created) {
      const verdict = await fhirRequest<{
        resourceType: string;
        issue: Array<{ severity: string; diagnostics?: string }>;
      }>(baseUrl, `${resource.resourceType}/$validate`, { method: 'POST', body: resource });
      const errors = verdict.body.issue.filter((i) => ['error', 'fatal'].includes(i.severity));
      expect({ resource: `${resource.resourceType}/${resource.id}`, errors }).toEqual({
        resource: `${resource.resourceType}/${resource.id}`,
        errors: [],
      });
      expect(verdict.status).toBe(200);
    }
  });

  it('[REQ-FHIR-10d] HAPI answering 4xx (unknown Patient reference) → one dead letter with the OperationOutcome text', async () => {
    const bad = imagingResult(`img-${run}-bad`, `Patient/nope-${run}`);
    await publishImaging(bad);
    const letter = await waitFor(
      async () =>
        (await deadLetters(engine)).find(
          (l) => l.component === 'fhir' && l.originalHeaders['correlation-id'] === bad.resultId,
        ),
      { timeoutMs: 60000, intervalMs: 500, what: 'the dead letter of the rejected result' },
    );
    expect(letter.errorCode).toBe('FHIR_REJECTED');
    expect(letter.errorMessage).toContain(`transaction of result ${bad.resultId}: HTTP 400`);
    expect(letter.errorMessage).toContain(`Resource Patient/nope-${run} not found`);
    expect(letter.attempts).toBe(1);
    expect(await byIdentifier('DiagnosticReport', bad.resultId)).toHaveLength(0);
    expect(await fhirMetric('failed')).toBe(4);
  });

  it('[REQ-FHIR-10e] HAPI stopped mid-stream: 5 results wait (retried, not dead-lettered) and arrive exactly once after it is back', async () => {
    const lettersBefore = (await deadLetters(engine)).filter((l) => l.component === 'fhir').length;
    const retriesBefore = await engine.metrics.retries.get();
    const countRetries = (m: typeof retriesBefore) =>
      m.values
        .filter((v) => v.labels.component === 'fhir' && v.labels.code === 'FHIR_UNAVAILABLE')
        .reduce((s, v) => s + v.value, 0);
    const before = countRetries(retriesBefore);

    await hapi!.stop();
    hapi = undefined;
    const batch = Array.from({ length: 5 }, (_, i) =>
      riskResult(`risk-${run}-outage-${i}`, patientRef),
    );
    await publishRisk(batch);

    await waitFor(async () => countRetries(await engine.metrics.retries.get()) >= before + 2, {
      timeoutMs: 60000,
      intervalMs: 250,
      what: 'retries of the FHIR_UNAVAILABLE results',
    });
    const ready = await fetch(`${engine.url}/readyz`);
    expect(ready.status).toBe(503);
    await ready.arrayBuffer();

    hapi = await startHapi(); // same port, same H2 files
    expect(hapi.baseUrl).toBe(baseUrl);

    for (const r of batch) {
      await waitFor(async () => (await byIdentifier('Observation', r.resultId)).length > 0, {
        timeoutMs: 90000,
        intervalMs: 500,
        what: `${r.resultId} in HAPI after the restart`,
      });
    }
    for (const r of batch) {
      const found = await byIdentifier('Observation', r.resultId);
      expect(found).toHaveLength(1);
      expect(found[0]!.resource.subject).toEqual({ reference: patientRef });
    }
    // what was written before the outage is still there, once
    expect(await byIdentifier('DiagnosticReport', imaging1Value.resultId)).toHaveLength(1);
    const letters = (await deadLetters(engine)).filter((l) => l.component === 'fhir');
    expect(letters).toHaveLength(lettersBefore);
    expect(await fhirMetric('created')).toBe(10);
  }, 300000);

  it('[REQ-FHIR-10f] patient.mode conditional-create + validate: one Patient for two results sent twice, every resource $validated first', async () => {
    const fixture = await createTestSettings('pglite', {
      components: {
        fhir: {
          enabled: true,
          baseUrl,
          patient: { mode: 'conditional-create' },
          validate: true,
          attachHeatmap: false,
        },
      },
    });
    const second = await startSinkEngine(fixture.settings);
    try {
      const mrn = `MRN-cc-${run}`;
      const img = imagingResult(`img-${run}-cc`, mrn);
      const rsk = riskResult(`risk-${run}-cc`, mrn);
      for (let i = 0; i < 2; i++) {
        await publishImaging(img, second);
        await publishRisk([rsk], second);
      }
      // 1 Patient + 3 + 1 + 1 created by the first delivery; all 6 (+1 Patient) matched by the second
      await waitFor(async () => (await fhirMetric('existed', second)) >= 7, {
        timeoutMs: 90000,
        intervalMs: 250,
        what: 'both deliveries of both results',
      });
      expect(await fhirMetric('created', second)).toBe(6);
      const patients = await fhirRequest(baseUrl, `Patient?${token(PATIENT_IDS, mrn)}`);
      expect(patients.body.total).toBe(1);
      const patient = `Patient/${patients.body.entry![0]!.resource.id}`;
      const [report] = await byIdentifier('DiagnosticReport', img.resultId);
      expect(report!.resource.subject).toMatchObject({ reference: patient });
      expect(report!.resource.presentedForm).toBeUndefined();
      const [risk] = await byIdentifier('Observation', rsk.resultId);
      expect(risk!.resource.subject).toMatchObject({ reference: patient });
      const validations = await second.metrics.registry
        .getSingleMetric('medstream_fhir_request_seconds')!
        .get();
      const validated = validations.values.find(
        (v) =>
          (v as { metricName?: string }).metricName === 'medstream_fhir_request_seconds_count' &&
          v.labels.operation === 'validate' &&
          v.labels.status === '2xx',
      );
      // Patient + 3 Observations + DiagnosticReport, Patient + Observation; each sent twice
      expect(validated?.value).toBe(14);
    } finally {
      await second.stop();
      await fixture.cleanup();
    }
  });
});
