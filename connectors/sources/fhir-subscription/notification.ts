import { EngineError } from '../../../engine/errors';

/**
 * Pure parsing of what a FHIR server sends to a subscription endpoint:
 *  - R4 rest-hook, full resource: the changed resource itself (PUT/POST {endpoint}/{Type}/{id});
 *  - R4 rest-hook, id-only: an empty POST (the resources are read back, see read-back.ts);
 *  - topic-based notifications (R4B/R5 SubscriptionStatus, or the R4 Subscriptions Backport's
 *    Parameters status): a Bundle whose first entry is the status, followed by the focus
 *    resources (full-resource) or only their references (id-only).
 * Nothing here does I/O; every refusal is an EngineError (NOTIFICATION_INVALID,
 * RESOURCE_UNACCEPTABLE) whose message says what is wrong.
 */

/** A body that is not what a subscription sends: HTTP 400 `malformed-notification`. */
export const notificationInvalid = (message: string) =>
  new EngineError('NOTIFICATION_INVALID', message);

/** A well-formed resource that is not taken in: HTTP 422 `unacceptable-resource`. */
export const resourceUnacceptable = (message: string) =>
  new EngineError('RESOURCE_UNACCEPTABLE', message);

export interface FhirResource {
  resourceType: string;
  id?: string;
  meta?: { versionId?: string; lastUpdated?: string };
  [key: string]: unknown;
}

const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function asResource(body: unknown, what = 'body'): FhirResource {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw notificationInvalid(`${what} is not a FHIR resource (a JSON object)`);
  const type = (body as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string' || !RESOURCE_TYPE.test(type))
    throw notificationInvalid(`${what} has no valid resourceType`);
  const id = (body as { id?: unknown }).id;
  if (id !== undefined && (typeof id !== 'string' || !RESOURCE_ID.test(id)))
    throw notificationInvalid(`${what} has an invalid id`);
  return body as FhirResource;
}

/** "Patient/123" from a relative, absolute or versioned reference; undefined when not one. */
export function typedReference(reference: unknown): { type: string; id: string } | undefined {
  if (typeof reference !== 'string') return undefined;
  const parts = reference.split('?')[0]!.split('/');
  const history = parts.lastIndexOf('_history');
  const p = history >= 2 ? parts.slice(0, history) : parts;
  const type = p[p.length - 2];
  const id = p[p.length - 1];
  if (!type || !id || !RESOURCE_TYPE.test(type) || !RESOURCE_ID.test(id)) return undefined;
  return { type, id };
}

/**
 * The Patient a resource is about: the Patient itself, else `subject` or `patient` when they
 * point at a Patient. undefined when the resource names no patient.
 */
export function patientRefOf(resource: FhirResource): string | undefined {
  if (resource.resourceType === 'Patient')
    return resource.id ? `Patient/${resource.id}` : undefined;
  for (const field of ['subject', 'patient']) {
    const ref = typedReference((resource[field] as { reference?: unknown } | undefined)?.reference);
    if (ref?.type === 'Patient') return `Patient/${ref.id}`;
  }
  return undefined;
}

export type NotificationType =
  'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

export interface NotificationEvent {
  eventNumber?: number;
  /** Type/id of the focus resource. */
  focus?: { type: string; id: string };
  /** The resource, when the notification carries full resources. */
  resource?: FhirResource;
}

export interface TopicNotification {
  /** Subscription reference as the server gave it (e.g. Subscription/42). */
  subscription: string;
  type: NotificationType;
  /** Events the server has sent for this subscription since it started (incl. these). */
  eventsSinceSubscriptionStart?: number;
  events: NotificationEvent[];
  /** 'R5' (SubscriptionStatus) or 'R4-backport' (Parameters). */
  flavour: 'R5' | 'R4-backport';
}

const TYPES: readonly NotificationType[] = [
  'handshake',
  'heartbeat',
  'event-notification',
  'query-status',
  'query-event',
];

function toCount(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 0)
    throw notificationInvalid(`${what} is not a non-negative integer (${JSON.stringify(value)})`);
  return n;
}

function notificationType(value: unknown): NotificationType {
  if (typeof value !== 'string' || !(TYPES as readonly string[]).includes(value))
    throw notificationInvalid(
      `notification type ${JSON.stringify(value)} is not one of ${TYPES.join(', ')}`,
    );
  return value as NotificationType;
}

interface RawEvent {
  eventNumber?: unknown;
  focus?: unknown;
}

function fromSubscriptionStatus(status: FhirResource): Omit<TopicNotification, 'events'> & {
  raw: RawEvent[];
} {
  const notificationEvent = status.notificationEvent;
  if (notificationEvent !== undefined && !Array.isArray(notificationEvent))
    throw notificationInvalid('SubscriptionStatus.notificationEvent is not an array');
  return {
    flavour: 'R5',
    subscription: String((status.subscription as { reference?: unknown })?.reference ?? ''),
    type: notificationType(status.type),
    eventsSinceSubscriptionStart: toCount(
      status.eventsSinceSubscriptionStart,
      'SubscriptionStatus.eventsSinceSubscriptionStart',
    ),
    raw: ((notificationEvent ?? []) as Record<string, unknown>[]).map((e) => ({
      eventNumber: e.eventNumber,
      focus: (e.focus as { reference?: unknown } | undefined)?.reference,
    })),
  };
}

interface Parameter {
  name?: string;
  part?: Parameter[];
  [value: string]: unknown;
}

