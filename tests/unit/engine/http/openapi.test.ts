import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { DOCS_PATH, OPENAPI_PATH } from '../../../../engine/http/openapi';
import { projectRoot } from '../../../../engine/paths';
import { buildRoutesOnlyApp } from '../../../helpers/routes-only-app';

// fastify's inject() needs `cookie`@2, an ES module jest cannot load (see server.test.ts).
jest.mock('cookie', () => ({
  stringifySetCookie: () => {
    throw new Error('request cookies are not supported in these tests');
  },
}));

/**
 * Routes that are in the server but not in the document, and why: the reference page's own HTML,
 * initializer script, static assets and document copies, all marked hidden by
 * @fastify/swagger-ui. Nothing else may be missing.
 */
const HIDDEN = (url: string) => url === DOCS_PATH || url.startsWith(`${DOCS_PATH}/`);

/** The official OpenAPI 3.1 schema (as shipped, ajv-ready, by @seriousme/openapi-schema-validator). */
function openApi31Validator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('media-range', true);
  const schema = JSON.parse(
    readFileSync(
      join(
        projectRoot(),
        'node_modules/@seriousme/openapi-schema-validator/schemas/v3.1/schema.json',
      ),
      'utf8',
    ),
  );
  return ajv.compile(schema);
}

/**
 * Failure statuses answered in another format on purpose: /readyz's 503 lists the failing
 * checks; STOW-RS's 409 (nothing stored) is the DICOM JSON response PS3.18 prescribes.
 */
const NOT_PROBLEMS = new Set([
  'GET /readyz 503',
  'POST /dicomweb/studies 409',
  'POST /dicomweb/studies/{study} 409',
]);

type Operation = {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { content?: Record<string, unknown> }>;
  requestBody?: { content: Record<string, unknown> };
  parameters?: Array<{ in: string; name: string }>;
};
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; in: string; name: string }> };
};

/** fastify's `/a/:b` (and the optional `/a/:b?`) as OpenAPI paths. */
function openApiPaths(url: string): string[] {
  const braces = (u: string) => u.replace(/:([A-Za-z0-9_]+)\??/g, '{$1}');
  const optional = /\/:[A-Za-z0-9_]+\?$/.exec(url);
  return optional ? [braces(url), url.slice(0, optional.index)] : [braces(url)];
}

