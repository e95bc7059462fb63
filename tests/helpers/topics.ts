import { randomUUID } from 'node:crypto';
import type { TopicName, TopicValues } from '../../schemas/records';
import { headersToStrings } from '../../engine/kafka/headers';
import { readTopicToEnd } from '../../engine/kafka/read-to-end';
import { TOPICS, TOPIC_RECORDS } from '../../engine/kafka/topics';
import type { RunningEngine } from '../../engine/runtime';
import { waitFor } from './wait-for';

/**
 * Every record on one of the engine's topics so far, decoded. A fresh broker may answer "not
 * the coordinator" for a while: that is retried, not a failure.
 */
export function readRecords<T extends TopicName>(
  engine: RunningEngine,
  logicalTopic: T,
): Promise<Array<TopicValues[T]>> {
  return waitFor(
    async () => {
      const records: Array<TopicValues[T]> = [];
      await readTopicToEnd(
        engine.kafka,
        engine.topics.physical(logicalTopic),
        `read-${randomUUID()}`,
        async (_p, m) => {
          records.push(
            engine.serde.decode<string, TopicValues[T]>(
              TOPIC_RECORDS[logicalTopic],
              m.value,
              headersToStrings(m.headers),
            ),
          );
        },
        { throwaway: true },
      );
      return records;
    },
    { timeoutMs: 30000, intervalMs: 500, what: `the topic ${logicalTopic}` },
  );
}

/** Every dead letter on the engine's DLQ so far. */
export const deadLetters = (engine: RunningEngine) => readRecords(engine, TOPICS.dlq);
