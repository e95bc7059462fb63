import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import {
  AVRO_CONTENT_TYPE,
  AvroSerde,
  HEADER_CONTENT_TYPE,
  HEADER_FINGERPRINT,
  HEADER_SCHEMA_NAME,
} from '../../../../engine/avro/serde';
import { EngineError } from '../../../../engine/errors';

const ROOT = join(__dirname, '..', '..', '..', '..');
const SCHEMAS = join(ROOT, 'schemas');
const FIXTURE_SCHEMAS = join(ROOT, 'tests', 'fixtures', 'schemas');

// Typed as plain strings: these tests check the run-time validation, wrong values included.
const RISK: string = 'io.medstream.results.v1.RiskResult';
const VITALS: string = 'io.medstream.ingest.v1.VitalSignsSubmitted';
const DLQ: string = 'io.medstream.dlq.v1.DeadLetter';

const riskV1Json = readFileSync(join(SCHEMAS, 'risk-result.v1.avsc'), 'utf8');
const riskV11Json = readFileSync(join(FIXTURE_SCHEMAS, 'risk-result.v1_1.avsc'), 'utf8');

function catchEngineError(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EngineError);
    return err as EngineError;
  }
  throw new Error('expected an EngineError, nothing was thrown');
}

const riskResult = {
  resultId: 'r-1',
  kind: 'news2',
  patientId: 'P-001',
  model: 'news2@rcp-2017',
  observedAt: 1_700_000_000_000,
  computedAt: 1_700_000_002_000,
  score: 7,
  band: 'high',
  news2: {
    total: 7,
    band: 'high',
    anySingleParameterThree: true,
    spo2Scale: 1,
    subscores: {
      respiratoryRate: 3,
      spo2: 0,
      supplementalOxygen: 2,
      systolicBp: 0,
      pulse: 1,
      consciousness: 0,
      temperature: 1,
    },
  },
  inputsUsed: { respiratoryRate: 25, spo2: 97, temperature: 38.5 },
  missingInputs: ['pulse'],
  imputedInputs: ['consciousness: scored as Alert'],
  sourceIds: ['r-1'],
  syntheticModel: false,
};

const vitals = {
  id: 'v-1',
  patientId: 'P-001',
  observedAt: 1_700_000_000_000,
  receivedAt: 1_700_000_000_500,
  respiratoryRate: 18.5,
  spo2: 96,
  spo2Scale: 2,
  supplementalOxygen: true,
  systolicBp: 121,
  pulse: 72,
  consciousness: 'V',
  temperature: 36.6,
  source: 'http',
};

const deadLetter = {
  originalTopic: 'medstream.ingest.vitals.v1',
  originalPartition: 3,
  originalOffset: '9007199254740993',
  originalKey: Buffer.from('P-001'),
  originalValue: Buffer.from([0, 1, 2, 255]),
  originalHeaders: { 'correlation-id': 'c-1' },
  errorCode: 'DECODE_FAILED',
  errorMessage: 'bad bytes',
  component: 'icu-risk',
  attempts: 1,
  failedAt: 1_700_000_000_000,
};

describe('[REQ-AVRO-01] every schema in schemas/ round-trips', () => {
  const serde = AvroSerde.fromFolders([SCHEMAS]);

  it('knows the three records of the topic table', () => {
    expect(serde.has(RISK)).toBe(true);
    expect(serde.has(VITALS)).toBe(true);
    expect(serde.has(DLQ)).toBe(true);
    expect(serde.has('io.medstream.Nope')).toBe(false);
  });

  it.each([
    [RISK, riskResult],
    [RISK, { ...riskResult, news2: null, missingInputs: [], sourceIds: [], inputsUsed: {} }],
    [VITALS, vitals],
    [DLQ, deadLetter],
    [DLQ, { ...deadLetter, originalKey: null, originalValue: null, originalHeaders: {} }],
  ])('%s round-trips', (name, value) => {
    const encoded = serde.encode(name, value);
    expect(Buffer.isBuffer(encoded.value)).toBe(true);
    expect(serde.decode(name, encoded.value, encoded.headers)).toEqual(value);
    // without headers the reader's own schema is assumed
    expect(serde.decode(name, encoded.value)).toEqual(value);
  });

  it('fills schema defaults the value leaves out', () => {
    const { source: _source, ...withoutSource } = vitals;
    const encoded = serde.encode(VITALS, withoutSource);
    expect(serde.decode(VITALS, encoded.value, encoded.headers)).toEqual(vitals);
  });

  it('headers carry the content type, schema name and SHA-256 fingerprint of the canonical form', () => {
    const encoded = serde.encode(RISK, riskResult);
    // Parsing Canonical Form, as avsc writes it (full names, no docs, defaults or logical types)
    const canonical = JSON.stringify(avro.Type.forSchema(JSON.parse(riskV1Json)).schema());
    expect(canonical).not.toContain('default');
    expect(canonical).not.toContain('logicalType');
    expect(
      canonical.startsWith(
        '{"name":"io.medstream.results.v1.RiskResult","type":"record","fields":[{"name":"resultId","type":"string"}',
      ),
    ).toBe(true);
    const expected = createHash('sha256').update(canonical).digest('hex');
    expect(encoded.headers).toEqual({
      [HEADER_CONTENT_TYPE]: AVRO_CONTENT_TYPE,
      [HEADER_FINGERPRINT]: expected,
      [HEADER_SCHEMA_NAME]: RISK,
    });
    expect(HEADER_CONTENT_TYPE).toBe('content-type');
    expect(AVRO_CONTENT_TYPE).toBe('avro/binary');
    expect(HEADER_FINGERPRINT).toBe('medstream-schema-fingerprint');
    expect(serde.fingerprintOf(RISK)).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives different records different fingerprints', () => {
    expect(
      new Set([serde.fingerprintOf(RISK), serde.fingerprintOf(VITALS), serde.fingerprintOf(DLQ)])
        .size,
    ).toBe(3);
  });
});

