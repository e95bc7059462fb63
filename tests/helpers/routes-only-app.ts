import type { FastifyInstance, RouteOptions } from 'fastify';
import { COMPONENTS, componentSchemas } from '../../bin/registry';
import { loadConfig } from '../../engine/config/load-config';
import type { ComponentContext } from '../../engine/contracts';
import { createHttpServer } from '../../engine/http/server';
import { createLogger } from '../../engine/logger';
import { Metrics } from '../../engine/metrics';

const unavailable = (what: string) => () => {
  throw new Error(`${what} is not available when only routes are built`);
};

/**
 * The HTTP side of the registry's ingest and api components (the roles that add routes), without
 * Kafka, store or blobs: enough to list and document the routes, not to answer them (a handler
 * that reaches for the producer or the store throws). `routes` receives every route as added.
 */
export async function buildRoutesOnlyApp(routes: RouteOptions[] = []): Promise<FastifyInstance> {
  const config = loadConfig({
    env: {},
    file: '/dev/null',
    componentSchemas: componentSchemas(),
    // the FHIR callbacks only exist when enabled, and enabled they need a secret
    overrides: {
      components: { 'fhir-subscription': { enabled: true, secret: 'test-only' } },
    },
  });
  const metrics = new Metrics();
  const logger = createLogger('silent');
  const app = await createHttpServer({
    bodyLimit: config.http.bodyLimit,
    logger,
    metrics,
    readiness: new Map(),
    health: () => ({}),
    version: '0.0.0-test',
    onRoute: (route) => routes.push(route),
  });
  for (const component of COMPONENTS.filter((c) => c.role === 'ingest' || c.role === 'api')) {
    const ctx = {
      engine: config,
      logger,
      http: app,
      metrics,
      get serde() {
        return unavailable('serde')();
      },
      get producer() {
        return unavailable('producer')();
      },
      get topics() {
        return unavailable('topics')();
      },
      get store() {
        return unavailable('store')();
      },
      get blobs() {
        return unavailable('blobs')();
      },
      createConsumer: unavailable('createConsumer'),
      addReadinessCheck: () => undefined,
      readTopic: unavailable('readTopic'),
      announceListener: () => undefined,
    } as unknown as ComponentContext;
    await component.create(config.components[component.name] ?? {}, ctx);
  }
  await app.ready();
  return app;
}
