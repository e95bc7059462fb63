import {
  EventNumberTracker,
  type FhirResource,
  type TopicNotification,
  asResource,
  parseTopicNotification,
  patientRefOf,
  typedReference,
} from '../../../../../connectors/sources/fhir-subscription/notification';
import { EngineError } from '../../../../../engine/errors';
import { HTTP_PROBLEMS } from '../../../../../engine/error-tables/http-problem';

/** Runs `fn`, expecting a NOTIFICATION_INVALID EngineError (never retriable); returns it. */
function refusal(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe('NOTIFICATION_INVALID');
    expect((err as EngineError).retriable).toBe(false);
    return err as EngineError;
  }
  throw new Error('expected a NOTIFICATION_INVALID EngineError, nothing was thrown');
}

const observation = (id: string, patient = 'p1'): FhirResource => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  subject: { reference: `Patient/${patient}` },
});

// ---------------------------------------------------------------------------------------------
// R5 SubscriptionStatus notification bundles (Bundle.type subscription-notification; R4B uses
// history). eventsSinceSubscriptionStart and eventNumber are integer64 → JSON strings.
// ---------------------------------------------------------------------------------------------

interface R5Options {
  type?: string;
  since?: string | number;
  events?: { eventNumber?: unknown; focus?: string }[];
  resources?: FhirResource[];
  /** id-only content: entries with fullUrl/request but no resource. */
  idOnly?: string[];
  bundleType?: string;
}

