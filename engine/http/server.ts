import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type RouteOptions,
} from 'fastify';
import { describeSchemaError } from '../config/json-schema';
import { httpProblemFor } from '../error-tables/http-problem';
import { EngineError, isEngineError } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import {
  VALIDATED_IN_HANDLER,
  contentResponse,
  problemResponses,
  registerOpenApi,
} from './openapi';
import { type FieldProblem, HttpProblem, sendProblem, validationProblem } from './problem';

export type ReadinessCheck = () => Promise<Record<string, unknown> | void>;

export interface HttpServerOptions {
  bodyLimit: number;
  logger: Logger;
  metrics: Metrics;
  readiness: Map<string, ReadinessCheck>;
  /** Extra facts for /healthz (version, roles, runtime). */
  health: () => Record<string, unknown>;
  /** Version named in the OpenAPI document. */
  version?: string;
  /** Observes every route as it is added, before any other hook (the OpenAPI test lists them). */
  onRoute?: (route: RouteOptions) => void;
}

/** ajv errors → one problem per field, as dotted paths into the body; values are not echoed. */
export function fieldProblems(errors: readonly ErrorObject[]): FieldProblem[] {
  return errors.map((e) =>
    describeSchemaError(e, { unknownProperty: 'is not a known field', rootField: '(body)' }),
  );
}

/**
 * The HTTP server of every role: components add routes; the engine owns /healthz, /readyz,
 * /metrics, /openapi.json + /docs (generated from the route schemas) and the mapping of every
 * failure to a problem+json answer. Async because the OpenAPI generator must be in place before
 * any route is added.
 */
export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: options.bodyLimit,
    loggerInstance: options.logger.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  if (options.onRoute) app.addHook('onRoute', options.onRoute);

  // JSON only unless a component registers another parser: anything else is a 415.
  app.removeContentTypeParser('text/plain');

  // Bodies are validated strictly (no coercion, unknown fields rejected); query strings coerce.
  const strict = new Ajv({
    allErrors: true,
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: false,
    strict: false,
  });
  const lenient = new Ajv({
    allErrors: true,
    coerceTypes: 'array',
    removeAdditional: false,
    useDefaults: true,
    strict: false,
  });
  addFormats(strict);
  addFormats(lenient);
  // A part its handler validates is only documented (see VALIDATED_IN_HANDLER).
  const documentedOnly = () => true;
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (schema as Record<string, unknown>)[VALIDATED_IN_HANDLER]
      ? documentedOnly
      : (httpPart === 'body' ? strict : lenient).compile(schema),
  );
  // Response schemas document; they never filter or reshape what a handler sends.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const instance = request.url.split('?')[0];
    if (error instanceof HttpProblem) return sendProblem(reply, error, instance);
    if (error.validation) {
      const errors = fieldProblems(error.validation as ErrorObject[]);
      const problem =
        error.validationContext === 'body'
          ? validationProblem(errors)
          : new HttpProblem(
              400,
              'validation-failed',
              'The request parameters are not valid',
              errors.map((e) => `${e.field} ${e.message}`).join('; '),
              errors,
            );
      return sendProblem(reply, problem, instance);
    }
    switch (error.code) {
      case 'FST_REQ_FILE_TOO_LARGE':
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendProblem(
          reply,
          httpProblemFor(
            new EngineError(
              'PAYLOAD_TOO_LARGE',
              `limit is ${request.routeOptions.bodyLimit ?? options.bodyLimit} bytes`,
            ),
          )!,
          instance,
        );
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendProblem(
          reply,
          httpProblemFor(new EngineError('MEDIA_TYPE_UNSUPPORTED', error.message))!,
          instance,
        );
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendProblem(
          reply,
          new HttpProblem(400, 'malformed-body', 'Malformed JSON body', error.message),
          instance,
        );
    }
    if (error instanceof SyntaxError) {
      return sendProblem(
        reply,
        new HttpProblem(400, 'malformed-body', 'Malformed JSON body', error.message),
        instance,
      );
    }
    if (isEngineError(error)) {
      // one table for every route: engine/error-tables/http-problem.ts
      const problem = httpProblemFor(error);
      if (problem) return sendProblem(reply, problem, instance);
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendProblem(reply, new HttpProblem(status, 'bad-request', error.message), instance);
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(
      reply,
      new HttpProblem(500, 'internal', 'Internal error', 'see the server log'),
      instance,
    );
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      new HttpProblem(
        404,
        'not-found',
        'Not found',
        `${request.method} ${request.url.split('?')[0]} is not a route`,
      ),
      request.url.split('?')[0],
    ),
  );

  app.addHook('onResponse', async (request, reply) => {
    options.metrics.httpRequests.inc({
      route: request.routeOptions.url ?? 'unmatched',
      method: request.method,
      status: String(reply.statusCode),
    });
  });

  await registerOpenApi(app, options.version ?? 'dev');

  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the process answers',
        operationId: 'getHealth',
        tags: ['operations'],
        response: {
          200: contentResponse('Alive, with version, roles and components', {
            type: 'object',
            required: ['status'],
            properties: { status: { const: 'ok' } },
          }),
          ...problemResponses(500),
        },
      },
    },
    async () => ({ status: 'ok', ...options.health() }),
  );

  const readiness = {
    type: 'object',
    required: ['status', 'checks'],
    properties: {
      status: { enum: ['ready', 'not-ready'] },
      checks: {
        type: 'object',
        description: 'One entry per dependency: {status: ok|failing, …}',
        additionalProperties: { type: 'object' },
      },
    },
  };
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: every dependency (store, Kafka, component checks) answers',
        operationId: 'getReadiness',
        tags: ['operations'],
        response: {
          200: contentResponse('Ready', readiness),
          503: contentResponse('Not ready: the failing checks say why', readiness),
          ...problemResponses(500),
        },
      },
    },
    async (_request, reply) => {
      const checks: Record<string, unknown> = {};
      let ready = true;
      await Promise.all(
        [...options.readiness].map(async ([name, check]) => {
          try {
            checks[name] = { status: 'ok', ...((await check()) ?? {}) };
          } catch (err) {
            ready = false;
            checks[name] = { status: 'failing', error: (err as Error).message };
          }
        }),
      );
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks });
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        operationId: 'getMetrics',
        tags: ['operations'],
        response: {
          200: contentResponse(
            'Metrics in the Prometheus text format',
            { type: 'string' },
            'text/plain',
          ),
          ...problemResponses(500),
        },
      },
    },
    async (_request, reply) =>
      reply
        .type(options.metrics.registry.contentType)
        .send(await options.metrics.registry.metrics()),
  );

  return app;
}
