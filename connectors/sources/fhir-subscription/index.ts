import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import type { ComponentContext, Component } from '../../../engine/contracts';
import { httpProblemFor } from '../../../engine/error-tables/http-problem';
import { EngineError, isEngineError } from '../../../engine/errors';
import { HttpProblem } from '../../../engine/http/problem';
import { stableId } from '../../../engine/ids';
import { TOPICS } from '../../../engine/kafka/topics';
import {
  type FhirServerSettings,
  createFhirClient,
  fhirServerSchema,
} from '../../shared/fhir/client';
import {
  EventNumberTracker,
  type FhirResource,
  notificationInvalid,
  resourceUnacceptable,
  type TopicNotification,
  asResource,
  parseTopicNotification,
  patientRefOf,
} from './notification';
import { callbackSchema } from './route-schemas';
import { ReadBack } from './read-back';

export interface SubscriptionSpec {
  name: string;
  criteria: string;
  payload: 'full-resource' | 'id-only';
  /** Header value this subscription's callbacks carry; default: the component's secret. */
  secret: string;
  reason: string;
}

export interface FhirSubscriptionConfig {
  enabled: boolean;
  path: string;
  authHeader: string;
  secret: string;
  publicUrl: string;
  acceptedTypes: string[];
  fhirServer: FhirServerSettings;
  idOnlyLookbackSeconds: number;
  bodyLimitBytes: number;
  subscriptions: SubscriptionSpec[];
}

type Delivery =
  'rest-hook-full' | 'rest-hook-id-only' | 'notification-full' | 'notification-id-only';

/** The URL a subscription's callbacks go to (what `medstream fhir subscribe` registers). */
export function callbackUrl(config: FhirSubscriptionConfig, name: string): string {
  return `${config.publicUrl.replace(/\/+$/, '')}${config.path}/sub/${encodeURIComponent(name)}`;
}

const FHIR_JSON = ['application/fhir+json', 'application/json+fhir', 'application/json'];

/**
 * connectors/sources/fhir-subscription — the endpoint a FHIR server calls when a Subscription
 * fires. Every resource it learns about becomes one FhirResourceReceived on
 * medstream.ingest.fhir.v1, keyed by its Patient; the server gets 200 only after Kafka acked.
 *
 * Routes (under `path`, default /fhir/subscription; `/sub/<name>` names a configured
 * subscription, the bare path serves subscriptions made by hand):
 *  - PUT|POST …/{Type}/{id}, POST …/{Type}: R4 rest-hook with the full resource;
 *  - DELETE …/{Type}/{id}: the resource was deleted (its patient is read from its history);
 *  - POST … with an empty body: R4 rest-hook id-only — the subscription's criteria are searched
 *    for changes since the last read (read-back.ts);
 *  - POST … with a Bundle: R4B/R5 topic-based notification (or the R4 backport) — handshake,
 *    heartbeat, event-notification with full resources or ids only; event numbers are tracked per
 *    subscription, and a gap (events that never arrived) triggers a catch-up search.
 * Every callback must carry the subscription's secret in `authHeader` (401 otherwise).
 */
