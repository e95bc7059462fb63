import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalKafka } from '../../deploy/local/kafka/local-kafka';
import type { KafkaState } from './kafka-state';

/**
 * One Kafka for the whole run: KAFKA_BROKERS when set (an existing cluster); testcontainers
 * when MEDSTREAM_TEST_KAFKA=testcontainers (machines with Docker); otherwise the project's own
 * single-node KRaft broker from Maven Central jars (no Docker needed). Tests isolate themselves
 * with random topic prefixes and group ids.
 */
export default async function globalSetup(): Promise<void> {
  let state: KafkaState;
  if (process.env.MEDSTREAM_TEST_NO_KAFKA === '1') return; // unit tests only (npm run test:unit)
  if (process.env.KAFKA_BROKERS) {
    state = { brokers: process.env.KAFKA_BROKERS.split(','), startedBy: 'external' };
  } else if (process.env.MEDSTREAM_TEST_KAFKA === 'testcontainers') {
    const { KafkaContainer } = await import('@testcontainers/kafka');
    const container = await new KafkaContainer('confluentinc/cp-kafka:7.7.1').withKraft().start();
    state = {
      brokers: [`${container.getHost()}:${container.getMappedPort(9093)}`],
      startedBy: 'testcontainers',
    };
    (globalThis as Record<string, unknown>).__medstreamKafkaContainer = container;
  } else {
    const dataDir = mkdtempSync(join(tmpdir(), 'medstream-test-kafka-'));
    const kafka = await startLocalKafka({ dataDir, heapMb: 768 });
    process.stderr.write(
      `\n[global-setup] local Kafka ${kafka.brokers[0]} (pid ${kafka.pid}) ready in ${kafka.startMs} ms\n`,
    );
    state = { brokers: kafka.brokers, pid: kafka.pid, dataDir, startedBy: 'local-jars' };
  }
  process.env.KAFKA_BROKERS = state.brokers.join(',');
  process.env.MEDSTREAM_TEST_KAFKA_STATE = JSON.stringify(state);
}
