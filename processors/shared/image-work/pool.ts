/**
 * A pool of worker threads for the imaging processor's pixel work (decode, window, resize,
 * heatmap colouring, PNG encoding: ~100 ms of JavaScript per megapixel image), so that it runs
 * on every core and the main thread stays free for Kafka, HTTP and the store.
 *
 * Lifecycle: `new ImageWorkPool({ size })` starts the threads → `prepare` / `render`, any number
 * concurrently (each job goes to the least busy worker) → `close()` once.
 * `size: 0` runs the same steps inline, in the calling thread.
 *
 * Failure: a job's own error comes back as the same error type the inline step throws
 * (ImageRejected for a refused image). A worker that dies fails its in-flight jobs with a
 * retriable PROCESSING_FAILED, and a new worker takes its place.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { EngineError } from '../../../engine/errors';
import { projectRoot } from '../../../engine/paths';
import { type JobMessage, type ReplyMessage, deserialiseError, reviveResult } from './protocol';
import {
  type PrepareInput,
  type PreparedImage,
  type RenderRequest,
  type RenderedImage,
  prepareImage,
  renderImage,
} from './steps';

interface Slot {
  worker: Worker;
  inFlight: Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>;
}

/**
 * The compiled worker script. From dist/ it sits next to this file; when this file runs from
 * TypeScript source (ts-jest), the build's copy in dist/ is used; undefined when neither exists.
 */
export function workerScript(): string | undefined {
  const here = join(__dirname, 'worker.js');
  if (existsSync(here)) return here;
  const built = join(projectRoot(), 'dist', 'processors', 'shared', 'image-work', 'worker.js');
  return existsSync(built) ? built : undefined;
}

export class ImageWorkPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  readonly size: number;

  constructor(options: { size: number; onWorkerError?: (err: Error) => void }) {
    const script = options.size > 0 ? workerScript() : undefined;
    if (options.size > 0 && !script)
      throw new EngineError(
        'CONFIG_INVALID',
        'image worker script not found (run `npm run build`), or set imageWorkers: 0',
      );
    this.size = script ? options.size : 0;
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn(script!, options.onWorkerError));
  }

  prepare(bytes: Uint8Array, input: PrepareInput): Promise<PreparedImage> {
    if (this.size === 0) return prepareImage(bytes, input);
    // The bytes are the caller's (a blob read): copied, not transferred.
    return this.post({ id: 0, op: 'prepare', bytes, input }, []);
  }

  /** The display image's buffer is transferred to the worker: the caller must not reuse it. */
  render(request: RenderRequest): Promise<RenderedImage> {
    if (this.size === 0) return renderImage(request);
    const transfer =
      request.display.buffer instanceof ArrayBuffer &&
      request.display.byteLength === request.display.buffer.byteLength
        ? [request.display.buffer]
        : [];
    return this.post({ id: 0, op: 'render', request }, transfer);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }

  private post<T>(job: JobMessage, transfer: ArrayBuffer[]): Promise<T> {
    if (this.closed) return Promise.reject(new EngineError('PROCESSING_FAILED', 'pool is closed'));
    const slot = this.slots.reduce((a, b) => (b.inFlight.size < a.inFlight.size ? b : a));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      slot.inFlight.set(id, { resolve: resolve as (v: never) => void, reject });
      slot.worker.postMessage({ ...job, id }, transfer);
    });
  }

  private spawn(script: string, onError?: (err: Error) => void): Slot {
    const slot: Slot = { worker: new Worker(script), inFlight: new Map() };
    slot.worker.unref();
    slot.worker.on('message', (reply: ReplyMessage) => {
      const pending = slot.inFlight.get(reply.id);
      if (!pending) return;
      slot.inFlight.delete(reply.id);
      if (reply.ok) pending.resolve(reviveResult(reply.value) as never);
      else pending.reject(deserialiseError(reply.error));
    });
    const fail = (err: Error) => {
      for (const p of slot.inFlight.values())
        p.reject(
          new EngineError('PROCESSING_FAILED', `image worker failed: ${err.message}`, {
            cause: err,
            retriable: true,
          }),
        );
      slot.inFlight.clear();
      if (this.closed) return;
      onError?.(err);
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots[index] = this.spawn(script, onError);
    };
    // 'error' (an uncaught exception in the worker) is followed by 'exit'.
    let lastError: Error | undefined;
    slot.worker.on('error', (err) => (lastError = err));
    slot.worker.on('exit', (code) => {
      if (!this.closed) fail(lastError ?? new Error(`worker exited with code ${code}`));
    });
    return slot;
  }
}