export const fhirSubscriptionSource: Component<FhirSubscriptionConfig> = {
  name: 'fhir-subscription',
  role: 'ingest',
  description: 'FHIR Subscription callbacks (R4 rest-hook, R4B/R5 topic notifications) in',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      enabled: { type: 'boolean', default: false },
      path: {
        type: 'string',
        pattern: '^/[A-Za-z0-9/_-]*[A-Za-z0-9_-]$',
        default: '/fhir/subscription',
        description: 'Where callbacks arrive; a subscription named N calls <path>/sub/N.',
      },
      authHeader: { type: 'string', minLength: 1, default: 'authorization' },
      secret: {
        type: 'string',
        default: '',
        secret: true,
        description:
          'The header value every callback must carry (the Subscription channel header), e.g. "Bearer <random>". Required when enabled.',
      },
      publicUrl: {
        type: 'string',
        default: 'http://127.0.0.1:8080',
        description: "medstream's base URL as the FHIR server reaches it (for `fhir subscribe`).",
      },
      acceptedTypes: {
        type: 'array',
        items: { type: 'string', pattern: '^[A-Z][A-Za-z]+$' },
        default: ['Observation', 'Patient'],
        description: 'Resource types taken in; others are refused with 422.',
      },
      fhirServer: fhirServerSchema,
      idOnlyLookbackSeconds: {
        type: 'integer',
        minimum: 0,
        default: 600,
        description: 'After a restart, id-only callbacks read changes from this far back.',
      },
      bodyLimitBytes: { type: 'integer', minimum: 1024, default: 10485760 },
      subscriptions: {
        type: 'array',
        default: [
          {
            name: 'vital-signs',
            criteria: 'Observation?category=vital-signs',
            payload: 'full-resource',
          },
          {
            name: 'laboratory',
            criteria: 'Observation?category=laboratory',
            payload: 'full-resource',
          },
          { name: 'patients', criteria: 'Patient?', payload: 'full-resource' },
        ],
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'criteria'],
          properties: {
            name: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
            criteria: { type: 'string', pattern: '^[A-Z][A-Za-z]+\\?' },
            payload: { enum: ['full-resource', 'id-only'], default: 'full-resource' },
            secret: { type: 'string', default: '', secret: true },
            reason: { type: 'string', default: 'medstream ICU-risk and imaging AI' },
          },
        },
      },
    },
  },
  create(config, ctx) {
    if (!config.enabled) return { start: async () => undefined, stop: async () => undefined };
    if (!config.secret && config.subscriptions.some((s) => !s.secret))
      throw new EngineError(
        'CONFIG_INVALID',
        'components.fhir-subscription.secret is empty: every callback must be authenticated',
      );
    const callbacks = new Counter({
      name: 'medstream_fhir_callbacks_total',
      help: 'FHIR subscription callbacks by delivery style and outcome',
      labelNames: ['delivery', 'outcome'],
      registers: [ctx.metrics.registry],
    });
    const resourcesIn = new Counter({
      name: 'medstream_fhir_resources_received_total',
      help: 'Resources published to medstream.ingest.fhir.v1, by type',
      labelNames: ['type'],
      registers: [ctx.metrics.registry],
    });
    const gaps = new Counter({
      name: 'medstream_fhir_notification_gaps_total',
      help: 'Topic-based notifications found missing by event number',
      labelNames: ['subscription'],
      registers: [ctx.metrics.registry],
    });
    const client = config.fhirServer.baseUrl ? createFhirClient(config.fhirServer) : undefined;
    const readBack = client
      ? new ReadBack(client, config.idOnlyLookbackSeconds, config.fhirServer.timeoutMs)
      : undefined;
    const tracker = new EventNumberTracker();
    const byName = new Map(config.subscriptions.map((s) => [s.name, s]));
    const accepted = new Set(config.acceptedTypes);
    const intake = new Intake(ctx, config, accepted, resourcesIn);

    const needReadBack = (what: string) => {
      if (!readBack)
        throw new HttpProblem(
          422,
          'id-only-unsupported',
          'Id-only notifications need a FHIR server to read from',
          `${what}: components.fhir-subscription.fhirServer.baseUrl is not configured`,
        );
      return readBack;
    };

    const authenticate = (request: FastifyRequest<{ Params: { name?: string } }>) => {
      const spec = request.params.name ? byName.get(request.params.name) : undefined;
      if (request.params.name && !spec)
        throw new HttpProblem(
          404,
          'unknown-subscription',
          'Unknown subscription',
          `no subscription named ${JSON.stringify(request.params.name)} is configured`,
        );
      const expected = Buffer.from(spec?.secret || config.secret);
      const given = Buffer.from(String(request.headers[config.authHeader.toLowerCase()] ?? ''));
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        throw new HttpProblem(
          401,
          'unauthorized',
          'Callback not authenticated',
          `the ${config.authHeader} header does not carry this subscription's secret`,
        );
      return spec;
    };

    /** Changes for a subscription's criteria (or every configured one) read back and published. */
    const catchUp = async (spec: SubscriptionSpec | undefined, delivery: Delivery) => {
      const rb = needReadBack('an empty (id-only) callback');
      const specs = spec ? [spec] : config.subscriptions;
      let published = 0;
      for (const s of specs)
        published += await rb.changedSince(s.criteria, (resources) =>
          intake.publish(resources, s.name, delivery, 'skip-unaccepted'),
        );
      return published;
    };

    /**
     * A topic-based notification: the gap check (a catch-up search for a configured
     * subscription), then its full resources as they are and its id-only foci read back.
     */
    const notified = async (
      n: TopicNotification,
      spec: SubscriptionSpec | undefined,
    ): Promise<{ published: number; delivery: Delivery }> => {
      const subscription = spec?.name || n.subscription;
      let published = 0;
      const gap = tracker.observe(n);
      if (gap) {
        gaps.inc({ subscription });
        ctx.logger.warn(
          { subscription, ...gap },
          'FHIR notifications missing: catching up by search',
        );
        if (spec && readBack) published += await catchUp(spec, 'rest-hook-id-only');
      }
      const full = n.events.flatMap((e) => (e.resource ? [e.resource] : []));
      const foci = n.events.flatMap((e) => (!e.resource && e.focus ? [e.focus] : []));
      if (full.length)
        published += await intake.publish(
          full,
          subscription,
          'notification-full',
          'refuse',
          n.events,
        );
      if (foci.length) {
        const rb = needReadBack('an id-only notification');
        const read = await Promise.all(foci.map((f) => rb.read(f.type, f.id)));
        published += await intake.publish(
          read,
          subscription,
          'notification-id-only',
          'refuse',
          n.events,
        );
      }
      return {
        published,
        delivery: foci.length > 0 ? 'notification-id-only' : 'notification-full',
      };
    };

    const handle =
      (kind: 'resource' | 'root' | 'delete') =>
      async (
        request: FastifyRequest<{
          Params: { name?: string; type?: string; id?: string };
          Body: unknown;
        }>,
        reply: FastifyReply,
      ) => {
        let delivery: Delivery = 'rest-hook-full';
        try {
          const spec = authenticate(request);
          const subscription = spec?.name ?? '';
          const { type, id } = request.params;
          let published = 0;
          if (kind === 'delete') {
            const previous = await needReadBack('a DELETE callback').lastVersionBefore(
              type as string,
              id as string,
            );
            published = await intake.publishDelete(
              type as string,
              id as string,
              previous,
              subscription,
            );
          } else if (isEmpty(request.body)) {
            delivery = 'rest-hook-id-only';
            published = await catchUp(spec, delivery);
          } else {
            const resource = asResource(request.body);
            if (resource.resourceType === 'Bundle' && kind === 'root') {
              ({ published, delivery } = await notified(parseTopicNotification(resource), spec));
            } else {
              if (type && resource.resourceType !== type)
                throw notificationInvalid(
                  `the URL names a ${type} but the body is a ${resource.resourceType}`,
                );
              if (id && resource.id !== undefined && resource.id !== id)
                throw notificationInvalid(
                  `the URL names id ${id} but the body has id ${resource.id}`,
                );
              const withId = id && resource.id === undefined ? { ...resource, id } : resource;
              published = await intake.publish([withId], subscription, 'rest-hook-full', 'refuse');
            }
          }
          callbacks.inc({ delivery, outcome: 'accepted' });
          // A FHIR client (HAPI's rest-hook sender) parses the answer: give it an OperationOutcome
          return reply.code(200).type('application/fhir+json').send(acceptedOutcome(published));
        } catch (err) {
          // the server's error handler answers problem+json for an HttpProblem
          const problem = toProblem(err);
          callbacks.inc({ delivery, outcome: problem ? String(problem.status) : 'error' });
          throw problem ?? err;
        }
      };

    ctx.http.register(async (app: FastifyInstance) => {
      app.addContentTypeParser(
        FHIR_JSON,
        { parseAs: 'string', bodyLimit: config.bodyLimitBytes },
        (_request, body, done) => {
          const text = String(body).trim();
          if (text === '') return done(null, undefined);
          try {
            done(null, JSON.parse(text));
          } catch (err) {
            const e = err as Error & { statusCode?: number };
            e.statusCode = 400;
            done(e, undefined);
          }
        },
      );
      // HAPI labels its empty id-only POST form-urlencoded: accept that, empty, and nothing else
      if (!app.hasContentTypeParser('application/x-www-form-urlencoded'))
        app.addContentTypeParser(
          'application/x-www-form-urlencoded',
          { parseAs: 'string', bodyLimit: 1024 },
          (_request, body, done) => {
            if (String(body).trim() === '') return done(null, undefined);
            const e = new Error(
              'a subscription callback body is FHIR JSON, not a form',
            ) as Error & {
              statusCode?: number;
            };
            e.statusCode = 415;
            done(e, undefined);
          },
        );
      for (const base of [config.path, `${config.path}/sub/:name`]) {
        const schema = (kind: Parameters<typeof callbackSchema>[0]) =>
          callbackSchema(kind, base !== config.path, config.authHeader);
        const bodyLimit = config.bodyLimitBytes;
        app.post(base, { bodyLimit, schema: schema('root') }, handle('root'));
        app.post(`${base}/:type`, { bodyLimit, schema: schema('resource') }, handle('resource'));
        app.put(
          `${base}/:type/:id`,
          { bodyLimit, schema: schema('putResource') },
          handle('resource'),
        );
        app.post(
          `${base}/:type/:id`,
          { bodyLimit, schema: schema('resourceWithId') },
          handle('resource'),
        );
        app.delete(`${base}/:type/:id`, { schema: schema('delete') }, handle('delete'));
      }
    });
    return { start: async () => undefined, stop: async () => undefined };
  },
};

