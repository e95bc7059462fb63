import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Histogram, Registry } from 'prom-client';
import { FhirGateway, fhirError } from '../../../../connectors/sinks/fhir/client';
import { fhirSink } from '../../../../connectors/sinks/fhir';
import { maskSecrets } from '../../../../engine/config/load-config';
import { EngineError } from '../../../../engine/errors';

/** What fhir-kit-client throws for a non-2xx answer. */
const httpError = (status: number, data: unknown) => ({
  response: { status, data },
  config: { method: 'POST', url: 'http://fhir/' },
});

const outcome = (diagnostics: string) => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'processing', diagnostics }],
});

describe('[REQ-FHIR-05] FHIR failures: retriable (FHIR_UNAVAILABLE) or dead letter (FHIR_REJECTED)', () => {
  it.each([500, 502, 503, 504, 429, 408])('HTTP %i → FHIR_UNAVAILABLE, retriable', (status) => {
    const e = fhirError(httpError(status, outcome('busy')), 'transaction of result r');
    expect(e).toBeInstanceOf(EngineError);
    expect(e).toMatchObject({ code: 'FHIR_UNAVAILABLE', retriable: true });
    expect(e.message).toBe(`transaction of result r: HTTP ${status}: error processing: busy`);
  });

  it.each([400, 401, 403, 404, 409, 412, 422])(
    'HTTP %i → FHIR_REJECTED with the OperationOutcome text, not retriable',
    (status) => {
      const e = fhirError(
        httpError(
          status,
          outcome('Resource Patient/nope not found, specified in path: Observation.subject'),
        ),
        'transaction of result r',
      );
      expect(e).toMatchObject({ code: 'FHIR_REJECTED', retriable: false, details: { status } });
      expect(e.message).toContain('Resource Patient/nope not found');
    },
  );

  it('a 4xx without an OperationOutcome still says what the server answered', () => {
    const e = fhirError(httpError(404, '<html><body>Not  Found</body></html>'), 'GET metadata');
    expect(e).toMatchObject({ code: 'FHIR_REJECTED' });
    expect(e.message).toBe('GET metadata: HTTP 404: <html><body>Not Found</body></html>');
    expect(fhirError(httpError(400, {}), 'x').message).toBe('x: HTTP 400: no OperationOutcome');
  });

  it('connection refused, reset, DNS failure, timeout → FHIR_UNAVAILABLE, retriable', () => {
    const refused = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    });
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const dns = Object.assign(new Error('getaddrinfo'), { code: 'ENOTFOUND' });
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    for (const err of [refused, reset, dns, timeout]) {
      expect(fhirError(err, 'x')).toMatchObject({ code: 'FHIR_UNAVAILABLE', retriable: true });
    }
    expect(fhirError(refused, 'x').message).toBe('x: fetch failed (ECONNREFUSED)');
  });

  it('a programming error is not retried forever', () => {
    expect(fhirError(new RangeError('bad'), 'x')).toMatchObject({
      code: 'PROCESSING_FAILED',
      retriable: false,
    });
  });

  it('an EngineError passes through unchanged', () => {
    const e = new EngineError('BLOB_NOT_FOUND', 'gone');
    expect(fhirError(e, 'x')).toBe(e);
  });
});

describe('[REQ-FHIR-06] FhirGateway over HTTP (a stub server standing in for the network, not for HAPI)', () => {
  let server: Server;
  let baseUrl: string;
  const seen: Array<{ method: string; url: string; headers: Record<string, unknown> }> = [];
  let answer: { status: number; body: unknown; delayMs?: number } = { status: 200, body: {} };
  const timers = new Set<NodeJS.Timeout>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers });
      req.resume();
      req.on('end', () => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          res.writeHead(answer.status, { 'content-type': 'application/fhir+json' });
          res.end(JSON.stringify(answer.body));
        }, answer.delayMs ?? 0);
        timers.add(timer);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  });
  afterAll(async () => {
    for (const timer of timers) clearTimeout(timer);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const gateway = (timeoutMs = 2000) => {
    const registry = new Registry();
    const latency = new Histogram({
      name: 'h',
      help: 'h',
      labelNames: ['operation', 'status'],
      registers: [registry],
    });
    return {
      registry,
      fhir: new FhirGateway({
        baseUrl,
        headers: { Authorization: 'Bearer t0k' },
        timeoutMs,
        latency,
      }),
    };
  };

  it('sends the configured headers; searches Patient by escaped identifier; times requests', async () => {
    answer = { status: 200, body: { resourceType: 'Bundle', type: 'searchset', entry: [] } };
    const { fhir, registry } = gateway();
    await fhir.searchPatient({ system: 'urn:x', value: 'a,b' });
    const last = seen[seen.length - 1]!;
    expect(last.url).toBe('/fhir/Patient?identifier=urn%3Ax|a%5C%2Cb');
    expect(last.headers.authorization).toBe('Bearer t0k');
    const metrics = await registry.getMetricsAsJSON();
    expect(JSON.stringify(metrics)).toContain('"operation":"search"');
  });

  it('a slow server → timeout → FHIR_UNAVAILABLE', async () => {
    answer = { status: 200, body: {}, delayMs: 1500 };
    await expect(gateway(200).fhir.metadata()).rejects.toMatchObject({
      code: 'FHIR_UNAVAILABLE',
      retriable: true,
    });
  });

  it('$validate: 412 with error issues is a verdict (text), 200 with warnings only is valid', async () => {
    const { fhir } = gateway();
    answer = { status: 412, body: outcome('Observation.status: minimum required = 1') };
    await expect(fhir.validate({ resourceType: 'Observation' })).resolves.toContain(
      'minimum required = 1',
    );
    expect(seen[seen.length - 1]).toMatchObject({
      method: 'POST',
      url: '/fhir/Observation/$validate',
    });
    answer = {
      status: 200,
      body: { resourceType: 'OperationOutcome', issue: [{ severity: 'warning', code: 'x' }] },
    };
    await expect(fhir.validate({ resourceType: 'Observation' })).resolves.toBe('');
    answer = { status: 503, body: {} };
    await expect(fhir.validate({ resourceType: 'Observation' })).rejects.toMatchObject({
      code: 'FHIR_UNAVAILABLE',
    });
  });
});

describe('[REQ-FHIR-07] fhir sink config', () => {
  it('headers are masked as a secret when the config is printed', () => {
    const masked = maskSecrets(
      { enabled: true, baseUrl: 'http://h/fhir', headers: { Authorization: 'Bearer s3cret' } },
      fhirSink.configSchema,
    ) as Record<string, unknown>;
    expect(masked.headers).toBe('***');
    expect(masked.baseUrl).toBe('http://h/fhir');
  });

  it('defaults', () => {
    const p = fhirSink.configSchema.properties!;
    expect(p.enabled!.default).toBe(false);
    expect(p.identifierSystem!.default).toBe('urn:medstream:result-id');
    expect(p.patient!.properties!.identifierSystem!.default).toBe('urn:medstream:patient-id');
    expect(p.patient!.properties!.mode!.default).toBe('search');
    expect(p.attachHeatmap!.default).toBe(true);
    expect(p.validate!.default).toBe(false);
  });
});
