import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** Where the generated OpenAPI 3.1 document and its browsable reference are served. */
export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

/**
 * A request schema marked with this key documents a part the route's handler validates itself
 * (several content types, a multipart body, a duration parsed by hand): the engine's validator
 * compiler lets it through unchanged, so documenting a route never changes what it accepts or
 * which problem it answers. Unmarked schemas are enforced as usual.
 */
export const VALIDATED_IN_HANDLER = 'x-validated-in-handler';

/** A request part (params, querystring) its handler validates: documented, not enforced here. */
export function documentedOnly<S extends Record<string, unknown>>(
  schema: S,
): S & { [VALIDATED_IN_HANDLER]: true } {
  return { ...schema, [VALIDATED_IN_HANDLER]: true };
}

/**
 * A request body by content type, validated by the handler (or a content-type parser): each
 * schema is documented, none enforced here. fastify picks a body schema by content type, so the
 * marker goes on each of them.
 */
export function documentedBody(
  content: Record<string, Record<string, unknown>>,
  description?: string,
): Record<string, unknown> {
  return {
    ...(description ? { description } : {}),
    content: Object.fromEntries(
      Object.entries(content).map(([type, schema]) => [type, { schema: documentedOnly(schema) }]),
    ),
  };
}

/**
 * Security schemes a route needs, declared next to its `security` requirement because only the
 * component knows them (e.g. a configurable header name); collected into
 * `components.securitySchemes` of the document. Today only the FHIR subscription callbacks carry
 * one (a shared header secret). Hook for later schemes (OIDC, API keys): declare them the same way,
 * or add them to `components.securitySchemes` in registerOpenApi when the engine owns them.
 */
export const SECURITY_SCHEMES = 'x-security-schemes';

/** The RFC 9457 problem body every failure is answered with (see problem.ts). */
export const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', description: 'Stable URN clients switch on: urn:medstream:problem:…' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string', description: 'The request path' },
    errors: {
      type: 'array',
      description: 'One entry per offending field, named by its dotted path',
      items: {
        type: 'object',
        required: ['field', 'message'],
        properties: { field: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const;

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed request or invalid parameter',
  401: 'Not authenticated',
  404: 'Not found',
  409: 'Conflict: nothing was stored',
  413: 'Request body too large',
  415: 'Unsupported content type',
  422: 'Well-formed but not valid; the problem names each offending field',
  500: 'Internal error',
  503: 'Temporarily unavailable (Kafka or the store); retry after the Retry-After seconds',
};

/** Response schema entries for the failures a route can answer, each as application/problem+json. */
export function problemResponses(...statuses: number[]): Record<string, unknown> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem',
        content: { 'application/problem+json': { schema: problemSchema } },
      },
    ]),
  );
}

/** A response documented with one content type and schema (JSON unless said otherwise). */
export function contentResponse(
  description: string,
  schema: Record<string, unknown>,
  contentType = 'application/json',
): Record<string, unknown> {
  return { description, content: { [contentType]: { schema } } };
}

/**
 * The reference page loads only its own files: no inline script, nothing from elsewhere. The one
 * inline style allowed, by its hash, is the <style> inside swagger-ui's logo SVG (standalone
 * preset of @fastify/swagger-ui 6.1.3); tests/e2e/api-docs fails if an upgrade changes it.
 */
const LOGO_STYLE_HASH = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='";
export const DOCS_CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  `style-src 'self' ${LOGO_STYLE_HASH}`,
  "script-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'self'",
].join('; ');