describe('[REQ-AVRO-02] encoding a value that does not fit the schema', () => {
  const serde = AvroSerde.fromFolders([SCHEMAS]);

  it('throws SCHEMA_MISMATCH naming the offending field', () => {
    const err = catchEngineError(() => serde.encode(RISK, { ...riskResult, score: 'high' }));
    expect(err.code).toBe('SCHEMA_MISMATCH');
    expect(err.retriable).toBe(false);
    expect(err.message).toContain('invalid score');
    expect(err.details).toEqual({ fields: ['score'] });
  });

  it('names every offending field, nested ones by dotted path', () => {
    const err = catchEngineError(() =>
      serde.encode(VITALS, { ...vitals, consciousness: 'X', pulse: undefined, observedAt: 1.5 }),
    );
    expect(err.code).toBe('SCHEMA_MISMATCH');
    expect((err.details as { fields: string[] }).fields.sort()).toEqual([
      'consciousness',
      'observedAt',
      'pulse',
    ]);
  });

  it('refuses a non-finite or fractional timestamp, naming the field', () => {
    for (const observedAt of [Number.NaN, Number.POSITIVE_INFINITY, 1.5]) {
      const err = catchEngineError(() => serde.encode(VITALS, { ...vitals, observedAt }));
      expect(err.code).toBe('SCHEMA_MISMATCH');
      expect(err.details).toEqual({ fields: ['observedAt'] });
    }
  });

  it('names a missing required field', () => {
    const { resultId: _resultId, ...withoutId } = riskResult;
    const err = catchEngineError(() => serde.encode(RISK, withoutId));
    expect(err.details).toEqual({ fields: ['resultId'] });
  });

  it('throws SCHEMA_UNKNOWN for a record name it does not know', () => {
    const err = catchEngineError(() => serde.encode('io.medstream.Nope', {}));
    expect(err.code).toBe('SCHEMA_UNKNOWN');
    expect(err.message).toContain('io.medstream.Nope');
  });

  it('refuses to register a schema that is not a named record', () => {
    const err = catchEngineError(() => new AvroSerde().register('"string"', 'plain.avsc'));
    expect(err.code).toBe('SCHEMA_MISMATCH');
    expect(err.message).toContain('plain.avsc');
  });
});

