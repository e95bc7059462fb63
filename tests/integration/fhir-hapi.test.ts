/**
 * The FHIR round trip against a real HAPI FHIR R4 server (deploy/local/fhir) and real Kafka:
 * HAPI Subscriptions (made by `medstream fhir subscribe`'s code) call medstream back; risk
 * Observations and imaging Observations + DiagnosticReports are written back to HAPI by the
 * fhir sink, pointing at their sources — with full-resource and with id-only payloads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FhirSubscriptionConfig } from '../../connectors/sources/fhir-subscription';
import { subscribe } from '../../connectors/sources/fhir-subscription/subscribe';
import { RECORDS, TOPICS } from '../../engine/kafka/topics';
import { projectRoot } from '../../engine/paths';
import type { RunningEngine } from '../../engine/runtime';
import {
  labSet,
  news2Vitals,
  observation,
  patient,
  r5Notification,
} from '../helpers/fhir-fixtures';
import { type RunningHapi, startHapi } from '../helpers/hapi';
import { createTestSettings, startTestEngine } from '../helpers/test-env';
import { readRecords } from '../helpers/topics';
import { postJson } from '../helpers/vitals';
import { waitFor } from '../helpers/wait-for';

const SECRET = 'Bearer test-only-hapi-callback-secret';
const RESULT_SYSTEM = 'urn:medstream:result-id';

interface Resource {
  resourceType: string;
  id: string;
  identifier?: { system?: string; value?: string }[];
  derivedFrom?: { reference?: string }[];
  code?: { text?: string; coding?: { system?: string; code?: string }[] };
  valueInteger?: number;
  valueQuantity?: { value: number };
  method?: { text?: string };
  presentedForm?: { contentType?: string; data?: string }[];
  result?: { reference?: string }[];
}

async function fhir(hapi: RunningHapi, path: string, init?: { method: string; body: unknown }) {
  const res = await fetch(`${hapi.baseUrl}/${path}`, {
    method: init?.method ?? 'GET',
    headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
    body: init ? JSON.stringify(init.body) : undefined,
  });
  if (!res.ok)
    throw new Error(`${init?.method ?? 'GET'} ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as Resource & { entry?: { resource: Resource }[] };
}

const search = async (hapi: RunningHapi, query: string) =>
  ((await fhir(hapi, query)).entry ?? []).map((e) => e.resource);

/** medstream's results for a patient in HAPI (resources carrying our result identifier). */
const medstreamObservations = async (hapi: RunningHapi, patientId: string) =>
  (await search(hapi, `Observation?subject=Patient/${patientId}&_count=200`)).filter((o) =>
    o.identifier?.some((i) => i.system === RESULT_SYSTEM),
  );