/**
 * Registers the OpenAPI generator (it records every route added after this) and serves the
 * document at /openapi.json and the reference at /docs. Awaited before any component adds a
 * route: routes added at the top level are seen only by hooks already in place.
 */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'medstream',
        version,
        description:
          'Event-driven integration engine for medical-imaging AI. Every failure is answered as application/problem+json (RFC 9457).',
      },
      tags: [
        { name: 'ingest', description: 'Data in: answered once Kafka acknowledged it' },
        { name: 'results', description: 'Read-only queries over stored results' },
        { name: 'seed-demo', description: 'The 2020 demo’s API, answered by the pipeline' },
        { name: 'web', description: 'The demo web page' },
        { name: 'operations', description: 'Health, readiness, metrics and this document' },
      ],
      components: { securitySchemes: {} },
    },
    transform: (route) => {
      const { schema, url } = route;
      if (!schema) return { schema, url };
      const { openapiObject } = route as unknown as { openapiObject: Record<string, unknown> };
      const { [SECURITY_SCHEMES]: declared, ...rest } = schema as Record<string, unknown>;
      // schemes must be in the document before the operation that requires them is built
      if (declared) {
        const components = (openapiObject.components ??= {}) as Record<string, unknown>;
        components.securitySchemes = {
          ...(components.securitySchemes as object | undefined),
          ...(declared as object),
        };
      }
      const strip = (part: unknown) => {
        if (!part || typeof part !== 'object') return part;
        const { [VALIDATED_IN_HANDLER]: _marker, ...documented } = part as Record<string, unknown>;
        return documented;
      };
      for (const key of ['body', 'querystring', 'params', 'headers'] as const)
        if (rest[key]) rest[key] = strip(rest[key]);
      const body = rest.body as { content?: Record<string, { schema: unknown }> } | undefined;
      if (body?.content)
        rest.body = {
          ...body,
          content: Object.fromEntries(
            Object.entries(body.content).map(([type, media]) => [
              type,
              { ...media, schema: strip(media.schema) },
            ]),
          ),
        };
      return { schema: rest as typeof schema, url };
    },
    transformObject: (documentObject) => {
      const doc = (documentObject as { openapiObject: Record<string, unknown> }).openapiObject;
      return withOptionalParamsSplit(doc);
    },
  });
  await app.register(swaggerUi, {
    routePrefix: DOCS_PATH,
    staticCSP: DOCS_CSP,
    uiConfig: { deepLinking: false, validatorUrl: null },
  });
  app.get(
    OPENAPI_PATH,
    {
      schema: {
        summary: 'This API as an OpenAPI 3.1 document',
        operationId: 'getOpenApiDocument',
        tags: ['operations'],
        response: {
          200: contentResponse('The OpenAPI document', { type: 'object' }),
          ...problemResponses(500),
        },
      },
    },
    async () => app.swagger(),
  );
}

/**
 * fastify's optional last parameter (`/a/:b?`) is one route but two OpenAPI paths (path
 * parameters are always required there): `/a` without it and `/a/{b}` with it, the latter's
 * operationId suffixed `With<B>`.
 */
function withOptionalParamsSplit(doc: Record<string, unknown>): Record<string, unknown> {
  type Operation = Record<string, unknown> & {
    operationId?: string;
    parameters?: Array<{ in: string; name: string; required?: boolean }>;
  };
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Operation>>;
  const out: Record<string, Record<string, Operation>> = {};
  for (const [path, operations] of Object.entries(paths)) {
    const optional = /\/\{([A-Za-z0-9_]+)\}\?$/.exec(path);
    if (!optional) {
      out[path] = operations;
      continue;
    }
    const name = optional[1]!;
    const without: Record<string, Operation> = {};
    const withParam: Record<string, Operation> = {};
    for (const [method, op] of Object.entries(operations)) {
      const others = (op.parameters ?? []).filter((p) => !(p.in === 'path' && p.name === name));
      without[method] = { ...op, parameters: others };
      if (others.length === 0) delete without[method]!.parameters;
      withParam[method] = {
        ...op,
        ...(op.operationId
          ? { operationId: `${op.operationId}With${name[0]!.toUpperCase()}${name.slice(1)}` }
          : {}),
        parameters: (op.parameters ?? []).map((p) =>
          p.in === 'path' && p.name === name ? { ...p, required: true } : p,
        ),
      };
    }
    out[path.slice(0, optional.index)] = without;
    out[path.slice(0, -1)] = withParam;
  }
  return { ...doc, paths: out };
}
