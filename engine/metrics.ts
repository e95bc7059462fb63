import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One Prometheus registry per engine instance (several engines may share a test process). */
export class Metrics {
  readonly registry = new Registry();
  readonly recordsIn: Counter<'topic' | 'component'>;
  readonly recordsOut: Counter<'topic' | 'component'>;
  readonly deadLetters: Counter<'component' | 'code'>;
  readonly retries: Counter<'component' | 'code'>;
  readonly processingSeconds: Histogram<'component'>;
  readonly batchSize: Histogram<'component'>;
  readonly consumerLag: Gauge<'group' | 'topic' | 'partition'>;
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  readonly info: Gauge<'role' | 'version' | 'store' | 'kafka'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'medstream_' });
    this.recordsIn = new Counter({
      name: 'medstream_records_in_total',
      help: 'Records consumed, by topic and component',
      labelNames: ['topic', 'component'],
      registers,
    });
    this.recordsOut = new Counter({
      name: 'medstream_records_out_total',
      help: 'Records produced and acknowledged by Kafka, by topic and component',
      labelNames: ['topic', 'component'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'medstream_dlq_records_total',
      help: 'Records sent to the dead-letter topic, by component and error code',
      labelNames: ['component', 'code'],
      registers,
    });
    this.retries = new Counter({
      name: 'medstream_retries_total',
      help: 'Retriable failures that paused a partition, by component and error code',
      labelNames: ['component', 'code'],
      registers,
    });
    this.processingSeconds = new Histogram({
      name: 'medstream_batch_processing_seconds',
      help: 'Time from batch start to committed offsets, by component',
      labelNames: ['component'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'medstream_batch_size',
      help: 'Records per consumed batch, by component',
      labelNames: ['component'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    this.consumerLag = new Gauge({
      name: 'medstream_consumer_lag',
      help: 'Records between the committed position and the high watermark, per partition',
      labelNames: ['group', 'topic', 'partition'],
      registers,
    });
    this.httpRequests = new Counter({
      name: 'medstream_http_requests_total',
      help: 'HTTP requests answered, by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.info = new Gauge({
      name: 'medstream_info',
      help: 'Constant 1, labelled with what this process runs',
      labelNames: ['role', 'version', 'store', 'kafka'],
      registers,
    });
  }
}