/** The 200 answer: an informational OperationOutcome saying how many resources were taken in. */
export function acceptedOutcome(published: number) {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'information',
        code: 'informational',
        diagnostics: `accepted ${published} resource(s) into medstream.ingest.fhir.v1`,
      },
    ],
  };
}

/**
 * An id-only rest-hook POST has no body — HAPI even labels it form-urlencoded, which the form
 * parser turns into {} — so an empty string, buffer or object all mean "no payload".
 */
function isEmpty(body: unknown): boolean {
  return (
    body === undefined ||
    (typeof body === 'object' &&
      body !== null &&
      !Buffer.isBuffer(body) &&
      Object.keys(body).length === 0) ||
    body === null ||
    (typeof body === 'string' && body.trim() === '') ||
    (Buffer.isBuffer(body) && body.length === 0)
  );
}

function toProblem(err: unknown): HttpProblem | undefined {
  if (err instanceof HttpProblem) return err;
  if (
    isEngineError(err) &&
    (err.code === 'NOTIFICATION_INVALID' || err.code === 'RESOURCE_UNACCEPTABLE')
  )
    return httpProblemFor(err);
  if (err instanceof EngineError && err.code === 'FHIR_REJECTED')
    return new HttpProblem(
      422,
      'read-back-refused',
      'The FHIR server refused the read-back',
      err.message,
    );
  return undefined;
}

