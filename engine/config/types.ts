/** The validated, defaulted and frozen engine configuration (see engine-schema.ts). */
export interface EngineConfig {
  readonly http: { readonly host: string; readonly port: number; readonly bodyLimit: number };
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly clientId: string;
    readonly groupId: string;
    readonly topicPrefix: string;
    readonly partitions: number;
    readonly replicationFactor: number;
    readonly connectionTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly produceRetries: number;
    readonly sessionTimeoutMs: number;
    readonly heartbeatIntervalMs: number;
    readonly ssl: boolean;
    readonly sasl: {
      readonly mechanism: string;
      readonly username: string;
      readonly password: string;
    };
    readonly local: { readonly dataDir: string; readonly heapMb: number };
  };
  readonly store: {
    readonly url: string;
    readonly embedded: { readonly dataDir: string };
    readonly poolSize: number;
  };
  readonly blobs: { readonly dir: string };
  readonly log: { readonly level: string; readonly format: 'auto' | 'json' | 'pretty' };
  readonly components: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}
