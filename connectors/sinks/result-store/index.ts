import type { Component } from '../../../engine/contracts';
import { type RetryConfig, retryConfigSchema } from '../../../engine/config/retry';
import { TOPICS } from '../../../engine/kafka/topics';

interface ResultStoreSinkConfig {
  retry: RetryConfig;
  partitionsConsumedConcurrently: number;
}

/** Which result kind a dead-lettered ingest record would have produced. */
const KIND_BY_INGEST_TOPIC: Record<string, string> = {
  [TOPICS.ingestVitals]: 'news2',
  [TOPICS.ingestImage]: 'imaging',
  [TOPICS.ingestDicom]: 'imaging',
};

/**
 * connectors/sinks/result-store — writes results into the store the query API reads.
 * Idempotent: results are upserted by resultId (a redelivery changes nothing but the delivery
 * count). Dead letters of ingest records mark their submission `failed` with the reason, so a
 * client polling the result learns why instead of waiting forever.
 */
export const resultStoreSink: Component<ResultStoreSinkConfig> = {
  name: 'result-store',
  role: 'sink',
  description: 'Results and failures into PostgreSQL / embedded PGlite for the query API',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      retry: retryConfigSchema(),
      partitionsConsumedConcurrently: { type: 'integer', minimum: 1, default: 4 },
    },
  },
  create(config, ctx) {
    const consumer = ctx.createConsumer({
      retry: config.retry,
      topics: [TOPICS.resultsRisk, TOPICS.resultsImaging, TOPICS.dlq],
      partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
      handle: async (record) => {
        if (record.topic === TOPICS.dlq) {
          const letter = record.value;
          const id = letter.originalHeaders['correlation-id'];
          const kind = KIND_BY_INGEST_TOPIC[ctx.topics.logical(letter.originalTopic)];
          if (id && kind) {
            const fromDicom = ctx.topics.logical(letter.originalTopic) === TOPICS.ingestDicom;
            await ctx.store.markFailed({
              id,
              kind,
              // a DICOM event is keyed by its study: the failure is listed with the study's results
              subject: fromDicom ? (letter.originalKey?.toString('utf8') ?? null) : null,
              error: { code: letter.errorCode, message: letter.errorMessage },
            });
          }
          return [];
        }
        const result = record.value;
        await ctx.store.upsertDone({
          id: result.resultId,
          kind: result.kind,
          patientId: result.patientId,
          subject: 'subject' in result ? result.subject : null,
          model: result.model,
          payload: result,
        });
        return [];
      },
    });
    return { start: () => consumer.start(), stop: () => consumer.stop() };
  },
};
