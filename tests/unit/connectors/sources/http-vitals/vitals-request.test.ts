import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { join } from 'node:path';
import { AvroSerde } from '../../../../../engine/avro/serde';
import { HttpProblem } from '../../../../../engine/http/problem';
import { fieldProblems } from '../../../../../engine/http/server';
import { RECORDS } from '../../../../../engine/kafka/topics';
import {
  MAX_CLOCK_SKEW_MS,
  type VitalsRequest,
  vitalsRequestSchema,
  vitalsRequestToEvent,
} from '../../../../../connectors/sources/http-vitals/vitals-request';

// The same validator settings the HTTP server uses for bodies (engine/http/server.ts).
const ajv = new Ajv({
  allErrors: true,
  coerceTypes: false,
  removeAdditional: false,
  useDefaults: false,
  strict: false,
});
addFormats(ajv);
const validate = ajv.compile(vitalsRequestSchema);

const valid: VitalsRequest = {
  patientId: 'MRN-0001',
  observedAt: '2024-03-01T10:00:00Z',
  respiratoryRate: 18,
  spo2: 97,
  spo2Scale: 1,
  supplementalOxygen: false,
  systolicBp: 120,
  pulse: 72,
  consciousness: 'A',
  temperature: 37.1,
};

/** Field names the server would report for this body (empty when it is valid). */
function problemsOf(body: unknown): string[] {
  return validate(body)
    ? []
    : fieldProblems(validate.errors ?? [])
        .map((p) => p.field)
        .sort();
}

describe('[REQ-VITALS-01] request schema', () => {
  it('accepts a complete, plausible request', () => {
    expect(problemsOf(valid)).toEqual([]);
  });

  it('names every missing field', () => {
    expect(problemsOf({})).toEqual(
      [
        'consciousness',
        'observedAt',
        'patientId',
        'pulse',
        'respiratoryRate',
        'spo2',
        'spo2Scale',
        'supplementalOxygen',
        'systolicBp',
        'temperature',
      ].sort(),
    );
  });

  it('rejects unknown fields', () => {
    expect(problemsOf({ ...valid, heartRate: 70 })).toEqual(['heartRate']);
  });

  it.each([
    ['respiratoryRate', 0, 80],
    ['spo2', 50, 100],
    ['systolicBp', 40, 300],
    ['pulse', 20, 300],
    ['temperature', 25, 45],
  ] as const)('%s accepts %p..%p inclusive and refuses just outside', (field, min, max) => {
    expect(problemsOf({ ...valid, [field]: min })).toEqual([]);
    expect(problemsOf({ ...valid, [field]: max })).toEqual([]);
    expect(problemsOf({ ...valid, [field]: min - 0.1 })).toEqual([field]);
    expect(problemsOf({ ...valid, [field]: max + 0.1 })).toEqual([field]);
  });

  it.each([
    ['spo2Scale', 3],
    ['spo2Scale', 1.5],
    ['spo2Scale', '1'],
    ['consciousness', 'a'],
    ['consciousness', 'X'],
    ['supplementalOxygen', 'true'],
    ['supplementalOxygen', 1],
    ['pulse', '72'],
    ['observedAt', '2024-03-01'],
    ['observedAt', '2024-03-01T10:00:00'],
    ['observedAt', 1709287200000],
    ['patientId', ''],
    ['patientId', '-starts-with-dash'],
    ['patientId', 'has space'],
    ['patientId', 'x'.repeat(65)],
  ])('refuses %s = %p', (field, value) => {
    expect(problemsOf({ ...valid, [field]: value })).toContain(field);
  });

  it.each(['P1', 'urn:oid:1.2.3/45', 'a.b_c-d', 'x'.repeat(64)])(
    'accepts patientId %p',
    (patientId) => {
      expect(problemsOf({ ...valid, patientId })).toEqual([]);
    },
  );

  it.each([1, 2])('accepts spo2Scale %p', (spo2Scale) => {
    expect(problemsOf({ ...valid, spo2Scale })).toEqual([]);
  });
});

