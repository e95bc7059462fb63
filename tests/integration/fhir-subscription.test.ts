/**
 * FHIR subscription callbacks → medstream.ingest.fhir.v1 → icu-risk (NEWS2 + learned model),
 * against real Kafka; the callbacks are sent the way a FHIR server sends them (the HAPI
 * round trip is tests/integration/fhir-hapi.test.ts).
 */
import { acceptedOutcome } from '../../connectors/sources/fhir-subscription';
import { TOPICS } from '../../engine/kafka/topics';
import type { RunningEngine } from '../../engine/runtime';
import {
  labSet,
  news2Vitals,
  observation,
  patient,
  r5Notification,
} from '../helpers/fhir-fixtures';
import {
  type TestSettings,
  createTestSettings,
  randomId,
  startTestEngine,
} from '../helpers/test-env';
import { deadLetters, readRecords } from '../helpers/topics';
import { waitFor } from '../helpers/wait-for';

const SECRET = 'Bearer test-only-callback-secret';

const send = (
  engine: RunningEngine,
  method: string,
  path: string,
  body?: unknown,
  auth: string | null = SECRET,
) =>
  fetch(`${engine.url}/fhir/subscription${path}`, {
    method,
    headers: {
      ...(auth !== null ? { authorization: auth } : {}),
      ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });

const risks = (engine: RunningEngine, patientRef: string) =>
  readRecords(engine, TOPICS.resultsRisk).then((all) =>
    all.filter((r) => r.patientId === patientRef),
  );

describe('[REQ-FHIR-IN] FHIR subscription source and ICU risk from FHIR', () => {
  let settings: TestSettings;
  let engine: RunningEngine;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const fixture = await createTestSettings('pglite', {
      components: { 'fhir-subscription': { enabled: true, secret: SECRET } },
    });
    settings = fixture.settings;
    cleanup = fixture.cleanup;
    engine = await startTestEngine(['ingest', 'process'], settings);
  });

  afterAll(async () => {
    await engine?.stop();
    await cleanup?.();
  });

  it('[REQ-FHIR-IN-01] full-resource rest-hook callbacks → NEWS2 and learned risk with sources, missing and imputed inputs', async () => {
    const pid = `p${randomId()}`;
    const ref = `Patient/${pid}`;
    expect(
      (
        await send(engine, 'PUT', `/sub/patients/Patient/${pid}`, {
          ...patient(pid),
          meta: { versionId: '1' },
        })
      ).status,
    ).toBe(200);
    const at = '2026-11-20T08:00:00Z';
    const resources = [...news2Vitals(), ...labSet()].map((v, i) =>
      observation(ref, v, at, `${pid}-o${i}`, { meta: { versionId: '1' } }),
    );
    for (const r of resources) {
      const res = await send(engine, 'PUT', `/sub/vital-signs/Observation/${r.id}`, r);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(acceptedOutcome(1));
    }
    const last = resources[resources.length - 1]!;
    const results = await waitFor(
      async () => {
        const all = await risks(engine, ref);
        const lastRef = `Observation/${last.id}/_history/1`;
        const learned = all.find(
          (r) => r.kind === 'icu-admission' && r.sourceIds.includes(lastRef),
        );
        // NEWS2 lists only its own inputs: the last one computed once all five vitals were in
        const news2 = all.filter((r) => r.kind === 'news2' && r.sourceIds.length >= 6);
        return learned && news2.length > 0 ? [learned, news2[news2.length - 1]!] : undefined;
      },
      { what: 'NEWS2 and learned results for the last Observation', timeoutMs: 60000 },
    );
    const news2 = results.find((r) => r.kind === 'news2')!;
    // RR 24 → 2, SpO2 92 → 2, SBP 98 → 2, HR 118 → 2, 38.6 °C → 1, GCS 15 → 0, air → 0
    expect(news2).toMatchObject({
      score: 9,
      band: 'high',
      model: 'news2@rcp-2017',
      syntheticModel: false,
    });
    expect(news2.news2?.subscores).toMatchObject({
      respiratoryRate: 2,
      spo2: 2,
      systolicBp: 2,
      pulse: 2,
      temperature: 1,
      consciousness: 0,
    });
    expect(news2.imputedInputs.join(' ')).toMatch(/room air/);
    expect(news2.sourceIds).toEqual(
      expect.arrayContaining([
        `Observation/${pid}-o0/_history/1`,
        `Observation/${pid}-o4/_history/1`,
      ]),
    );
    const learned = results.find((r) => r.kind === 'icu-admission')!;
    expect(learned.syntheticModel).toBe(true);
    expect(learned.model).toMatch(/^icu-risk-demo@/);
    expect(learned.score).toBeGreaterThan(0);
    expect(learned.score).toBeLessThan(1);
    // creatinine 150 µmol/L → 1.70 mg/dL, CRP 9.5 mg/dL → 95 mg/L, lymphocytes 0.6 10*9/L
    expect(learned.missingInputs).toEqual(expect.arrayContaining(['bilirubin', 'diastolicBp']));
    expect(learned.imputedInputs.join(' ')).toMatch(/BILLIRUBIN|BILIRUBIN/i);
    expect(learned.sourceIds).toContain(`Patient/${pid}/_history/1`);
  });

  it('[REQ-FHIR-IN-02] unsigned or wrongly signed callbacks get 401; unknown subscription 404', async () => {
    const body = observation('Patient/x', news2Vitals()[0]!, '2026-11-20T08:00:00Z', 'x1');
    expect((await send(engine, 'PUT', '/Observation/x1', body, null)).status).toBe(401);
    const wrong = await send(engine, 'PUT', '/Observation/x1', body, 'Bearer nope');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await send(engine, 'POST', '/sub/nosuch', '')).status).toBe(404);
  });

  it('[REQ-FHIR-IN-03] malformed bodies and bundles → 400, unknown types or no patient → 422', async () => {
    const bad = await send(engine, 'POST', '', '{"resourceType": "Bundle", ');
    expect(bad.status).toBe(400);
    const collection = await send(engine, 'POST', '', {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [],
    });
    expect(collection.status).toBe(400);
    expect(((await collection.json()) as { detail: string }).detail).toMatch(
      /history|subscription-notification/,
    );
    const noStatus = await send(engine, 'POST', '', {
      resourceType: 'Bundle',
      type: 'history',
      entry: [{ resource: { resourceType: 'Observation', id: 'a' } }],
    });
    expect(noStatus.status).toBe(400);
    const medication = await send(engine, 'PUT', '/Medication/m1', {
      resourceType: 'Medication',
      id: 'm1',
    });
    expect(medication.status).toBe(422);
    expect(((await medication.json()) as { detail: string }).detail).toMatch(
      /Medication is not taken in/,
    );
    const orphan = {
      ...observation('Patient/x', news2Vitals()[0]!, '2026-11-20T08:00:00Z', 'o9'),
      subject: undefined,
    };
    expect((await send(engine, 'PUT', '/Observation/o9', orphan)).status).toBe(422);
    const mismatch = await send(engine, 'PUT', '/Patient/p1', {
      resourceType: 'Observation',
      id: 'p1',
    });
    expect(mismatch.status).toBe(400);
  });

  it('[REQ-FHIR-IN-04] an Observation with unparseable units is accepted, then dead-lettered with the reason', async () => {
    const pid = `p${randomId()}`;
    const body = observation(
      `Patient/${pid}`,
      { loinc: '8867-4', display: 'HR', value: 80, unit: 'furlongs/fortnight' },
      '2026-11-20T08:00:00Z',
      `${pid}-bad`,
    );
    expect((await send(engine, 'PUT', `/Observation/${pid}-bad`, body)).status).toBe(200);
    const letter = await waitFor(
      async () =>
        (await deadLetters(engine)).find((d) => d.originalKey?.toString() === `Patient/${pid}`),
      { what: 'the dead letter', timeoutMs: 60000 },
    );
    expect(letter.errorCode).toBe('VALIDATION_FAILED');
    expect(letter.errorMessage).toMatch(/unit cannot be converted to \/min/);
    expect(letter.component).toBe('icu-risk');
  });

  it('[REQ-FHIR-IN-05] R5 topic notifications: handshake, full-resource events, a gap is detected', async () => {
    const pid = `p${randomId()}`;
    const sub = `Subscription/${pid}`;
    expect((await send(engine, 'POST', '', r5Notification(sub, 'handshake', 0, []))).status).toBe(
      200,
    );
    const o1 = observation(`Patient/${pid}`, news2Vitals()[0]!, '2026-11-20T08:00:00Z', `${pid}-1`);
    const o3 = observation(`Patient/${pid}`, news2Vitals()[1]!, '2026-11-20T08:00:00Z', `${pid}-3`);
    const first = await send(
      engine,
      'POST',
      '',
      r5Notification(sub, 'event-notification', 1, [{ eventNumber: 1, resource: o1 as never }]),
    );
    expect(await first.json()).toEqual(acceptedOutcome(1));
    // event 2 never arrives
    const third = await send(
      engine,
      'POST',
      '',
      r5Notification(sub, 'event-notification', 3, [{ eventNumber: 3, resource: o3 as never }]),
    );
    expect(third.status).toBe(200);
    const metrics = await (await fetch(`${engine.url}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(`medstream_fhir_notification_gaps_total\\{subscription="${sub}"\\} 1`),
    );
    const received = await waitFor(
      async () => {
        const all = await readRecords(engine, TOPICS.ingestFhir);
        const mine = all.filter((r) => r.patientRef === `Patient/${pid}`);
        return mine.length === 2 ? mine : undefined;
      },
      { what: 'both notified resources on the ingest topic' },
    );
    expect(received.map((r) => r.eventNumber).sort()).toEqual([1, 3]);
    expect(received.every((r) => r.delivery === 'notification-full')).toBe(true);
  });

  it('[REQ-FHIR-IN-06] per-patient state survives a restart (restored from the compacted changelog)', async () => {
    const pid = `p${randomId()}`;
    const ref = `Patient/${pid}`;
    const vitals = news2Vitals({ rr: 18, spo2: 97, sbp: 125, hr: 72, temp: 37.0 });
    const at = '2026-11-21T10:00:00Z';
    for (const [i, v] of vitals.slice(0, 4).entries())
      expect(
        (
          await send(
            engine,
            'PUT',
            `/Observation/${pid}-${i}`,
            observation(ref, v, at, `${pid}-${i}`),
          )
        ).status,
      ).toBe(200);
    await waitFor(
      async () => {
        const states = await readRecords(engine, TOPICS.stateIcuRisk);
        return states.filter((s) => s.patientRef === ref).some((s) => s.samples.length === 4);
      },
      { what: 'four samples in the changelog', timeoutMs: 60000 },
    );
    await engine.stop();
    engine = await startTestEngine(['ingest', 'process'], settings);
    const fifth = observation(ref, vitals[4]!, at, `${pid}-4`);
    expect((await send(engine, 'PUT', `/Observation/${pid}-4`, fifth)).status).toBe(200);
    const news2 = await waitFor(
      async () => (await risks(engine, ref)).find((r) => r.kind === 'news2'),
      { what: 'a NEWS2 result using values from before the restart', timeoutMs: 90000 },
    );
    expect(news2.score).toBe(0);
    expect(news2.sourceIds).toEqual(
      expect.arrayContaining([`Observation/${pid}-0`, `Observation/${pid}-4`]),
    );
  });
});
