import type { Kafka, KafkaMessage } from 'kafkajs';
import { sleep } from '../time';

/**
 * Reads a topic from a consumer group's committed position (or the beginning) up to the end
 * offsets seen at the start, calling `onMessage` in order per partition. With `commit`, the
 * group's position advances past every message `onMessage` finished. With `throwaway`, the
 * group is deleted afterwards (a reader for listing, under a fresh group id).
 */
export async function readTopicToEnd(
  kafka: Kafka,
  topic: string,
  groupId: string,
  onMessage: (partition: number, message: KafkaMessage) => Promise<void>,
  { commit = false, throwaway = false, timeoutMs = 60000 } = {},
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const start = new Map<number, bigint>();
    for (const p of committed[0]?.partitions ?? []) start.set(p.partition, BigInt(p.offset));
    const remaining = new Map<number, bigint>();
    for (const p of ends) {
      const from = start.get(p.partition) ?? -1n;
      const low = BigInt(p.low);
      const position = from > low ? from : low;
      if (BigInt(p.high) > position) remaining.set(p.partition, BigInt(p.high));
    }
    if (remaining.size === 0) return 0;

    const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000 });
    let count = 0;
    let failure: unknown;
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const end = remaining.get(partition);
          if (end === undefined || failure) return;
          if (BigInt(message.offset) >= end) return;
          try {
            await onMessage(partition, message);
            count += 1;
            if (commit)
              await consumer.commitOffsets([
                { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
              ]);
          } catch (err) {
            failure = err;
            return;
          }
          if (BigInt(message.offset) + 1n >= end) remaining.delete(partition);
        },
      });
      const deadline = Date.now() + timeoutMs;
      while (remaining.size > 0 && !failure && Date.now() < deadline) await sleep(50);
    } finally {
      await consumer.disconnect();
      if (throwaway) await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    if (failure) throw failure;
    return count;
  } finally {
    await admin.disconnect();
  }
}
