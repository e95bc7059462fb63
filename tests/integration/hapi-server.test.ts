import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RunningHapi, startHapi } from '../helpers/hapi';
import { waitFor } from '../helpers/wait-for';

interface Callback {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

interface FhirResource {
  resourceType: string;
  id?: string;
  [key: string]: unknown;
}

// The project's own HAPI FHIR R4 JPA server (deploy/local/fhir), started from Maven Central
// jars without Docker: what medstream's FHIR sink and subscription tests can talk to.
describe('local HAPI FHIR R4 JPA server (deploy/local/fhir)', () => {
  let hapi: RunningHapi;
  let callbackServer: Server;
  let callbackBase: string;
  const callbacks: Callback[] = [];

  const fhir = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: FhirResource }> => {
    const res = await fetch(`${hapi.baseUrl}${path}`, {
      method,
      headers: {
        accept: 'application/fhir+json',
        ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : {}) as FhirResource };
  };

  const category = (code: string) => [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code }],
    },
  ];

  beforeAll(async () => {
    callbackServer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        callbacks.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        });
        res.writeHead(200, { 'content-type': 'application/fhir+json' });
        res.end();
      });
    });
    await new Promise<void>((done) => callbackServer.listen(0, '127.0.0.1', done));
    callbackBase = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}`;
    hapi = await startHapi();
  }, 600000);

  afterAll(async () => {
    await hapi?.stop();
    await new Promise((done) => callbackServer?.close(done));
  }, 60000);

  it('answers /metadata with an R4 CapabilityStatement', async () => {
    const { status, json } = await fhir('GET', '/metadata');
    expect(status).toBe(200);
    expect(json.resourceType).toBe('CapabilityStatement');
    expect(json.fhirVersion).toBe('4.0.1');
  });

  it('creates conditionally (If-None-Exist): the second create finds the first', async () => {
    const system = 'urn:medstream:test:mrn';
    const value = `mrn-${Date.now()}`;
    const patient = { resourceType: 'Patient', identifier: [{ system, value }] };
    const ifNoneExist = { 'if-none-exist': `identifier=${system}|${value}` };
    const first = await fhir('POST', '/Patient', patient, ifNoneExist);
    const second = await fhir('POST', '/Patient', patient, ifNoneExist);
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.json.id).toBe(first.json.id);
    const found = await fhir('GET', `/Patient?identifier=${system}|${value}`);
    expect(found.json.total).toBe(1);

    const obsId = { system: 'urn:medstream:test:obs', value: `obs-${Date.now()}` };
    const observation = {
      resourceType: 'Observation',
      identifier: [obsId],
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${first.json.id}` },
      valueQuantity: { value: 72, unit: '/min' },
    };
    const obsCondition = { 'if-none-exist': `identifier=${obsId.system}|${obsId.value}` };
    const o1 = await fhir('POST', '/Observation', observation, obsCondition);
    const o2 = await fhir('POST', '/Observation', observation, obsCondition);
    expect([o1.status, o2.status]).toEqual([201, 200]);
    expect(o2.json.id).toBe(o1.json.id);
    const obs = await fhir('GET', `/Observation?subject=Patient/${first.json.id}`);
    expect(obs.json.total).toBe(1);
  });

  it('stores and reads the resource types medstream writes', async () => {
    const resources: FhirResource[] = [
      {
        resourceType: 'Device',
        status: 'active',
        deviceName: [{ name: 'cxr-model', type: 'model-name' }],
      },
      {
        resourceType: 'Binary',
        contentType: 'text/plain',
        data: Buffer.from('hello').toString('base64'),
      },
      { resourceType: 'ImagingStudy', status: 'available', subject: { display: 'anonymous' } },
      {
        resourceType: 'DiagnosticReport',
        status: 'final',
        code: { text: 'CXR AI findings' },
        conclusion: 'no finding',
      },
    ];
    for (const resource of resources) {
      const created = await fhir('POST', `/${resource.resourceType}`, resource);
      expect(created.status).toBe(201);
      const read = await fhir('GET', `/${resource.resourceType}/${created.json.id}`);
      expect(read.status).toBe(200);
      expect(read.json.resourceType).toBe(resource.resourceType);
      const search = await fhir('GET', `/${resource.resourceType}?_id=${created.json.id}`);
      expect(search.json.total).toBe(1);
    }
  });

  it('delivers rest-hook subscriptions: full resource by PUT, id-only by an empty POST', async () => {
    const subscription = (criteria: string, endpoint: string, payload?: string) => ({
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'medstream test',
      criteria,
      channel: {
        type: 'rest-hook',
        endpoint,
        ...(payload ? { payload } : {}),
        header: ['Authorization: Bearer s3cret'],
      },
    });
    const full = await fhir(
      'POST',
      '/Subscription',
      subscription(
        'Observation?category=vital-signs',
        `${callbackBase}/fhir-callback`,
        'application/fhir+json',
      ),
    );
    const idOnly = await fhir(
      'POST',
      '/Subscription',
      subscription('Observation?category=laboratory', `${callbackBase}/fhir-callback-id-only`),
    );
    expect([full.status, idOnly.status]).toEqual([201, 201]);
    for (const id of [full.json.id, idOnly.json.id]) {
      await waitFor(
        async () => (await fhir('GET', `/Subscription/${id}`)).json.status === 'active',
        { timeoutMs: 60000, intervalMs: 200, what: `Subscription/${id} to become active` },
      );
    }

    const vital = await fhir('POST', '/Observation', {
      resourceType: 'Observation',
      status: 'final',
      category: category('vital-signs'),
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      valueQuantity: { value: 80, unit: '/min' },
    });
    const lab = await fhir('POST', '/Observation', {
      resourceType: 'Observation',
      status: 'final',
      category: category('laboratory'),
      code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
    });
    expect([vital.status, lab.status]).toEqual([201, 201]);

    const put = await waitFor(
      () => callbacks.find((c) => c.url === `/fhir-callback/Observation/${vital.json.id}`),
      { timeoutMs: 60000, what: 'the full-resource rest-hook PUT' },
    );
    expect(put.method).toBe('PUT');
    expect(put.headers.authorization).toBe('Bearer s3cret');
    expect(put.headers['content-type']).toMatch(/^application\/fhir\+json/);
    const delivered = JSON.parse(put.body) as FhirResource;
    expect(delivered).toMatchObject({ resourceType: 'Observation', id: vital.json.id });

    const post = await waitFor(() => callbacks.find((c) => c.url === '/fhir-callback-id-only'), {
      timeoutMs: 60000,
      what: 'the id-only rest-hook POST',
    });
    expect(post.method).toBe('POST');
    expect(post.headers.authorization).toBe('Bearer s3cret');
    expect(post.body).toBe('');
    // Only the matching Observation went to each endpoint.
    expect(callbacks.filter((c) => c.url.startsWith('/fhir-callback/'))).toHaveLength(1);
    expect(callbacks.filter((c) => c.url === '/fhir-callback-id-only')).toHaveLength(1);
  });

  it('$validate returns an OperationOutcome with an error for an Observation without status', async () => {
    const invalid = await fhir('POST', '/Observation/$validate', {
      resourceType: 'Observation',
      code: { text: 'heart rate' },
    });
    expect(invalid.json.resourceType).toBe('OperationOutcome');
    const issues = (invalid.json.issue ?? []) as { severity: string; diagnostics?: string }[];
    expect(
      issues.some((i) => i.severity === 'error' && /Observation\.status/.test(i.diagnostics ?? '')),
    ).toBe(true);

    const valid = await fhir('POST', '/DiagnosticReport/$validate', {
      resourceType: 'DiagnosticReport',
      status: 'final',
      code: { text: 'CXR AI findings' },
    });
    expect(valid.status).toBe(200);
    expect(valid.json.resourceType).toBe('OperationOutcome');
    const errors = ((valid.json.issue ?? []) as { severity: string }[]).filter(
      (i) => i.severity === 'error' || i.severity === 'fatal',
    );
    expect(errors).toEqual([]);
  });
});
