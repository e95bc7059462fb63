import { rmSync } from 'node:fs';
import { stopProcess } from '../../deploy/local/kafka/local-kafka';
import type { KafkaState } from './kafka-state';

/** Stops the Kafka global setup started — by PID — and removes its data. */
export default async function globalTeardown(): Promise<void> {
  const state = JSON.parse(process.env.MEDSTREAM_TEST_KAFKA_STATE ?? '{}') as Partial<KafkaState>;
  if (state.startedBy === 'local-jars' && state.pid) {
    await stopProcess(state.pid, 10000);
    if (state.dataDir) rmSync(state.dataDir, { recursive: true, force: true });
  }
  const container = (globalThis as Record<string, unknown>).__medstreamKafkaContainer as
    { stop(): Promise<unknown> } | undefined;
  if (container) await container.stop();
}