describe('[REQ-FHIR-HAPI] HAPI FHIR ⇄ medstream', () => {
  let hapi: RunningHapi;
  let engine: RunningEngine;
  let cleanup: () => Promise<void>;
  let sourceConfig: FhirSubscriptionConfig;

  beforeAll(async () => {
    hapi = await startHapi();
    const fixture = await createTestSettings('pglite', {
      components: {
        'fhir-subscription': {
          enabled: true,
          secret: SECRET,
          fhirServer: { baseUrl: hapi.baseUrl },
        },
        fhir: { enabled: true, baseUrl: hapi.baseUrl },
      },
    });
    cleanup = fixture.cleanup;
    engine = await startTestEngine(['ingest', 'process', 'sink', 'api'], fixture.settings);
    sourceConfig = {
      enabled: true,
      path: '/fhir/subscription',
      authHeader: 'authorization',
      secret: SECRET,
      publicUrl: engine.url,
      acceptedTypes: ['Observation', 'Patient'],
      fhirServer: { baseUrl: hapi.baseUrl, headers: {}, timeoutMs: 30000 },
      idOnlyLookbackSeconds: 600,
      bodyLimitBytes: 10485760,
      subscriptions: [
        {
          name: 'vital-signs',
          criteria: 'Observation?category=vital-signs',
          payload: 'full-resource',
          secret: '',
          reason: 'test',
        },
        {
          name: 'laboratory',
          criteria: 'Observation?category=laboratory',
          payload: 'full-resource',
          secret: '',
          reason: 'test',
        },
        {
          name: 'patients',
          criteria: 'Patient?',
          payload: 'full-resource',
          secret: '',
          reason: 'test',
        },
      ],
    };
  }, 600000);

  afterAll(async () => {
    await engine?.stop();
    await hapi?.stop();
    await cleanup?.();
  });

  const postPatientData = async (birthDate: string, vitals = news2Vitals()) => {
    const p = await fhir(hapi, 'Patient', { method: 'POST', body: patient(undefined, birthDate) });
    const ref = `Patient/${p.id}`;
    const at = new Date(Date.now() - 60_000).toISOString();
    const created: Resource[] = [];
    for (const v of [...vitals, ...labSet()])
      created.push(
        await fhir(hapi, 'Observation', { method: 'POST', body: observation(ref, v, at) }),
      );
    return { patientId: p.id, observations: created };
  };

  const expectRiskObservations = async (patientId: string, sources: Resource[]) => {
    const found = await waitFor(
      async () => {
        const all = await medstreamObservations(hapi, patientId);
        const news2 = all.filter((o) => o.valueInteger !== undefined);
        const learned = all.filter(
          (o) => o.valueQuantity !== undefined && /synthetic/i.test(o.method?.text ?? ''),
        );
        const derived = (o: Resource) =>
          (o.derivedFrom ?? []).map((d) => d.reference?.split('/_history/')[0]);
        const lastLab = `Observation/${sources[sources.length - 1]!.id}`;
        const news2Done = news2.find((o) => derived(o).length >= 6);
        const learnedDone = learned.find((o) => derived(o).includes(lastLab));
        return news2Done && learnedDone
          ? { news2: news2Done, learned: learnedDone, derived }
          : undefined;
      },
      {
        what: `risk Observations for Patient/${patientId} in HAPI`,
        timeoutMs: 90000,
        intervalMs: 500,
      },
    );
    // NEWS2 points at the vitals it used: RR, SpO2, SBP, HR, temperature, GCS
    expect(found.derived(found.news2)).toEqual(
      expect.arrayContaining(sources.slice(0, 6).map((o) => `Observation/${o.id}`)),
    );
    expect(found.news2.valueInteger).toBe(9);
    expect(found.learned.valueQuantity!.value).toBeGreaterThan(0);
    expect(found.learned.valueQuantity!.value).toBeLessThan(1);
    // (the Patient that gave the age is the subject: R4 derivedFrom takes no Patient)
    return found;
  };

  it('[REQ-FHIR-HAPI-01] Subscriptions with full-resource payloads: HAPI calls medstream → risk Observations appear in HAPI, pointing at the sources', async () => {
    const outcomes = await subscribe(sourceConfig);
    expect(outcomes.map((o) => [o.name, o.status])).toEqual([
      ['vital-signs', 'active'],
      ['laboratory', 'active'],
      ['patients', 'active'],
    ]);
    const { patientId, observations } = await postPatientData('1950-01-01');
    await expectRiskObservations(patientId, observations);
  });

  it('[REQ-FHIR-HAPI-02] the same with id-only payloads (empty POST → medstream reads the changes back)', async () => {
    const idOnly = {
      ...sourceConfig,
      subscriptions: sourceConfig.subscriptions.map((s) => ({ ...s, payload: 'id-only' as const })),
    };
    const outcomes = await subscribe(idOnly);
    expect(outcomes.every((o) => o.status === 'active')).toBe(true);
    const subscription = await fhir(hapi, outcomes[0]!.reference);
    expect(
      (subscription as unknown as { channel: { payload?: string } }).channel.payload,
    ).toBeUndefined();
    const { patientId, observations } = await postPatientData('1980-06-15');
    await expectRiskObservations(patientId, observations);
    const metrics = await (await fetch(`${engine.url}/metrics`)).text();
    expect(metrics).toMatch(
      /medstream_fhir_callbacks_total\{delivery="rest-hook-id-only",outcome="accepted"\} [1-9]/,
    );
  });

  it('[REQ-FHIR-HAPI-03] an image over HTTP → Observations + DiagnosticReport in HAPI, found by subject and identifier; redelivery leaves one', async () => {
    const p = await fhir(hapi, 'Patient', {
      method: 'POST',
      body: patient(undefined, '1961-02-03'),
    });
    const png = readFileSync(
      join(projectRoot(), 'models', 'cxr-demo', '1.0.0', 'samples', 'pneumonia.png'),
    );
    const r = await postJson(`${engine.url}/api/v1/images?wait=60s`, {
      b64: png.toString('base64'),
      patientId: `Patient/${p.id}`,
    });
    expect(r.status).toBe(200);
    const resultId = r.json.id as string;
    const report = await waitFor(
      async () => (await search(hapi, `DiagnosticReport?subject=Patient/${p.id}`))[0],
      { what: 'the DiagnosticReport in HAPI', timeoutMs: 60000, intervalMs: 500 },
    );
    const byIdentifier = await search(
      hapi,
      `DiagnosticReport?identifier=${encodeURIComponent(`${RESULT_SYSTEM}|${resultId}`)}`,
    );
    expect(byIdentifier.map((d) => d.id)).toEqual([report.id]);
    expect(report.presentedForm?.[0]?.contentType).toBe('image/png');
    expect(report.result).toHaveLength(3);
    const findings = await medstreamObservations(hapi, p.id);
    expect(findings).toHaveLength(3);
    expect(findings.every((o) => /synthetic-data model/.test(o.method?.text ?? ''))).toBe(true);
    // deliver the same result again: the sink's conditional creates find the existing resources
    const producer = engine.kafka.producer();
    await producer.connect();
    try {
      const results = await readRecords(engine, TOPICS.resultsImaging);
      const mine = results.find((x) => x.resultId === resultId)!;
      await producer.send({
        topic: engine.topics.physical(TOPICS.resultsImaging),
        messages: [{ key: resultId, ...engine.serde.encode(RECORDS.imagingResult, mine) }],
      });
    } finally {
      await producer.disconnect();
    }
    const metrics = async () =>
      (await (await fetch(`${engine.url}/metrics`)).text()).match(
        /medstream_fhir_resources_total\{type="DiagnosticReport",outcome="existed"\} (\d+)/,
      )?.[1];
    await waitFor(async () => Number(await metrics()) >= 1, {
      what: 'the redelivery to be written',
      timeoutMs: 60000,
      intervalMs: 500,
    });
    expect(await search(hapi, `DiagnosticReport?subject=Patient/${p.id}`)).toHaveLength(1);
    expect(await medstreamObservations(hapi, p.id)).toHaveLength(3);
  });

  it('[REQ-FHIR-HAPI-04] an R5 id-only topic notification: medstream reads each focus back from HAPI', async () => {
    const p = await fhir(hapi, 'Patient', {
      method: 'POST',
      body: patient(undefined, '1970-07-07'),
    });
    const o = await fhir(hapi, 'Observation', {
      method: 'POST',
      body: observation(`Patient/${p.id}`, news2Vitals()[3]!, new Date().toISOString()),
    });
    const bundle = r5Notification(
      'Subscription/topic-test',
      'event-notification',
      1,
      [{ eventNumber: 1, resource: { resourceType: 'Observation', id: o.id } }],
      'id-only',
    );
    const res = await fetch(`${engine.url}/fhir/subscription/sub/vital-signs`, {
      method: 'POST',
      headers: { authorization: SECRET, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(bundle),
    });
    expect(res.status).toBe(200);
    const received = await waitFor(
      async () =>
        (await readRecords(engine, TOPICS.ingestFhir)).find(
          (r) => r.resourceId === o.id && r.delivery === 'notification-id-only',
        ),
      { what: 'the read-back resource on the ingest topic' },
    );
    expect(received.eventNumber).toBe(1);
    expect(JSON.parse(received.resource!)).toMatchObject({ resourceType: 'Observation', id: o.id });
  });
});
