import { randomUUID } from 'node:crypto';
import type { Component } from '../../engine/contracts';
import { EngineError } from '../../engine/errors';
import { TOPICS } from '../../engine/kafka/topics';
import { loadConfig } from '../../engine/config/load-config';
import { createLogger } from '../../engine/logger';
import { type RunningEngine, startEngine } from '../../engine/runtime';
import { vitalsToRiskResult } from '../../processors/icu-risk/vitals-to-risk-result';
import type { VitalSignsSubmitted } from '../../schemas/records';
import { createTestSettings, settingsToOverrides } from '../helpers/test-env';
import { waitFor } from '../helpers/wait-for';
import { readTopicToEnd } from '../../engine/kafka/read-to-end';
import { headersToStrings } from '../../engine/kafka/headers';
import { deadLetters } from '../helpers/topics';

/**
 * The engine's consume → handle → produce → commit loop, driven by a test processor on a real
 * broker: a retriable failure makes the partition wait and retry the same record (no skipping),
 * and an output Kafka refuses for good is dead-lettered instead of stalling the partition.
 */
describe('[REQ-GUAR-03] RecordConsumer retry and refusal semantics', () => {
  let engine: RunningEngine;
  let cleanup: () => Promise<void>;
  const attempts = new Map<string, number>();
  const handledOrder: string[] = [];

  const testProcessor: Component = {
    name: 'test-processor',
    role: 'process',
    description: 'fails on purpose',
    configSchema: { type: 'object', properties: {} },
    create(_config, ctx) {
      const consumer = ctx.createConsumer({
        topics: [TOPICS.ingestVitals],
        partitionsConsumedConcurrently: 1,
        handle: async (record) => {
          const vitals = record.value;
          const n = (attempts.get(vitals.id) ?? 0) + 1;
          attempts.set(vitals.id, n);
          if (vitals.patientId === 'flaky' && n < 3) {
            throw new EngineError('STORE_UNAVAILABLE', `attempt ${n} fails`, { retriable: true });
          }
          handledOrder.push(vitals.id);
          const result = vitalsToRiskResult(vitals, 0);
          // 2 MB of output: over the broker's message.max.bytes, refused for good.
          if (vitals.patientId === 'huge') result.missingInputs = ['x'.repeat(2_000_000)];
          return [
            {
              topic: TOPICS.resultsRisk,
              key: 'same',
              value: result,
              headers: { 'correlation-id': vitals.id },
            },
          ];
        },
      });
      return { start: () => consumer.start(), stop: () => consumer.stop() };
    },
  };

  beforeAll(async () => {
    const fixture = await createTestSettings('pglite', { kafka: { partitions: 1 } });
    cleanup = fixture.cleanup;
    const config = loadConfig({
      env: {},
      file: '/dev/null',
      componentSchemas: { 'test-processor': testProcessor.configSchema },
      overrides: settingsToOverrides(fixture.settings, { registry: false }),
    });
    engine = await startEngine({
      config,
      roles: ['process'],
      components: [testProcessor],
      logger: createLogger(config.log.level),
    });
  });

  afterAll(async () => {
    await engine?.stop();
    await cleanup?.();
  });

  it('waits on a retriable failure without skipping, and dead-letters an output Kafka refuses', async () => {
    const ids: { first: string; flaky: string; huge: string; last: string } = {
      first: randomUUID(),
      flaky: randomUUID(),
      huge: randomUUID(),
      last: randomUUID(),
    };
    const vitals = (id: string, patientId: string): VitalSignsSubmitted => ({
      id,
      patientId,
      observedAt: 0,
      receivedAt: 0,
      respiratoryRate: 16,
      spo2: 97,
      spo2Scale: 1,
      supplementalOxygen: false,
      systolicBp: 120,
      pulse: 70,
      consciousness: 'A',
      temperature: 37,
      source: 'test',
    });
    await engine.producer.send(
      [
        ['first', ids.first],
        ['flaky', ids.flaky],
        ['huge', ids.huge],
        ['last', ids.last],
      ].map(([patient, id]) => ({
        topic: TOPICS.ingestVitals,
        key: 'same',
        value: vitals(id!, patient!),
        headers: { 'correlation-id': id! },
      })),
      'test',
    );

    const results: string[] = [];
    await waitFor(
      async () => {
        results.length = 0;
        await readTopicToEnd(
          engine.kafka,
          engine.topics.physical(TOPICS.resultsRisk),
          `read-${randomUUID()}`,
          async (_p, m) => {
            results.push(headersToStrings(m.headers)['correlation-id']!);
          },
          { throwaway: true },
        );
        return results.includes(ids.last);
      },
      { timeoutMs: 60000, intervalMs: 500, what: 'the last record to be processed' },
    );

    // Order kept: the flaky record was retried in place (3 attempts) before the ones after it.
    expect(attempts.get(ids.flaky)).toBe(3);
    expect(handledOrder.filter((id) => Object.values(ids).includes(id))).toEqual(
      expect.arrayContaining([ids.first, ids.flaky, ids.huge, ids.last]),
    );
    expect(handledOrder.indexOf(ids.flaky)).toBeLessThan(handledOrder.indexOf(ids.last));
    expect(results).toEqual([ids.first, ids.flaky, ids.last]);

    const letters = await deadLetters(engine);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      errorCode: 'KAFKA_PRODUCE_FAILED',
      component: 'test-processor',
      originalHeaders: { 'correlation-id': ids.huge },
    });

    const metrics =
      await engine.metrics.registry.getSingleMetricAsString('medstream_retries_total');
    expect(metrics).toContain(
      'medstream_retries_total{component="test-processor",code="STORE_UNAVAILABLE"} 2',
    );
  });
});
