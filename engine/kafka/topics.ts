import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { projectRoot } from '../paths';

export interface TopicSpec {
  /** Logical name as in schemas/topics.json, e.g. medstream.results.risk.v1 */
  name: string;
  key: string;
  /** Full name of the Avro value record. */
  value: string;
  /** A changelog keeping the latest value per key (cleanup.policy=compact). */
  compacted: boolean;
}

/** The topic table from schemas/topics.json. */
export function loadTopicTable(): TopicSpec[] {
  const file = join(projectRoot(), 'schemas', 'topics.json');
  const table = JSON.parse(readFileSync(file, 'utf8')) as {
    topics: Record<string, { key: string; value: string; compacted?: boolean }>;
  };
  return Object.entries(table.topics).map(([name, t]) => ({
    name,
    key: t.key,
    value: t.value,
    compacted: t.compacted === true,
  }));
}

/** Full names of the Avro value records (schemas/*.avsc). */
export const RECORDS = {
  vitalSignsSubmitted: 'io.medstream.ingest.v1.VitalSignsSubmitted',
  imageSubmitted: 'io.medstream.ingest.v1.ImageSubmitted',
  dicomInstanceReceived: 'io.medstream.ingest.v1.DicomInstanceReceived',
  fhirResourceReceived: 'io.medstream.ingest.v1.FhirResourceReceived',
  icuRiskPatientState: 'io.medstream.state.v1.IcuRiskPatientState',
  riskResult: 'io.medstream.results.v1.RiskResult',
  imagingResult: 'io.medstream.results.v1.ImagingResult',
  deadLetter: 'io.medstream.dlq.v1.DeadLetter',
} as const;

export const TOPICS = {
  ingestVitals: 'medstream.ingest.vitals.v1',
  ingestImage: 'medstream.ingest.image.v1',
  ingestDicom: 'medstream.ingest.dicom.v1',
  ingestFhir: 'medstream.ingest.fhir.v1',
  stateIcuRisk: 'medstream.state.icu-risk.v1',
  resultsRisk: 'medstream.results.risk.v1',
  resultsImaging: 'medstream.results.imaging.v1',
  dlq: 'medstream.dlq.v1',
} as const;

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
  const table = loadTopicTable();
  const all = table.map((t) => names.physical(t.name));
  const compacted = new Set(table.filter((t) => t.compacted).map((t) => names.physical(t.name)));
  return { all, created: await ensureTopics(admin, all, settings, compacted) };
}
