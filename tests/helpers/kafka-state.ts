export interface KafkaState {
  brokers: string[];
  pid?: number;
  dataDir?: string;
  startedBy: 'local-jars' | 'testcontainers' | 'external';
}