/** Turns resources into FhirResourceReceived records and publishes them (acks=all). */
class Intake {
  constructor(
    private readonly ctx: ComponentContext,
    private readonly config: FhirSubscriptionConfig,
    private readonly accepted: ReadonlySet<string>,
    private readonly counter: Counter<'type'>,
  ) {}

  async publish(
    resources: readonly FhirResource[],
    subscription: string,
    delivery: Delivery,
    unaccepted: 'refuse' | 'skip-unaccepted',
    events: readonly { eventNumber?: number; focus?: { type: string; id: string } }[] = [],
  ): Promise<number> {
    const records = [];
    for (const resource of resources) {
      if (!this.accepted.has(resource.resourceType)) {
        if (unaccepted === 'skip-unaccepted') continue;
        throw resourceUnacceptable(
          `resource type ${resource.resourceType} is not taken in (accepted: ${[...this.accepted].join(', ')})`,
        );
      }
      if (!resource.id) throw resourceUnacceptable(`the ${resource.resourceType} has no id`);
      const patientRef = patientRefOf(resource);
      if (!patientRef)
        throw resourceUnacceptable(
          `${resource.resourceType}/${resource.id} names no Patient (subject or patient)`,
        );
      const versionId = resource.meta?.versionId ?? null;
      const eventNumber =
        events.find((e) => e.focus?.type === resource.resourceType && e.focus.id === resource.id)
          ?.eventNumber ?? null;
      records.push(
        this.record(
          patientRef,
          subscription,
          resource.resourceType,
          resource.id,
          versionId,
          'upsert',
          JSON.stringify(resource),
          delivery,
          eventNumber,
        ),
      );
    }
    if (records.length === 0) return 0;
    await this.ctx.producer.send(records, 'fhir-subscription');
    for (const r of records) this.counter.inc({ type: r.value.resourceType });
    return records.length;
  }

  async publishDelete(
    type: string,
    id: string,
    previous: FhirResource | undefined,
    subscription: string,
  ): Promise<number> {
    const patientRef = previous ? patientRefOf(previous) : undefined;
    if (!patientRef)
      throw resourceUnacceptable(
        `deleted ${type}/${id}: no earlier version names a Patient, so it cannot be routed`,
      );
    await this.ctx.producer.send(
      [
        this.record(
          patientRef,
          subscription,
          type,
          id,
          previous?.meta?.versionId ?? null,
          'delete',
          null,
          'rest-hook-full',
          null,
        ),
      ],
      'fhir-subscription',
    );
    this.counter.inc({ type });
    return 1;
  }

  private record(
    patientRef: string,
    subscription: string,
    resourceType: string,
    resourceId: string,
    versionId: string | null,
    action: 'upsert' | 'delete',
    resource: string | null,
    delivery: Delivery,
    eventNumber: number | null,
  ) {
    const id = stableId([subscription, resourceType, resourceId, versionId, action]);
    return {
      topic: TOPICS.ingestFhir,
      key: patientRef,
      value: {
        id,
        patientRef,
        subscription,
        resourceType,
        resourceId,
        versionId,
        action,
        resource,
        delivery,
        eventNumber,
        fhirServer: this.config.fhirServer.baseUrl || null,
        receivedAt: Date.now(),
      },
      headers: { 'correlation-id': id },
    };
  }
}