describe('[REQ-VITALS-02] vitalsRequestToEvent', () => {
  const receivedAt = Date.parse('2024-03-01T10:00:05Z');

  it('maps a request to a VitalSignsSubmitted record', () => {
    expect(vitalsRequestToEvent(valid, 'id-1', receivedAt)).toEqual({
      id: 'id-1',
      patientId: 'MRN-0001',
      observedAt: Date.parse('2024-03-01T10:00:00Z'),
      receivedAt,
      respiratoryRate: 18,
      spo2: 97,
      spo2Scale: 1,
      supplementalOxygen: false,
      systolicBp: 120,
      pulse: 72,
      consciousness: 'A',
      temperature: 37.1,
      source: 'http',
    });
  });

  it('honours the time-zone offset of observedAt', () => {
    const event = vitalsRequestToEvent(
      { ...valid, observedAt: '2024-03-01T11:00:00+01:00' },
      'id',
      receivedAt,
    );
    expect(event.observedAt).toBe(Date.parse('2024-03-01T10:00:00Z'));
  });

  it('produces a record the VitalSignsSubmitted schema accepts', () => {
    const serde = AvroSerde.fromFolders([join(__dirname, '..', '..', '..', '..', '..', 'schemas')]);
    const event = vitalsRequestToEvent(valid, 'id-2', receivedAt);
    const encoded = serde.encode(RECORDS.vitalSignsSubmitted, event);
    expect(serde.decode(RECORDS.vitalSignsSubmitted, encoded.value, encoded.headers)).toEqual(
      event,
    );
  });

  it('allows observations up to 5 minutes in the future (clock skew)', () => {
    expect(MAX_CLOCK_SKEW_MS).toBe(300_000);
    const atLimit = new Date(receivedAt + MAX_CLOCK_SKEW_MS).toISOString();
    expect(
      vitalsRequestToEvent({ ...valid, observedAt: atLimit }, 'id', receivedAt).observedAt,
    ).toBe(receivedAt + MAX_CLOCK_SKEW_MS);
  });

  it('refuses an observation more than 5 minutes in the future with a 422 naming observedAt', () => {
    const tooLate = new Date(receivedAt + MAX_CLOCK_SKEW_MS + 1).toISOString();
    let thrown: unknown;
    try {
      vitalsRequestToEvent({ ...valid, observedAt: tooLate }, 'id', receivedAt);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(HttpProblem);
    const problem = thrown as HttpProblem;
    expect(problem.status).toBe(422);
    expect(problem.problemType).toBe('validation-failed');
    expect(problem.errors).toEqual([{ field: 'observedAt', message: 'must not be in the future' }]);
  });

  it('accepts observations in the past', () => {
    const event = vitalsRequestToEvent(
      { ...valid, observedAt: '2000-01-01T00:00:00Z' },
      'id',
      receivedAt,
    );
    expect(event.observedAt).toBe(946684800000);
  });

  // ajv-formats accepts a leap second ("…T23:59:60Z") as a valid date-time, but JavaScript
  // dates cannot represent it: the request must be refused as 422 naming observedAt, not a 500.
  it('a schema-valid leap-second observedAt is refused with 422 naming observedAt', () => {
    const body = { ...valid, observedAt: '2016-12-31T23:59:60Z' };
    expect(problemsOf(body)).toEqual([]); // the request schema lets it through
    let thrown: unknown;
    try {
      vitalsRequestToEvent(body, 'id', Date.parse('2017-01-01T00:00:05Z'));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(HttpProblem);
    expect((thrown as HttpProblem).status).toBe(422);
    expect((thrown as HttpProblem).errors).toEqual([
      { field: 'observedAt', message: 'must be a representable date-time' },
    ]);
  });
});