describe('[REQ-AVRO-03] schema evolution within a major version', () => {
  const explained = { ...riskResult, explanation: 'RR ≥ 25 and on oxygen' };

  it('a v1 reader reads a v1.1 record: v1 fields intact, the added field dropped', () => {
    const writer = new AvroSerde();
    writer.register(riskV1Json);
    writer.register(riskV11Json); // current: v1.1
    const encoded = writer.encode(RISK, explained);

    const reader = new AvroSerde();
    reader.register(riskV11Json); // known writer schema only
    reader.register(riskV1Json); // current: v1
    expect(reader.fingerprintOf(RISK)).not.toBe(writer.fingerprintOf(RISK));
    expect(encoded.headers[HEADER_FINGERPRINT]).toBe(writer.fingerprintOf(RISK));

    const decoded = reader.decode(RISK, encoded.value, encoded.headers);
    expect(decoded).toEqual(riskResult);
    expect(decoded).not.toHaveProperty('explanation');
    // the resolver is cached: a second decode gives the same answer
    expect(reader.decode(RISK, encoded.value, encoded.headers)).toEqual(riskResult);
  });

  it('a v1.1 reader reads a v1 record and gets the default of the added field', () => {
    const writer = new AvroSerde();
    writer.register(riskV1Json);
    const encoded = writer.encode(RISK, riskResult);

    const reader = new AvroSerde();
    reader.register(riskV1Json);
    reader.register(riskV11Json); // current: v1.1
    expect(reader.decode(RISK, encoded.value, encoded.headers)).toEqual({
      ...riskResult,
      explanation: '',
    });
  });

  it('fromFolders makes the last file of a record name (by folder, then file name) current', () => {
    const serde = AvroSerde.fromFolders([SCHEMAS, FIXTURE_SCHEMAS]);
    const v11 = new AvroSerde();
    v11.register(riskV11Json);
    expect(serde.fingerprintOf(RISK)).toBe(v11.fingerprintOf(RISK));
    const encoded = serde.encode(RISK, explained);
    expect(serde.decode(RISK, encoded.value, encoded.headers)).toEqual(explained);
  });

  it('a v1 reader without the v1.1 schema rejects the record as SCHEMA_UNKNOWN', () => {
    const writer = new AvroSerde();
    writer.register(riskV11Json);
    const encoded = writer.encode(RISK, explained);
    const reader = AvroSerde.fromFolders([SCHEMAS]);
    const err = catchEngineError(() => reader.decode(RISK, encoded.value, encoded.headers));
    expect(err.code).toBe('SCHEMA_UNKNOWN');
    expect(err.retriable).toBe(false);
    expect(err.message).toContain(encoded.headers[HEADER_FINGERPRINT]!.slice(0, 16));
    expect(err.message).toContain(RISK);
  });

  it('a known writer schema that cannot be resolved to the reader is SCHEMA_MISMATCH', () => {
    const incompatible = JSON.parse(riskV1Json) as { fields: { name: string; type: unknown }[] };
    incompatible.fields = incompatible.fields.map((f) =>
      f.name === 'score' ? { ...f, type: 'string' } : f,
    );
    const writer = new AvroSerde();
    writer.register(incompatible);
    const encoded = writer.encode(RISK, { ...riskResult, score: 'seven' });

    const reader = new AvroSerde();
    reader.register(incompatible);
    reader.register(riskV1Json);
    const err = catchEngineError(() => reader.decode(RISK, encoded.value, encoded.headers));
    expect(err.code).toBe('SCHEMA_MISMATCH');
  });
});

describe('[REQ-AVRO-04] decoding failures', () => {
  const serde = AvroSerde.fromFolders([SCHEMAS]);

  it('an unknown fingerprint is SCHEMA_UNKNOWN', () => {
    const encoded = serde.encode(RISK, riskResult);
    const err = catchEngineError(() =>
      serde.decode(RISK, encoded.value, {
        ...encoded.headers,
        [HEADER_FINGERPRINT]: 'ab'.repeat(32),
      }),
    );
    expect(err.code).toBe('SCHEMA_UNKNOWN');
    expect(err.message).toContain('abababababababab');
  });

  it('a fingerprint of another record is not silently accepted', () => {
    const encoded = serde.encode(VITALS, vitals);
    const err = catchEngineError(() => serde.decode(RISK, encoded.value, encoded.headers));
    expect(err.code).toBe('SCHEMA_MISMATCH');
    expect(err.message).toContain(VITALS.split('.').pop()!);
  });

  it('garbage bytes with the right fingerprint are DECODE_FAILED', () => {
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    const err = catchEngineError(() =>
      serde.decode(RISK, garbage, { [HEADER_FINGERPRINT]: serde.fingerprintOf(RISK) }),
    );
    expect(err.code).toBe('DECODE_FAILED');
    expect(err.retriable).toBe(false);
  });

  it('a truncated record is DECODE_FAILED', () => {
    const encoded = serde.encode(RISK, riskResult);
    const err = catchEngineError(() =>
      serde.decode(RISK, encoded.value.subarray(0, encoded.value.length - 3), encoded.headers),
    );
    expect(err.code).toBe('DECODE_FAILED');
  });

  it('trailing bytes after a record are DECODE_FAILED', () => {
    const encoded = serde.encode(RISK, riskResult);
    const err = catchEngineError(() =>
      serde.decode(RISK, Buffer.concat([encoded.value, Buffer.from([0])]), encoded.headers),
    );
    expect(err.code).toBe('DECODE_FAILED');
  });

  it('garbage bytes from a known older writer schema are DECODE_FAILED', () => {
    const reader = new AvroSerde();
    reader.register(riskV11Json);
    reader.register(riskV1Json);
    const v11 = new AvroSerde();
    v11.register(riskV11Json);
    const err = catchEngineError(() =>
      reader.decode(RISK, Buffer.from([0xff, 0xff, 0xff, 0xff]), {
        [HEADER_FINGERPRINT]: v11.fingerprintOf(RISK),
      }),
    );
    expect(err.code).toBe('DECODE_FAILED');
  });

  it('a null value is DECODE_FAILED', () => {
    const err = catchEngineError(() => serde.decode(RISK, null, {}));
    expect(err.code).toBe('DECODE_FAILED');
    expect(err.message).toContain(RISK);
  });

  it('decoding a record name it does not know is SCHEMA_UNKNOWN', () => {
    const err = catchEngineError(() => serde.decode('io.medstream.Nope', Buffer.from([0])));
    expect(err.code).toBe('SCHEMA_UNKNOWN');
  });
});
