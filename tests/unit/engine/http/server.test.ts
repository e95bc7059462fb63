import type { FastifyInstance } from 'fastify';
import { EngineError } from '../../../../engine/errors';
import { type ReadinessCheck, createHttpServer } from '../../../../engine/http/server';
import { HttpProblem } from '../../../../engine/http/problem';
import { createLogger } from '../../../../engine/logger';
import { Metrics } from '../../../../engine/metrics';

// fastify's inject() (light-my-request 6.8) requires `cookie`@2, an ES-module-only package that
// jest's CommonJS runtime cannot load. It is only used to encode request cookies, which these
// tests never send; stand it in so inject() works under jest.
jest.mock('cookie', () => ({
  stringifySetCookie: () => {
    throw new Error('request cookies are not supported in these tests');
  },
}));

const PROBLEM_JSON = 'application/problem+json; charset=utf-8';
const BODY_LIMIT = 1024;

const bodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'age'],
  properties: {
    name: { type: 'string', minLength: 1 },
    age: { type: 'integer', minimum: 0, maximum: 150 },
    tags: { type: 'array', items: { type: 'string' } },
    nested: {
      type: 'object',
      additionalProperties: false,
      properties: { level: { type: 'string', enum: ['low', 'high'] } },
    },
  },
};

describe('[REQ-HTTP-01] engine HTTP server', () => {
  let app: FastifyInstance;
  let metrics: Metrics;
  const readiness = new Map<string, ReadinessCheck>();

  beforeAll(async () => {
    metrics = new Metrics();
    app = await createHttpServer({
      bodyLimit: BODY_LIMIT,
      logger: createLogger('silent'),
      metrics,
      readiness,
      health: () => ({ version: '0.0.0-test', roles: ['all'] }),
    });
    app.post('/echo', { schema: { body: bodySchema } }, async (request) => ({
      received: request.body,
    }));
    app.get<{ Querystring: { n?: number } }>(
      '/query',
      {
        schema: {
          querystring: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } } },
        },
      },
      async (request) => ({ n: request.query.n }),
    );
    app.get<{ Querystring: { kind: string } }>('/fail', async (request) => {
      switch (request.query.kind) {
        case 'retriable':
          throw new EngineError('KAFKA_UNAVAILABLE', 'broker down', { retriable: true });
        case 'not-found':
          throw new EngineError('NOT_FOUND', 'no result r-1');
        case 'validation':
          throw new EngineError('VALIDATION_FAILED', 'spo2Scale must be 1 or 2');
        case 'engine':
          throw new EngineError('STORE_FAILED', 'secret internals');
        case 'multipart':
          throw new EngineError('MULTIPART_INVALID', 'the body holds no parts');
        case 'busy':
          throw new EngineError('FHIR_UNAVAILABLE', 'busy', {
            retriable: true,
            retryAfterMs: 9500,
          });
        case 'problem':
          throw new HttpProblem(409, 'conflict', 'Conflict', 'already there', undefined, {
            'x-extra': 'yes',
          });
        default:
          throw new Error('boom with internals');
      }
    });
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
  });

  beforeEach(() => readiness.clear());

  const postEcho = (payload: string | Buffer, contentType = 'application/json') =>
    app.inject({
      method: 'POST',
      url: '/echo?x=1',
      headers: { 'content-type': contentType },
      payload,
    });

  it('accepts a valid body', async () => {
    const res = await postEcho(JSON.stringify({ name: 'Ada', age: 36, tags: ['a'] }));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ received: { name: 'Ada', age: 36, tags: ['a'] } });
  });

  it('malformed JSON → 400 problem+json malformed-body', async () => {
    const res = await postEcho('{"name": "Ada",');
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toBe(PROBLEM_JSON);
    expect(res.json()).toMatchObject({
      type: 'urn:medstream:problem:malformed-body',
      title: 'Malformed JSON body',
      status: 400,
      instance: '/echo',
    });
  });

  it('an empty JSON body → 400 malformed-body', async () => {
    const res = await postEcho('');
    expect(res.statusCode).toBe(400);
    expect(res.json().type).toBe('urn:medstream:problem:malformed-body');
  });

  it('a body over bodyLimit → 413 body-too-large', async () => {
    const res = await postEcho(JSON.stringify({ name: 'x'.repeat(BODY_LIMIT), age: 1 }));
    expect(res.statusCode).toBe(413);
    expect(res.headers['content-type']).toBe(PROBLEM_JSON);
    expect(res.json()).toEqual({
      type: 'urn:medstream:problem:body-too-large',
      title: 'Request body too large',
      status: 413,
      detail: `limit is ${BODY_LIMIT} bytes`,
      instance: '/echo',
    });
  });

  it('text/plain → 415 unsupported-media-type', async () => {
    const res = await postEcho('name=Ada', 'text/plain');
    expect(res.statusCode).toBe(415);
    expect(res.headers['content-type']).toBe(PROBLEM_JSON);
    expect(res.json()).toMatchObject({
      type: 'urn:medstream:problem:unsupported-media-type',
      status: 415,
    });
  });

  it('unknown + missing + out-of-range fields → 422 naming each field', async () => {
    const res = await postEcho(
      JSON.stringify({ name: 'Ada', age: 200, colour: 'red', nested: { level: 'mid' } }).replace(
        '"name":"Ada",',
        '',
      ),
    );
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toBe(PROBLEM_JSON);
    const body = res.json();
    expect(body).toMatchObject({
      type: 'urn:medstream:problem:validation-failed',
      title: 'The request body is not valid',
      status: 422,
      instance: '/echo',
    });
    expect(body.errors).toEqual(
      expect.arrayContaining([
        { field: 'name', message: 'is required' },
        { field: 'colour', message: 'is not a known field' },
        { field: 'age', message: 'must be <= 150' },
        { field: 'nested.level', message: 'must be one of low, high' },
      ]),
    );
    expect(body.errors).toHaveLength(4);
    expect(body.detail).toContain('name is required');
    expect(body.detail).toContain('colour is not a known field');
  });

  it('does not coerce body types (a string where an integer belongs is 422)', async () => {
    const res = await postEcho(JSON.stringify({ name: 'Ada', age: '36' }));
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual([{ field: 'age', message: 'must be integer' }]);
  });

  it('a body that is not an object → 422 on (body)', async () => {
    const res = await postEcho('[1,2]');
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual([{ field: '(body)', message: 'must be object' }]);
  });

  it('query strings coerce, and bad ones are 400 validation-failed', async () => {
    const ok = await app.inject({ method: 'GET', url: '/query?n=3' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ n: 3 });
    const bad = await app.inject({ method: 'GET', url: '/query?n=0' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({
      type: 'urn:medstream:problem:validation-failed',
      title: 'The request parameters are not valid',
      errors: [{ field: 'n', message: 'must be >= 1' }],
    });
  });

  it('a retriable EngineError → 503 with retry-after', async () => {
    const res = await app.inject({ method: 'GET', url: '/fail?kind=retriable' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.headers['content-type']).toBe(PROBLEM_JSON);
    expect(res.json()).toEqual({
      type: 'urn:medstream:problem:unavailable',
      title: 'Temporarily unavailable; retry later',
      status: 503,
      detail: 'KAFKA_UNAVAILABLE: broker down',
      instance: '/fail',
    });
  });

  it('EngineError NOT_FOUND → 404, VALIDATION_FAILED → 422', async () => {
    const nf = await app.inject({ method: 'GET', url: '/fail?kind=not-found' });
    expect(nf.statusCode).toBe(404);
    expect(nf.json()).toMatchObject({
      type: 'urn:medstream:problem:not-found',
      detail: 'no result r-1',
    });
    const vf = await app.inject({ method: 'GET', url: '/fail?kind=validation' });
    expect(vf.statusCode).toBe(422);
    expect(vf.json()).toMatchObject({
      type: 'urn:medstream:problem:validation-failed',
      detail: 'spo2Scale must be 1 or 2',
    });
    expect(vf.headers['retry-after']).toBeUndefined();
  });

  it('[REQ-HTTP-02] an EngineError is answered from the HTTP problem table; retryAfterMs sets Retry-After', async () => {
    const mp = await app.inject({ method: 'GET', url: '/fail?kind=multipart' });
    expect(mp.statusCode).toBe(400);
    expect(mp.headers['content-type']).toBe(PROBLEM_JSON);
    expect(mp.json()).toEqual({
      type: 'urn:medstream:problem:malformed-multipart',
      title: 'Malformed multipart/related body',
      status: 400,
      detail: 'the body holds no parts',
      instance: '/fail',
    });
    const busy = await app.inject({ method: 'GET', url: '/fail?kind=busy' });
    expect(busy.statusCode).toBe(503);
    expect(busy.headers['retry-after']).toBe('10');
  });

  it('a thrown HttpProblem is answered as it is, with its headers', async () => {
    const res = await app.inject({ method: 'GET', url: '/fail?kind=problem' });
    expect(res.statusCode).toBe(409);
    expect(res.headers['x-extra']).toBe('yes');
    expect(res.json()).toEqual({
      type: 'urn:medstream:problem:conflict',
      title: 'Conflict',
      status: 409,
      detail: 'already there',
      instance: '/fail',
    });
  });

  it.each(['engine', 'plain'])('an unexpected %s error → 500 without internals', async (kind) => {
    const res = await app.inject({ method: 'GET', url: `/fail?kind=${kind}` });
    expect(res.statusCode).toBe(500);
    expect(res.headers['content-type']).toBe(PROBLEM_JSON);
    expect(res.json()).toEqual({
      type: 'urn:medstream:problem:internal',
      title: 'Internal error',
      status: 500,
      detail: 'see the server log',
      instance: '/fail',
    });
    expect(res.body).not.toContain('internals');
  });

  it('an unknown route → 404 problem', async () => {
    const res = await app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toBe(PROBLEM_JSON);
    expect(res.json()).toEqual({
      type: 'urn:medstream:problem:not-found',
      title: 'Not found',
      status: 404,
      detail: 'GET /nope is not a route',
      instance: '/nope',
    });
  });

  it('/healthz → 200 with the health facts', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', version: '0.0.0-test', roles: ['all'] });
  });

  it('/readyz → 200 with no checks', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: {} });
  });

  it('/readyz → 200 when every check passes', async () => {
    readiness.set('kafka', async () => ({ brokers: 1 }));
    readiness.set('store', async () => undefined);
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'ready',
      checks: { kafka: { status: 'ok', brokers: 1 }, store: { status: 'ok' } },
    });
  });

  it('/readyz → 503 when a check throws, naming it', async () => {
    readiness.set('kafka', async () => ({ brokers: 1 }));
    readiness.set('store', async () => {
      throw new Error('connection refused');
    });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      status: 'not-ready',
      checks: {
        kafka: { status: 'ok', brokers: 1 },
        store: { status: 'failing', error: 'connection refused' },
      },
    });
  });

  it('/metrics → Prometheus text with medstream_http_requests_total by route, method and status', async () => {
    const fresh = new Metrics();
    const server = await createHttpServer({
      bodyLimit: BODY_LIMIT,
      logger: createLogger('silent'),
      metrics: fresh,
      readiness: new Map(),
      health: () => ({}),
    });
    try {
      await server.inject({ method: 'GET', url: '/healthz' });
      await server.inject({ method: 'GET', url: '/healthz' });
      await server.inject({ method: 'GET', url: '/missing' });
      const res = await server.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(res.body).toContain('# TYPE medstream_http_requests_total counter');
      expect(res.body).toContain(
        'medstream_http_requests_total{route="/healthz",method="GET",status="200"} 2',
      );
      expect(res.body).toContain(
        'medstream_http_requests_total{route="unmatched",method="GET",status="404"} 1',
      );
      expect(res.body).toContain('medstream_process_cpu_user_seconds_total');
    } finally {
      await server.close();
    }
  });
});
