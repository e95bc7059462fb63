import type { Component } from '../../engine/contracts';
import { EngineError } from '../../engine/errors';
import { RECORDS, TOPICS } from '../../engine/kafka/topics';
import { type VitalSignsSubmitted, vitalsToRiskResult } from './vitals-to-risk-result';

interface IcuRiskConfig {
  partitionsConsumedConcurrently: number;
}

/**
 * processors/icu-risk — scores every vitals submission with NEWS2 (RCP 2017) and publishes a
 * RiskResult keyed by patient. Stateless today, so any replica can take any partition.
 */
export const icuRiskProcessor: Component<IcuRiskConfig> = {
  name: 'icu-risk',
  role: 'process',
  description: 'NEWS2 early-warning score for each vitals submission',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      partitionsConsumedConcurrently: {
        type: 'integer',
        minimum: 1,
        default: 4,
        description: 'Partitions this replica works on at once.',
      },
    },
  },
  create(config, ctx) {
    const consumer = ctx.createConsumer({
      topics: { [TOPICS.ingestVitals]: RECORDS.vitalSignsSubmitted },
      partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
      handle: async (record) => {
        const vitals = record.value as unknown as VitalSignsSubmitted;
        let result;
        try {
          result = vitalsToRiskResult(vitals, Date.now());
        } catch (err) {
          throw new EngineError('VALIDATION_FAILED', (err as Error).message, { cause: err });
        }
        return [
          {
            topic: TOPICS.resultsRisk,
            key: vitals.patientId,
            schema: RECORDS.riskResult,
            value: result,
            headers: {
              'correlation-id': record.headers['correlation-id'] ?? vitals.id,
              ...(record.headers.traceparent ? { traceparent: record.headers.traceparent } : {}),
            },
          },
        ];
      },
    });
    return { start: () => consumer.start(), stop: () => consumer.stop() };
  },
};
