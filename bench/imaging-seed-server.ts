/**
 * A server shaped like the 2020 demo, for bench/imaging's comparison: fastify, and inside each
 * request decode → preprocess → predict + Grad-CAM (batch of one) → heatmap PNG written to disk
 * → JSON. No queue, no batching, no durability. Prints "listening on URL".
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import formbody from '@fastify/formbody';
import Fastify from 'fastify';
import { loadClassifier } from '../processors/shared/runtime/classifier';
import { finish, prepare, shippedModel } from './imaging-common';

async function main(): Promise<void> {
  const { dir, manifest } = shippedModel();
  const runtime = await loadClassifier(dir, manifest, {
    runtime: (process.env.BENCH_RUNTIME as 'onnx' | 'tfjs') ?? 'onnx',
  });
  const out = mkdtempSync(join(tmpdir(), 'seed-server-'));
  const app = Fastify({ bodyLimit: 64 * 1024 * 1024 });
  await app.register(formbody, { bodyLimit: 64 * 1024 * 1024 });
  app.post<{ Body: { b64: string } }>('/covid19/api/v1/predict/heatmap', async (request) => {
    const pre = await prepare(Buffer.from(request.body.b64, 'base64'), manifest);
    const [result] = await runtime.classify([pre.tensor], { gradcam: true });
    const { displayPng, heatmap } = await finish(pre, result!.cam!);
    const id = randomUUID();
    writeFileSync(join(out, `${id}.png`), displayPng);
    writeFileSync(join(out, `${id}-heatmap.png`), heatmap!.overlayPng);
    writeFileSync(join(out, `${id}-map.png`), heatmap!.mapPng);
    const probabilities = Array.from(result!.probabilities);
    return {
      Input_Image: `/static/source/${id}.png`,
      Output_Heatmap: `/static/result/${id}.png`,
      'X-Ray_Classfication_Raw_Result': [probabilities],
    };
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`listening on ${url}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
