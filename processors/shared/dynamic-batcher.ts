import { toEngineError } from '../../engine/errors';

export interface BatchLimits {
  maxBatchSize: number;
  /** Longest time the first queued item waits for others before its batch runs. */
  maxQueueDelayMs: number;
}

interface Pending<I, O> {
  item: I;
  enqueuedAt: number;
  resolve: (value: { output: O; batchSize: number; queuedMs: number }) => void;
  reject: (err: unknown) => void;
}

/**
 * Dynamic batching: items submitted concurrently (from any partition's records) are run
 * together, up to `maxBatchSize`, waiting at most `maxQueueDelayMs` for the batch to fill. One
 * batch runs at a time — the model is the bottleneck, and while it runs the next batch fills.
 * If a batch fails, its items are run one by one so a single bad item fails alone.
 */
export class DynamicBatcher<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly limits: () => BatchLimits,
  ) {}

  submit(item: I): Promise<{ output: O; batchSize: number; queuedMs: number }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, enqueuedAt: Date.now(), resolve, reject });
      this.schedule();
    });
  }

  get queued(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    const { maxBatchSize, maxQueueDelayMs } = this.limits();
    const waited = Date.now() - this.queue[0]!.enqueuedAt;
    if (this.queue.length >= maxBatchSize || waited >= maxQueueDelayMs) {
      void this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, maxQueueDelayMs - waited);
    }
  }

  private async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = true;
    const batch = this.queue.splice(0, this.limits().maxBatchSize);
    const started = Date.now();
    try {
      const outputs = await this.run(batch.map((p) => p.item));
      batch.forEach((p, i) =>
        p.resolve({
          output: outputs[i] as O,
          batchSize: batch.length,
          queuedMs: started - p.enqueuedAt,
        }),
      );
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(toEngineError(err, 'PROCESSING_FAILED'));
      } else {
        for (const p of batch) {
          try {
            const [output] = await this.run([p.item]);
            p.resolve({ output: output as O, batchSize: 1, queuedMs: started - p.enqueuedAt });
          } catch (single) {
            p.reject(toEngineError(single, 'PROCESSING_FAILED'));
          }
        }
      }
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}
