import type { Admin } from 'kafkajs';
import { TOPIC_TABLE } from '../../schemas/records';

// The topic table and record names are generated from schemas/ (schemas/records.ts); they are
// re-exported here so engine code has one place to import Kafka naming from.
export {
  RECORDS,
  TOPICS,
  TOPIC_TABLE,
  TOPIC_RECORDS,
  type RecordName,
  type TopicName,
  type TopicSpec,
} from '../../schemas/records';

/** Maps logical topic names to physical ones (with the configured prefix) and back. */
export class TopicNames {
  constructor(private readonly prefix: string) {}
  physical(logical: string): string {
    return `${this.prefix}${logical}`;
  }
  logical(physical: string): string {
    return physical.startsWith(this.prefix) ? physical.slice(this.prefix.length) : physical;
  }
}

/** Creates the topics that do not exist yet; existing ones are left as they are. */
export async function ensureTopics(
  admin: Admin,
  topics: readonly string[],
  { partitions, replicationFactor }: { partitions: number; replicationFactor: number },
  /** Physical names of the topics to create as compacted changelogs. */
  compacted: ReadonlySet<string> = new Set(),
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: partitions,
        replicationFactor,
        configEntries: [
          { name: 'min.insync.replicas', value: String(Math.min(2, replicationFactor)) },
          ...(compacted.has(topic) ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
        ],
      })),
    });
  }
  return missing;
}

/** Creates every topic of the topic table (under `names`' prefix) that does not exist yet. */
export async function ensureTopicTable(
  admin: Admin,
  names: TopicNames,
  settings: { partitions: number; replicationFactor: number },
): Promise<{ all: string[]; created: string[] }> {
  const table = TOPIC_TABLE;
  const all = table.map((t) => names.physical(t.name));
  const compacted = new Set(table.filter((t) => t.compacted).map((t) => names.physical(t.name)));
  return { all, created: await ensureTopics(admin, all, settings, compacted) };
}