/** The value[x] of a Parameters parameter, whatever its type. */
function parameterValue(p: Parameter | undefined): unknown {
  if (!p) return undefined;
  const key = Object.keys(p).find((k) => k.startsWith('value'));
  return key ? p[key] : undefined;
}

function fromBackportParameters(params: FhirResource): Omit<TopicNotification, 'events'> & {
  raw: RawEvent[];
} {
  const parameter = params.parameter;
  if (!Array.isArray(parameter))
    throw notificationInvalid('subscription status Parameters has no parameter array');
  const all = parameter as Parameter[];
  const one = (name: string) => parameterValue(all.find((p) => p.name === name));
  const subscription = one('subscription') as { reference?: unknown } | undefined;
  return {
    flavour: 'R4-backport',
    subscription: String(subscription?.reference ?? ''),
    type: notificationType(one('type')),
    eventsSinceSubscriptionStart: toCount(
      one('events-since-subscription-start'),
      'events-since-subscription-start',
    ),
    raw: all
      .filter((p) => p.name === 'notification-event')
      .map((p) => {
        const part = (name: string) => parameterValue(p.part?.find((x) => x.name === name));
        return {
          eventNumber: part('event-number'),
          focus: (part('focus') as { reference?: unknown } | undefined)?.reference,
        };
      }),
  };
}

/**
 * Parses a topic-based notification Bundle. Full-resource content: each event's focus is matched
 * to the Bundle entry with that type/id; id-only content: events carry only the focus reference.
 */
export function parseTopicNotification(body: unknown): TopicNotification {
  const bundle = asResource(body);
  if (bundle.resourceType !== 'Bundle')
    throw notificationInvalid(`expected a notification Bundle, got ${bundle.resourceType}`);
  if (bundle.type !== 'history' && bundle.type !== 'subscription-notification')
    throw notificationInvalid(
      `a notification Bundle has type history (R4/R4B) or subscription-notification (R5), not ${JSON.stringify(bundle.type)}`,
    );
  const entries = bundle.entry;
  if (!Array.isArray(entries) || entries.length === 0)
    throw notificationInvalid('the notification Bundle has no entries (the status comes first)');
  const status = asResource(
    (entries[0] as { resource?: unknown }).resource,
    'the first entry (subscription status)',
  );
  let head;
  if (status.resourceType === 'SubscriptionStatus') head = fromSubscriptionStatus(status);
  else if (status.resourceType === 'Parameters') head = fromBackportParameters(status);
  else
    throw notificationInvalid(
      `the first entry is a ${status.resourceType}, not a SubscriptionStatus or a status Parameters`,
    );

  const resources = new Map<string, FhirResource>();
  entries.slice(1).forEach((entry: unknown, i: number) => {
    const e = entry as { resource?: unknown; fullUrl?: unknown };
    if (e.resource === undefined) return; // id-only content: a fullUrl / request, no resource
    const r = asResource(e.resource, `entry ${i + 1}`);
    if (r.id) resources.set(`${r.resourceType}/${r.id}`, r);
  });

  const events: NotificationEvent[] = head.raw.map((e, i) => {
    const eventNumber = toCount(e.eventNumber, `notification event ${i + 1}'s event number`);
    const focus = typedReference(e.focus);
    if (e.focus !== undefined && !focus)
      throw notificationInvalid(`notification event ${i + 1} has an unusable focus reference`);
    const resource = focus ? resources.get(`${focus.type}/${focus.id}`) : undefined;
    return {
      ...(eventNumber !== undefined ? { eventNumber } : {}),
      ...(focus ? { focus } : {}),
      ...(resource ? { resource } : {}),
    };
  });
  // Some servers list the resources without per-event focus: take every entry then.
  if (head.type === 'event-notification' && events.every((e) => !e.focus))
    for (const r of resources.values())
      events.push({ focus: { type: r.resourceType, id: r.id as string }, resource: r });
  const { raw: _raw, ...rest } = head;
  return { ...rest, events };
}

/**
 * Event-number bookkeeping per subscription, to notice notifications that never arrived.
 * A gap is reported once, as the first and last missing event numbers.
 */
export class EventNumberTracker {
  private readonly last = new Map<string, number>();

  /** Returns the missing range this notification reveals, if any, and records what it saw. */
  observe(n: TopicNotification): { from: number; to: number } | undefined {
    const key = n.subscription;
    const previous = this.last.get(key);
    const numbers = n.events.map((e) => e.eventNumber).filter((x): x is number => x !== undefined);
    let gap: { from: number; to: number } | undefined;
    if (n.type === 'handshake') {
      this.last.set(key, n.eventsSinceSubscriptionStart ?? 0);
      return undefined;
    }
    if (numbers.length > 0) {
      const first = Math.min(...numbers);
      if (previous !== undefined && first > previous + 1)
        gap = { from: previous + 1, to: first - 1 };
      this.last.set(key, Math.max(previous ?? 0, ...numbers));
    } else if (n.eventsSinceSubscriptionStart !== undefined) {
      // heartbeat / query-status: the server's count ran ahead of what we received; an
      // event-notification without event numbers: its count includes its own events
      const before = n.eventsSinceSubscriptionStart - n.events.length;
      if (previous !== undefined && before > previous) gap = { from: previous + 1, to: before };
      if (previous === undefined || n.eventsSinceSubscriptionStart > previous)
        this.last.set(key, n.eventsSinceSubscriptionStart);
    }
    return gap;
  }
}
