import { join } from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { AvroSerde } from '../../../../engine/avro/serde';
import { EngineError } from '../../../../engine/errors';
import { deadLetterFor } from '../../../../engine/kafka/dead-letter';
import type { DeadLetter } from '../../../../schemas/records';
import { RECORDS, TOPICS, TOPIC_RECORDS } from '../../../../engine/kafka/topics';

const FAILED_AT = 1_700_000_000_000;

function message(overrides: Partial<KafkaMessage> = {}): KafkaMessage {
  return {
    key: Buffer.from('P-001'),
    value: Buffer.from([0x00, 0x9f, 0xff, 0x10]),
    timestamp: '1699999999000',
    attributes: 0,
    offset: '42',
    headers: {
      'correlation-id': Buffer.from('corr-123'),
      traceparent: Buffer.from('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'),
      'medstream-schema-fingerprint': Buffer.from('ab'.repeat(32)),
      'content-type': 'avro/binary',
      multi: [Buffer.from('first'), Buffer.from('second')],
    },
    ...overrides,
  } as KafkaMessage;
}

describe('[REQ-DLQ-01] deadLetterFor', () => {
  const error = new EngineError(
    'DECODE_FAILED',
    'cannot decode io.medstream.ingest.v1.VitalSignsSubmitted: truncated',
  );

  it('keeps the original bytes, headers, position and key, with the code and message', () => {
    const msg = message();
    const record = deadLetterFor(
      { topic: TOPICS.ingestVitals, partition: 3, message: msg },
      error,
      'icu-risk',
      4,
      FAILED_AT,
    );
    expect(record.topic).toBe('medstream.dlq.v1');
    expect(record.topic).toBe('medstream.dlq.v1');
    expect(TOPIC_RECORDS[record.topic]).toBe('io.medstream.dlq.v1.DeadLetter');
    expect(record.key).toBe('P-001');
    const value = record.value as DeadLetter;
    expect(value).toEqual({
      originalTopic: 'medstream.ingest.vitals.v1',
      originalPartition: 3,
      originalOffset: '42',
      originalKey: Buffer.from('P-001'),
      originalValue: Buffer.from([0x00, 0x9f, 0xff, 0x10]),
      originalHeaders: {
        'correlation-id': 'corr-123',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        'medstream-schema-fingerprint': 'ab'.repeat(32),
        'content-type': 'avro/binary',
        multi: 'first',
      },
      errorCode: 'DECODE_FAILED',
      errorMessage: 'cannot decode io.medstream.ingest.v1.VitalSignsSubmitted: truncated',
      component: 'icu-risk',
      attempts: 4,
      failedAt: FAILED_AT,
    });
    expect(value.originalValue!.equals(msg.value!)).toBe(true);
  });

  it('propagates correlation-id and traceparent, and only those, as record headers', () => {
    const record = deadLetterFor(
      { topic: 't', partition: 0, message: message() },
      error,
      'c',
      1,
      FAILED_AT,
    );
    expect(record.headers).toEqual({
      'correlation-id': 'corr-123',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
  });

  it('has no record headers when the original had none', () => {
    const record = deadLetterFor(
      { topic: 't', partition: 0, message: message({ headers: {} }) },
      error,
      'c',
      1,
      FAILED_AT,
    );
    expect(record.headers).toEqual({});
    expect((record.value as DeadLetter).originalHeaders).toEqual({});
  });

  it('keeps a null key and a null value (tombstone) as null', () => {
    const record = deadLetterFor(
      { topic: 't', partition: 1, message: message({ key: null, value: null }) },
      error,
      'c',
      1,
      FAILED_AT,
    );
    expect(record.key).toBeNull();
    expect((record.value as DeadLetter).originalKey).toBeNull();
    expect((record.value as DeadLetter).originalValue).toBeNull();
  });

  it('truncates an over-long error message to 4000 characters', () => {
    const long = new EngineError('PROCESSING_FAILED', 'x'.repeat(5000));
    const record = deadLetterFor(
      { topic: 't', partition: 0, message: message() },
      long,
      'c',
      1,
      FAILED_AT,
    );
    expect((record.value as DeadLetter).errorMessage).toBe('x'.repeat(4000));
  });

  it('defaults failedAt to now', () => {
    const before = Date.now();
    const record = deadLetterFor({ topic: 't', partition: 0, message: message() }, error, 'c', 1);
    const failedAt = (record.value as DeadLetter).failedAt;
    expect(failedAt).toBeGreaterThanOrEqual(before);
    expect(failedAt).toBeLessThanOrEqual(Date.now());
  });

  it('produces a value the DeadLetter schema encodes and decodes losslessly', () => {
    const serde = AvroSerde.fromFolders([join(__dirname, '..', '..', '..', '..', 'schemas')]);
    const record = deadLetterFor(
      { topic: TOPICS.ingestVitals, partition: 3, message: message() },
      error,
      'icu-risk',
      2,
      FAILED_AT,
    );
    expect(TOPIC_RECORDS[record.topic]).toBe(RECORDS.deadLetter);
    const encoded = serde.encode(RECORDS.deadLetter, record.value as DeadLetter);
    expect(serde.decode(RECORDS.deadLetter, encoded.value, encoded.headers)).toEqual(record.value);
  });
});
