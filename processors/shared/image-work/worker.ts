/**
 * Worker-thread entry of the image work pool (pool.ts): runs `prepare` / `render` jobs
 * (steps.ts) and answers `{ id, ok, value }` or `{ id, ok: false, error }`, handing large
 * buffers back by transfer instead of copying them.
 */
import { parentPort } from 'node:worker_threads';
import { ImageRejected } from '../image-decode';
import { type JobMessage, type ReplyMessage, serialiseError, transferablesOf } from './protocol';
import { prepareImage, renderImage } from './steps';

if (!parentPort) throw new Error('image-work/worker must run in a worker thread');
const port = parentPort;

port.on('message', (job: JobMessage) => {
  const run = job.op === 'prepare' ? prepareImage(job.bytes, job.input) : renderImage(job.request);
  run.then(
    (value) => {
      const reply: ReplyMessage = { id: job.id, ok: true, value };
      port.postMessage(reply, transferablesOf(value));
    },
    (err: unknown) => {
      const reply: ReplyMessage = { id: job.id, ok: false, error: serialiseError(err) };
      port.postMessage(reply);
    },
  );
});

// Keep the ImageRejected class referenced so its module (and sharp) load once at start-up.
void ImageRejected;