describe('[REQ-HTTP-02] the OpenAPI document of every route', () => {
  const routes: RouteOptions[] = [];
  let app: FastifyInstance;
  let doc: Document;

  beforeAll(async () => {
    app = await buildRoutesOnlyApp(routes);
    const res = await app.inject({ method: 'GET', url: OPENAPI_PATH });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    doc = res.json();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('is a valid OpenAPI 3.1 document', () => {
    expect(doc.openapi).toBe('3.1.0');
    // the engine's markers are consumed, not published
    expect(JSON.stringify(doc)).not.toMatch(/x-validated-in-handler|x-security-schemes/);
    const validate = openApi31Validator();
    const valid = validate(doc);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('every schema in it compiles as JSON Schema 2020-12', () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    const schemas: unknown[] = [];
    for (const operations of Object.values(doc.paths))
      for (const op of Object.values(operations)) {
        for (const r of Object.values(op.responses))
          for (const m of Object.values(r.content ?? {}))
            schemas.push((m as { schema: unknown }).schema);
        for (const m of Object.values(op.requestBody?.content ?? {}))
          schemas.push((m as { schema: unknown }).schema);
      }
    expect(schemas.length).toBeGreaterThan(20);
    for (const schema of schemas) expect(() => ajv.compile(schema as object)).not.toThrow();
  });

  it('lists every registered route with its method (HEAD and the reference page aside)', () => {
    const missing: string[] = [];
    const hidden: string[] = [];
    for (const route of routes) {
      const methods = ([] as string[]).concat(route.method);
      for (const method of methods) {
        if (method === 'HEAD') continue;
        if (HIDDEN(route.url)) {
          hidden.push(`${method} ${route.url}`);
          continue;
        }
        for (const path of openApiPaths(route.url))
          if (!doc.paths[path]?.[method.toLowerCase()]) missing.push(`${method} ${path}`);
      }
    }
    expect(missing).toEqual([]);
    // the routes this test knows are hidden really exist (the exception is not vacuous)
    expect(hidden).toEqual(expect.arrayContaining([`GET ${DOCS_PATH}/json`]));
    // every component's routes are there
    for (const [method, path] of [
      ['post', '/api/v1/vitals'],
      ['post', '/api/v1/images'],
      ['post', '/dicomweb/studies'],
      ['post', '/dicomweb/studies/{study}'],
      ['put', '/fhir/subscription/{type}/{id}'],
      ['post', '/covid19/api/v1/predict'],
      ['get', '/api/v1/results/{id}'],
      ['get', '/'],
      ['get', '/healthz'],
      ['get', '/readyz'],
      ['get', '/metrics'],
      ['get', OPENAPI_PATH],
    ] as const)
      expect(doc.paths[path]?.[method]).toBeDefined();
  });

  it('documents every operation: operationId (unique), summary, tags, responses with problems', () => {
    const ids = new Set<string>();
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect([where, typeof op.operationId]).toEqual([where, 'string']);
        expect([where, ids.has(op.operationId!)]).toEqual([where, false]);
        ids.add(op.operationId!);
        expect([where, (op.summary ?? '').length > 0]).toEqual([where, true]);
        expect([where, (op.tags ?? []).length > 0]).toEqual([where, true]);
        const statuses = Object.keys(op.responses);
        expect([where, statuses.some((s) => /^[23]/.test(s))]).toEqual([where, true]);
        // every failure the server can answer is problem+json, and 500 is always possible
        expect([where, statuses.includes('500')]).toEqual([where, true]);
        for (const status of statuses.filter(
          (s) => /^[45]/.test(s) && !NOT_PROBLEMS.has(`${where} ${s}`),
        ))
          expect([where, status, Object.keys(op.responses[status]!.content ?? {})]).toEqual([
            where,
            status,
            ['application/problem+json'],
          ]);
        // path parameters are declared
        for (const [, name] of path.matchAll(/\{([^}]+)\}/g))
          expect([where, op.parameters?.some((p) => p.in === 'path' && p.name === name)]).toEqual([
            where,
            true,
          ]);
      }
    }
  });

  it('names the content types each route takes and answers', () => {
    const stow = doc.paths['/dicomweb/studies']!.post!;
    expect(Object.keys(stow.requestBody!.content)).toEqual(['multipart/related']);
    expect(Object.keys(stow.responses['200']!.content!)).toEqual(['application/dicom+json']);
    const image = doc.paths['/api/v1/results/{id}/heatmap.png']!.get!;
    expect(Object.keys(image.responses['200']!.content!)).toEqual(['image/png']);
    const fhir = doc.paths['/fhir/subscription']!.post!;
    expect(Object.keys(fhir.requestBody!.content)).toContain('application/fhir+json');
    expect(Object.keys(fhir.responses['200']!.content!)).toEqual(['application/fhir+json']);
    const images = doc.paths['/api/v1/images']!.post!;
    expect(Object.keys(images.requestBody!.content).sort()).toEqual([
      'application/json',
      'image/jpeg',
      'image/png',
      'multipart/form-data',
    ]);
  });

  it('declares the FHIR callbacks’ header secret, and no other auth scheme', () => {
    expect(doc.components.securitySchemes).toEqual({
      fhirCallbackSecret: expect.objectContaining({
        type: 'apiKey',
        in: 'header',
        name: 'authorization',
      }),
    });
    for (const [path, operations] of Object.entries(doc.paths))
      for (const op of Object.values(operations))
        expect([path, op.security]).toEqual([
          path,
          path.startsWith('/fhir/subscription') ? [{ fhirCallbackSecret: [] }] : undefined,
        ]);
  });
});
