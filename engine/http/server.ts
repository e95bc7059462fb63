import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
} from 'fastify';
import { describeSchemaError } from '../config/json-schema';
import { httpProblemFor } from '../error-tables/http-problem';
import { EngineError, isEngineError } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { type FieldProblem, HttpProblem, sendProblem, validationProblem } from './problem';

export type ReadinessCheck = () => Promise<Record<string, unknown> | void>;

export interface HttpServerOptions {
  bodyLimit: number;
  logger: Logger;
  metrics: Metrics;
  readiness: Map<string, ReadinessCheck>;
  /** Extra facts for /healthz (version, roles, runtime). */
  health: () => Record<string, unknown>;
}

/** ajv errors → one problem per field, as dotted paths into the body; values are not echoed. */
export function fieldProblems(errors: readonly ErrorObject[]): FieldProblem[] {
  return errors.map((e) =>
    describeSchemaError(e, { unknownProperty: 'is not a known field', rootField: '(body)' }),
  );
}

/**
 * The HTTP server of every role: components add routes; the engine owns /healthz, /readyz,
 * /metrics and the mapping of every failure to a problem+json answer.
 */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    bodyLimit: options.bodyLimit,
    loggerInstance: options.logger.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

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
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : lenient).compile(schema),
  );

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

  app.get('/healthz', async () => ({ status: 'ok', ...options.health() }));

  app.get('/readyz', async (_request, reply) => {
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
  });

  app.get('/metrics', async (_request, reply) =>
    reply.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics()),
  );

  return app;
}