function r5Bundle({
  type = 'event-notification',
  since,
  events = [],
  resources = [],
  idOnly = [],
  bundleType = 'subscription-notification',
}: R5Options = {}) {
  return {
    resourceType: 'Bundle',
    id: 'notification-1',
    type: bundleType,
    timestamp: '2024-05-01T10:00:00Z',
    entry: [
      {
        fullUrl: 'urn:uuid:4b3c8a3e-7c2b-4f0f-9d5e-0d1f2a3b4c5d',
        resource: {
          resourceType: 'SubscriptionStatus',
          id: '4b3c8a3e-7c2b-4f0f-9d5e-0d1f2a3b4c5d',
          status: 'active',
          type,
          ...(since !== undefined ? { eventsSinceSubscriptionStart: since } : {}),
          subscription: { reference: 'https://fhir.example.org/fhir/Subscription/42' },
          topic: 'http://example.org/SubscriptionTopic/vitals',
          ...(events.length
            ? {
                notificationEvent: events.map((e) => ({
                  ...(e.eventNumber !== undefined ? { eventNumber: e.eventNumber } : {}),
                  timestamp: '2024-05-01T10:00:00Z',
                  ...(e.focus ? { focus: { reference: e.focus } } : {}),
                })),
              }
            : {}),
        },
      },
      ...resources.map((r) => ({
        fullUrl: `https://fhir.example.org/fhir/${r.resourceType}/${r.id}`,
        resource: r,
        request: { method: 'PUT', url: `${r.resourceType}/${r.id}` },
        response: { status: '200' },
      })),
      ...idOnly.map((url) => ({
        fullUrl: url,
        request: { method: 'PUT', url },
        response: { status: '200' },
      })),
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// R4 Subscriptions Backport (hl7.fhir.uv.subscriptions-backport, profile
// backport-subscription-status-r4): a history Bundle whose first entry is a Parameters with
// subscription (valueReference), status, type (valueCode), topic (valueCanonical),
// events-since-subscription-start (valueString) and notification-event parameters whose parts are
// event-number (valueString), timestamp (valueInstant) and focus (valueReference).
// ---------------------------------------------------------------------------------------------

interface BackportOptions {
  type?: string;
  since?: string;
  events?: { eventNumber?: string; focus?: string }[];
  resources?: FhirResource[];
}

function backportBundle({
  type = 'event-notification',
  since,
  events = [],
  resources = [],
}: BackportOptions = {}) {
  return {
    resourceType: 'Bundle',
    id: 'r4-notification',
    type: 'history',
    timestamp: '2024-05-01T10:00:00Z',
    entry: [
      {
        fullUrl: 'urn:uuid:9e2a1c44-1f43-4ad2-9f0e-1b2c3d4e5f60',
        resource: {
          resourceType: 'Parameters',
          id: '9e2a1c44-1f43-4ad2-9f0e-1b2c3d4e5f60',
          meta: {
            profile: [
              'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4',
            ],
          },
          parameter: [
            {
              name: 'subscription',
              valueReference: { reference: 'https://fhir.example.org/fhir/Subscription/7' },
            },
            { name: 'topic', valueCanonical: 'http://example.org/SubscriptionTopic/vitals' },
            { name: 'status', valueCode: 'active' },
            { name: 'type', valueCode: type },
            ...(since !== undefined
              ? [{ name: 'events-since-subscription-start', valueString: since }]
              : []),
            ...events.map((e) => ({
              name: 'notification-event',
              part: [
                ...(e.eventNumber !== undefined
                  ? [{ name: 'event-number', valueString: e.eventNumber }]
                  : []),
                { name: 'timestamp', valueInstant: '2024-05-01T10:00:00Z' },
                ...(e.focus ? [{ name: 'focus', valueReference: { reference: e.focus } }] : []),
              ],
            })),
          ],
        },
        request: { method: 'GET', url: 'https://fhir.example.org/fhir/Subscription/7/$status' },
        response: { status: '200' },
      },
      ...resources.map((r) => ({
        fullUrl: `https://fhir.example.org/fhir/${r.resourceType}/${r.id}`,
        resource: r,
        request: { method: 'PUT', url: `${r.resourceType}/${r.id}` },
        response: { status: '200' },
      })),
    ],
  };
}

describe('[REQ-FHIR-U-01] asResource: a FHIR resource is a JSON object with a resourceType', () => {
  it('returns a valid resource unchanged', () => {
    const r = { resourceType: 'Observation', id: 'obs-1.a', status: 'final' };
    expect(asResource(r)).toBe(r);
    expect(asResource({ resourceType: 'Patient' })).toEqual({ resourceType: 'Patient' });
  });

  it.each([
    ['null', null],
    ['a string', 'Patient'],
    ['a number', 42],
    ['an array', [{ resourceType: 'Patient' }]],
    ['undefined', undefined],
  ])('refuses %s as not a JSON object', (_what, body) => {
    const err = refusal(() => asResource(body));
    expect(err.message).toBe('body is not a FHIR resource (a JSON object)');
    expect(HTTP_PROBLEMS[err.code]?.status).toBe(400);
  });

  it.each([
    ['missing', {}],
    ['not a string', { resourceType: 7 }],
    ['lower case', { resourceType: 'patient' }],
    ['a single letter', { resourceType: 'P' }],
    ['with a digit', { resourceType: 'Patient2' }],
    ['empty', { resourceType: '' }],
  ])('refuses a resourceType that is %s', (_what, body) => {
    expect(refusal(() => asResource(body)).message).toBe('body has no valid resourceType');
  });

  it.each([
    ['a number', 123],
    ['empty', ''],
    ['with a slash', 'a/b'],
    ['with a space', 'a b'],
    ['65 characters long', 'x'.repeat(65)],
    ['null', null],
  ])('refuses an id that is %s', (_what, id) => {
    expect(refusal(() => asResource({ resourceType: 'Patient', id })).message).toBe(
      'body has an invalid id',
    );
  });

  it('accepts a 64-character id and names the thing in the message', () => {
    expect(asResource({ resourceType: 'Patient', id: 'x'.repeat(64) }).id).toHaveLength(64);
    expect(refusal(() => asResource([], 'entry 3')).message).toBe(
      'entry 3 is not a FHIR resource (a JSON object)',
    );
  });
});

describe('[REQ-FHIR-U-02] typedReference: type and id from a reference', () => {
  it.each([
    ['Patient/123', { type: 'Patient', id: '123' }],
    ['https://fhir.example.org/fhir/Patient/abc-1', { type: 'Patient', id: 'abc-1' }],
    ['Observation/o.1/_history/3', { type: 'Observation', id: 'o.1' }],
    ['http://h/fhir/Observation/o1/_history/12', { type: 'Observation', id: 'o1' }],
    ['Patient/123?_format=json', { type: 'Patient', id: '123' }],
  ])('%s → %p', (reference, expected) => {
    expect(typedReference(reference)).toEqual(expected);
  });

  it.each([
    ['not a string', 42],
    ['undefined', undefined],
    ['an object', { reference: 'Patient/1' }],
    ['empty', ''],
    ['only a type', 'Patient'],
    ['a trailing slash', 'Patient/'],
    ['a contained reference', '#p1'],
    ['a urn', 'urn:uuid:4b3c8a3e-7c2b-4f0f-9d5e-0d1f2a3b4c5d'],
    ['a lower-case type', 'patient/1'],
    ['an id with a space', 'Patient/a b'],
    ['a bare _history', '_history/2'],
    ['an operation after the id', 'Composition/c1/$document'],
  ])('junk (%s) → undefined', (_what, reference) => {
    expect(typedReference(reference)).toBeUndefined();
  });
});

describe('[REQ-FHIR-U-03] patientRefOf: the Patient a resource is about', () => {
  it('a Patient is about itself (when it has an id)', () => {
    expect(patientRefOf({ resourceType: 'Patient', id: 'p9' })).toBe('Patient/p9');
    expect(patientRefOf({ resourceType: 'Patient' })).toBeUndefined();
  });

  it('takes subject when it points at a Patient (relative, absolute, versioned)', () => {
    expect(patientRefOf(observation('o1', 'p1'))).toBe('Patient/p1');
    expect(
      patientRefOf({
        resourceType: 'Observation',
        subject: { reference: 'https://fhir.example.org/fhir/Patient/p2/_history/4' },
      }),
    ).toBe('Patient/p2');
  });

  it('takes the patient field (e.g. AllergyIntolerance.patient)', () => {
    expect(
      patientRefOf({ resourceType: 'AllergyIntolerance', patient: { reference: 'Patient/p3' } }),
    ).toBe('Patient/p3');
  });

  it('a subject that is not a Patient, or no usable reference → undefined', () => {
    expect(
      patientRefOf({ resourceType: 'Observation', subject: { reference: 'Group/g1' } }),
    ).toBeUndefined();
    expect(
      patientRefOf({ resourceType: 'Observation', subject: { reference: 'Device/d1' } }),
    ).toBeUndefined();
    expect(
      patientRefOf({ resourceType: 'Observation', subject: { identifier: { value: '123' } } }),
    ).toBeUndefined();
    expect(patientRefOf({ resourceType: 'Observation' })).toBeUndefined();
  });
});

describe('[REQ-FHIR-U-04] R5 SubscriptionStatus notifications', () => {
  it('full-resource: events with string event numbers, focus matched to the Bundle entries', () => {
    const o1 = observation('o1');
    const o2 = observation('o2');
    const n = parseTopicNotification(
      r5Bundle({
        since: '12',
        events: [
          { eventNumber: '11', focus: 'https://fhir.example.org/fhir/Observation/o1/_history/1' },
          { eventNumber: '12', focus: 'Observation/o2' },
        ],
        resources: [o1, o2],
      }),
    );
    expect(n).toEqual<TopicNotification>({
      flavour: 'R5',
      subscription: 'https://fhir.example.org/fhir/Subscription/42',
      type: 'event-notification',
      eventsSinceSubscriptionStart: 12,
      events: [
        { eventNumber: 11, focus: { type: 'Observation', id: 'o1' }, resource: o1 },
        { eventNumber: 12, focus: { type: 'Observation', id: 'o2' }, resource: o2 },
      ],
    });
  });

  it('accepts numeric event numbers too, and R4B history bundles', () => {
    const n = parseTopicNotification(
      r5Bundle({
        bundleType: 'history',
        since: 3,
        events: [{ eventNumber: 3, focus: 'Observation/o1' }],
        resources: [observation('o1')],
      }),
    );
    expect(n.flavour).toBe('R5');
    expect(n.eventsSinceSubscriptionStart).toBe(3);
    expect(n.events[0]).toMatchObject({ eventNumber: 3, focus: { type: 'Observation', id: 'o1' } });
  });

  it('id-only: events carry only the focus reference', () => {
    const n = parseTopicNotification(
      r5Bundle({
        since: '2',
        events: [{ eventNumber: '2', focus: 'https://fhir.example.org/fhir/Observation/o7' }],
        idOnly: ['https://fhir.example.org/fhir/Observation/o7'],
      }),
    );
    expect(n.events).toEqual([{ eventNumber: 2, focus: { type: 'Observation', id: 'o7' } }]);
    expect(n.events[0]).not.toHaveProperty('resource');
  });

  it('no per-event focus: every resource entry becomes an event', () => {
    const o1 = observation('o1');
    const n = parseTopicNotification(r5Bundle({ since: '5', resources: [o1] }));
    expect(n.events).toEqual([{ focus: { type: 'Observation', id: 'o1' }, resource: o1 }]);
  });

  it('handshake and heartbeat carry no events', () => {
    const handshake = parseTopicNotification(r5Bundle({ type: 'handshake', since: '0' }));
    expect(handshake).toEqual({
      flavour: 'R5',
      subscription: 'https://fhir.example.org/fhir/Subscription/42',
      type: 'handshake',
      eventsSinceSubscriptionStart: 0,
      events: [],
    });
    const heartbeat = parseTopicNotification(r5Bundle({ type: 'heartbeat', since: '17' }));
    expect(heartbeat.type).toBe('heartbeat');
    expect(heartbeat.eventsSinceSubscriptionStart).toBe(17);
    expect(heartbeat.events).toEqual([]);
  });

  it('an absent eventsSinceSubscriptionStart stays undefined', () => {
    expect(
      parseTopicNotification(r5Bundle({ type: 'heartbeat' })).eventsSinceSubscriptionStart,
    ).toBeUndefined();
  });
});

describe('[REQ-FHIR-U-05] R4 Subscriptions Backport (Parameters status) notifications', () => {
  it('full-resource: subscription, type, events-since-subscription-start, notification-event parts', () => {
    const o1 = observation('o1');
    const n = parseTopicNotification(
      backportBundle({
        since: '2',
        events: [{ eventNumber: '2', focus: 'https://fhir.example.org/fhir/Observation/o1' }],
        resources: [o1],
      }),
    );
    expect(n).toEqual<TopicNotification>({
      flavour: 'R4-backport',
      subscription: 'https://fhir.example.org/fhir/Subscription/7',
      type: 'event-notification',
      eventsSinceSubscriptionStart: 2,
      events: [{ eventNumber: 2, focus: { type: 'Observation', id: 'o1' }, resource: o1 }],
    });
  });

  it('id-only: focus only', () => {
    const n = parseTopicNotification(
      backportBundle({
        since: '9',
        events: [
          { eventNumber: '8', focus: 'Observation/a' },
          { eventNumber: '9', focus: 'Patient/p1/_history/2' },
        ],
      }),
    );
    expect(n.events).toEqual([
      { eventNumber: 8, focus: { type: 'Observation', id: 'a' } },
      { eventNumber: 9, focus: { type: 'Patient', id: 'p1' } },
    ]);
  });

  it('handshake and heartbeat', () => {
    expect(parseTopicNotification(backportBundle({ type: 'handshake', since: '0' }))).toEqual({
      flavour: 'R4-backport',
      subscription: 'https://fhir.example.org/fhir/Subscription/7',
      type: 'handshake',
      eventsSinceSubscriptionStart: 0,
      events: [],
    });
    const heartbeat = parseTopicNotification(backportBundle({ type: 'heartbeat', since: '4' }));
    expect(heartbeat).toMatchObject({ type: 'heartbeat', eventsSinceSubscriptionStart: 4 });
    expect(heartbeat.events).toEqual([]);
  });

  it('refuses a status Parameters without a parameter array', () => {
    const bundle = backportBundle();
    delete (bundle.entry[0]!.resource as { parameter?: unknown }).parameter;
    expect(refusal(() => parseTopicNotification(bundle)).message).toBe(
      'subscription status Parameters has no parameter array',
    );
  });

  it('refuses an unknown or missing type', () => {
    expect(
      refusal(() => parseTopicNotification(backportBundle({ type: 'event' }))).message,
    ).toMatch(/notification type "event" is not one of handshake, heartbeat, event-notification/);
    const bundle = backportBundle();
    const params = bundle.entry[0]!.resource as { parameter: { name: string }[] };
    params.parameter = params.parameter.filter((p) => p.name !== 'type');
    expect(refusal(() => parseTopicNotification(bundle)).message).toMatch(
      /^notification type undefined is not one of/,
    );
  });

  it('refuses a bad event number', () => {
    expect(
      refusal(() =>
        parseTopicNotification(
          backportBundle({ events: [{ eventNumber: 'two', focus: 'Observation/o1' }] }),
        ),
      ).message,
    ).toBe(`notification event 1's event number is not a non-negative integer ("two")`);
  });
});

describe('[REQ-FHIR-U-06] malformed notification bundles → NOTIFICATION_INVALID with the reason', () => {
  it('not a Bundle', () => {
    expect(refusal(() => parseTopicNotification(observation('o1'))).message).toBe(
      'expected a notification Bundle, got Observation',
    );
  });

  it.each([['searchset'], ['transaction'], [undefined]])('Bundle.type %p', (type) => {
    const bundle = { ...r5Bundle(), type };
    expect(refusal(() => parseTopicNotification(bundle)).message).toBe(
      `a notification Bundle has type history (R4/R4B) or subscription-notification (R5), not ${JSON.stringify(type)}`,
    );
  });

  it.each([
    ['no entry array', undefined],
    ['an empty entry array', []],
    ['an entry object', {}],
  ])('%s', (_what, entry) => {
    const bundle = { ...r5Bundle(), entry };
    expect(refusal(() => parseTopicNotification(bundle)).message).toBe(
      'the notification Bundle has no entries (the status comes first)',
    );
  });

  it('the first entry is not a status', () => {
    const bundle = r5Bundle({ resources: [observation('o1')] });
    bundle.entry.shift();
    expect(refusal(() => parseTopicNotification(bundle)).message).toBe(
      'the first entry is a Observation, not a SubscriptionStatus or a status Parameters',
    );
  });

  it('the first entry has no resource', () => {
    const bundle = { ...r5Bundle(), entry: [{ fullUrl: 'urn:uuid:x' }] };
    expect(refusal(() => parseTopicNotification(bundle)).message).toBe(
      'the first entry (subscription status) is not a FHIR resource (a JSON object)',
    );
  });

  it.each([
    ['a word', 'seven'],
    ['negative', '-1'],
    ['a fraction', '1.5'],
    ['a boolean', true],
  ])('an event number that is %s', (_what, eventNumber) => {
    const err = refusal(() =>
      parseTopicNotification(r5Bundle({ events: [{ eventNumber, focus: 'Observation/o1' }] })),
    );
    expect(err.message).toBe(
      `notification event 1's event number is not a non-negative integer (${JSON.stringify(eventNumber)})`,
    );
  });

  it('an eventsSinceSubscriptionStart that is not a count', () => {
    expect(refusal(() => parseTopicNotification(r5Bundle({ since: 'many' }))).message).toBe(
      'SubscriptionStatus.eventsSinceSubscriptionStart is not a non-negative integer ("many")',
    );
  });

  it('an unusable focus reference', () => {
    expect(
      refusal(() =>
        parseTopicNotification(r5Bundle({ events: [{ eventNumber: '1', focus: '#contained' }] })),
      ).message,
    ).toBe('notification event 1 has an unusable focus reference');
  });

  it('notificationEvent that is not an array', () => {
    const bundle = r5Bundle();
    (bundle.entry[0] as { resource: Record<string, unknown> }).resource.notificationEvent = {
      eventNumber: '1',
    };
    expect(refusal(() => parseTopicNotification(bundle)).message).toBe(
      'SubscriptionStatus.notificationEvent is not an array',
    );
  });

  it('a later entry that is not a resource names the entry', () => {
    const bundle = r5Bundle({ events: [{ eventNumber: '1', focus: 'Observation/o1' }] });
    (bundle.entry as unknown[]).push({ resource: { resourceType: 'observation', id: 'o1' } });
    expect(refusal(() => parseTopicNotification(bundle)).message).toBe(
      'entry 1 has no valid resourceType',
    );
  });
});

describe('[REQ-FHIR-U-07] EventNumberTracker: notifications that never arrived', () => {
  const sub = 'Subscription/42';
  const event = (...numbers: number[]): TopicNotification => ({
    flavour: 'R5',
    subscription: sub,
    type: 'event-notification',
    eventsSinceSubscriptionStart: Math.max(...numbers),
    events: numbers.map((eventNumber) => ({
      eventNumber,
      focus: { type: 'Observation', id: `o${eventNumber}` },
    })),
  });
  const status = (
    type: 'handshake' | 'heartbeat',
    eventsSinceSubscriptionStart?: number,
    subscription = sub,
  ): TopicNotification => ({
    flavour: 'R5',
    subscription,
    type,
    ...(eventsSinceSubscriptionStart !== undefined ? { eventsSinceSubscriptionStart } : {}),
    events: [],
  });

  it('the handshake sets the baseline; consecutive events reveal no gap', () => {
    const t = new EventNumberTracker();
    expect(t.observe(status('handshake', 0))).toBeUndefined();
    expect(t.observe(event(1))).toBeUndefined();
    expect(t.observe(event(2, 3))).toBeUndefined();
    expect(t.observe(event(4))).toBeUndefined();
  });

  it('a handshake without a count starts at 0, so event 2 first reveals event 1 missing', () => {
    const t = new EventNumberTracker();
    t.observe(status('handshake'));
    expect(t.observe(event(2))).toEqual({ from: 1, to: 1 });
  });

  it('a handshake after earlier events (re-activation) sets the baseline to its count', () => {
    const t = new EventNumberTracker();
    expect(t.observe(status('handshake', 10))).toBeUndefined();
    expect(t.observe(event(11))).toBeUndefined();
    expect(t.observe(event(14))).toEqual({ from: 12, to: 13 });
  });

  it('skipped numbers → the gap {from, to}, reported once', () => {
    const t = new EventNumberTracker();
    t.observe(status('handshake', 0));
    t.observe(event(1));
    expect(t.observe(event(5, 6))).toEqual({ from: 2, to: 4 });
    expect(t.observe(event(7))).toBeUndefined();
    // the missing events arriving late (e.g. resent) reveal nothing new and do not rewind
    expect(t.observe(event(2, 3, 4))).toBeUndefined();
    expect(t.observe(event(8))).toBeUndefined();
    expect(t.observe(status('heartbeat', 8))).toBeUndefined();
  });

  it('unordered event numbers: the lowest decides the gap, the highest the new position', () => {
    const t = new EventNumberTracker();
    t.observe(status('handshake', 0));
    expect(t.observe(event(4, 3))).toEqual({ from: 1, to: 2 });
    expect(t.observe(event(5))).toBeUndefined();
  });

  it('a heartbeat whose count is ahead → gap up to the count, reported once', () => {
    const t = new EventNumberTracker();
    t.observe(status('handshake', 0));
    t.observe(event(1));
    expect(t.observe(status('heartbeat', 1))).toBeUndefined();
    expect(t.observe(status('heartbeat', 3))).toEqual({ from: 2, to: 3 });
    expect(t.observe(status('heartbeat', 3))).toBeUndefined();
    expect(t.observe(event(4))).toBeUndefined();
  });

  it('a heartbeat behind what was received, or without a count, reveals nothing', () => {
    const t = new EventNumberTracker();
    t.observe(status('handshake', 0));
    t.observe(event(1, 2, 3));
    expect(t.observe(status('heartbeat', 2))).toBeUndefined();
    expect(t.observe(status('heartbeat'))).toBeUndefined();
    expect(t.observe(event(4))).toBeUndefined();
  });

  it('without a handshake the first notification only sets the position', () => {
    const t = new EventNumberTracker();
    expect(t.observe(event(57))).toBeUndefined();
    expect(t.observe(event(58))).toBeUndefined();
    const u = new EventNumberTracker();
    expect(u.observe(status('heartbeat', 9))).toBeUndefined();
    expect(u.observe(event(10))).toBeUndefined();
  });

  it('keeps each subscription apart', () => {
    const t = new EventNumberTracker();
    t.observe(status('handshake', 0));
    t.observe(status('handshake', 0, 'Subscription/other'));
    t.observe(event(1));
    expect(t.observe(status('heartbeat', 1, 'Subscription/other'))).toEqual({ from: 1, to: 1 });
    expect(t.observe(event(2))).toBeUndefined();
  });

  it('an event notification without event numbers: its count includes its own events', () => {
    // servers that send only eventsSinceSubscriptionStart (no notificationEvent): the count
    // covers the events in this notification, so consecutive notifications reveal no gap
    const countOnly = (since: number, ids: string[]): TopicNotification => ({
      flavour: 'R5',
      subscription: sub,
      type: 'event-notification',
      eventsSinceSubscriptionStart: since,
      events: ids.map((id) => ({ focus: { type: 'Observation', id } })),
    });
    const t = new EventNumberTracker();
    t.observe(status('handshake', 0));
    expect(t.observe(countOnly(1, ['a']))).toBeUndefined();
    expect(t.observe(countOnly(3, ['b', 'c']))).toBeUndefined();
    expect(t.observe(countOnly(6, ['f']))).toEqual({ from: 4, to: 5 });
    expect(t.observe(countOnly(7, ['g']))).toBeUndefined();
    // the same through the parser: full-resource entries, no notificationEvent
    const u = new EventNumberTracker();
    const parsed = (since: string, ...ids: string[]) =>
      parseTopicNotification(r5Bundle({ since, resources: ids.map((id) => observation(id)) }));
    u.observe(parseTopicNotification(r5Bundle({ type: 'handshake', since: '0' })));
    expect(u.observe(parsed('1', 'a'))).toBeUndefined();
    expect(u.observe(parsed('2', 'b'))).toBeUndefined();
    expect(u.observe(parsed('4', 'd'))).toEqual({ from: 3, to: 3 });
  });

  it('end to end with parsed backport notifications', () => {
    const t = new EventNumberTracker();
    const parsed = (o: BackportOptions) => parseTopicNotification(backportBundle(o));
    expect(t.observe(parsed({ type: 'handshake', since: '0' }))).toBeUndefined();
    expect(
      t.observe(parsed({ since: '1', events: [{ eventNumber: '1', focus: 'Observation/a' }] })),
    ).toBeUndefined();
    expect(
      t.observe(parsed({ since: '4', events: [{ eventNumber: '4', focus: 'Observation/d' }] })),
    ).toEqual({ from: 2, to: 3 });
    expect(t.observe(parsed({ type: 'heartbeat', since: '4' }))).toBeUndefined();
  });
});
