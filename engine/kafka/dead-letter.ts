import type { KafkaMessage } from 'kafkajs';
import type { EngineError } from '../errors';
import { headersToStrings } from './headers';
import type { OutgoingRecord } from './producer';
import type { DeadLetter } from '../../schemas/records';
import { TOPICS } from './topics';

/**
 * The DLQ record for a message a component could not process: the original bytes and headers
 * untouched (so `medstream dlq replay` can re-publish them), plus the reason. Keyed by the original
 * key so a replay lands on the same partition as the record's siblings.
 */
export function deadLetterFor(
  source: { topic: string; partition: number; message: KafkaMessage },
  error: EngineError,
  component: string,
  attempts: number,
  now = Date.now(),
): OutgoingRecord {
  const { message } = source;
  const originalHeaders = headersToStrings(message.headers);
  const value: DeadLetter = {
    originalTopic: source.topic,
    originalPartition: source.partition,
    originalOffset: message.offset,
    originalKey: message.key ?? null,
    originalValue: message.value ?? null,
    originalHeaders,
    errorCode: error.code,
    errorMessage: error.message.slice(0, 4000),
    component,
    attempts,
    failedAt: now,
  };
  const headers: Record<string, string> = {};
  for (const name of ['correlation-id', 'traceparent']) {
    const v = originalHeaders[name];
    if (v) headers[name] = v;
  }
  return {
    topic: TOPICS.dlq,
    key: message.key ? message.key.toString('utf8') : null,
    value,
    headers,
  };
}
