/**
 * bench/imaging — chest X-ray classification + Grad-CAM heatmap, measured side by side in one run
 * with the same synthetic input images and the shipped model (synthetic training data — not for
 * clinical use):
 *   (a) the limit: the same per-image work in a tight in-process loop, both cores busy (several
 *       images in flight, dynamic batches), at the best batch size;
 *   (b) a seed-style server: fastify, all work inside each request, batch of one, no queue;
 *   (c) medstream end to end: POST /api/v1/images?wait → Kafka → imaging processor → Kafka →
 *       store → the result returned;
 * plus the tfjs-vs-onnx runtime ratio. Prints images/s, p50/p95 and the ratios.
 *
 *   npm run bench:imaging -- [--clients 8] [--requests 96] [--size 1024]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../engine/paths';
import { DynamicBatcher } from '../processors/shared/dynamic-batcher';
import { ImageWorkPool } from '../processors/shared/image-work/pool';
import { type ClassifierRuntime, loadClassifier } from '../processors/shared/runtime/classifier';
import { benchImages, drive, finish, prepare, shippedModel } from './imaging-common';
import { spawnServer, startBenchMedstream, stopChild } from './processes';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '8' },
    requests: { type: 'string', default: '96' },
    size: { type: 'string', default: '1024' },
    images: { type: 'string', default: '24' },
  },
});
const CLIENTS = Number(values.clients);
const REQUESTS = Number(values.requests);

/** ms per image for classify + Grad-CAM on a batch of 8, after warm-up. */
async function runtimeCost(runtime: ClassifierRuntime, tensors: Float32Array[]): Promise<number> {
  const batch = tensors.slice(0, 8);
  await runtime.classify(batch, { gradcam: true });
  const rounds = 5;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) await runtime.classify(batch, { gradcam: true });
  return Number(process.hrtime.bigint() - t0) / 1e6 / (rounds * batch.length);
}

async function main(): Promise<void> {
  const { dir, manifest } = shippedModel();
  const images = await benchImages(Number(values.images), Number(values.size));
  const b64 = images.map((b) => b.toString('base64'));
  const lines: string[] = [];
  lines.push(
    `medstream bench/imaging — model ${manifest.name}@${manifest.version} (${manifest.disclaimer ?? ''}), ${images.length} synthetic ${values.size}px PNGs, ${CLIENTS} clients, ${REQUESTS} requests per scenario, ${cpus().length} CPU(s)`,
  );

  // Runtime ratio and the limit.
  const onnx = await loadClassifier(dir, manifest, { runtime: 'onnx' });
  const tfjs = await loadClassifier(dir, manifest, { runtime: 'tfjs' });
  const pres = await Promise.all(images.slice(0, 8).map((b) => prepare(b, manifest)));
  const onnxMs = await runtimeCost(
    onnx,
    pres.map((p) => p.tensor),
  );
  const tfjsMs = await runtimeCost(
    tfjs,
    pres.map((p) => p.tensor),
  );
  await tfjs.dispose();

  // The limit uses the processor's worker pool, sized as the processor sizes it by default.
  const pool = new ImageWorkPool({ size: availableParallelism() });
  let best = { batch: 0, perSecond: 0, p50: 0, p95: 0 };
  for (const maxBatchSize of [1, 4, 8, 16]) {
    const batcher = new DynamicBatcher(
      (tensors: Float32Array[]) => onnx.classify(tensors, { gradcam: true }),
      () => ({ maxBatchSize, maxQueueDelayMs: 2 }),
    );
    const run = () =>
      drive(REQUESTS, Math.max(CLIENTS, maxBatchSize), async (i) => {
        const pre = await prepare(images[i % images.length]!, manifest, pool);
        const { output } = await batcher.submit(pre.tensor);
        await finish(pre, output.cam!, pool);
      });
    await run(); // warm-up
    const r = await run();
    if (r.perSecond > best.perSecond) best = { batch: maxBatchSize, ...r };
  }
  await onnx.dispose();
  await pool.close();

  // (b) seed-style server.
  const seed = await spawnServer([join(projectRoot(), 'dist', 'bench', 'imaging-seed-server.js')], {
    BENCH_RUNTIME: 'onnx',
  });
  const seedRequest = async (i: number) => {
    const res = await fetch(`${seed.url}/covid19/api/v1/predict/heatmap`, {
      method: 'POST',
      body: new URLSearchParams({ b64: b64[i % b64.length]! }),
    });
    if (res.status !== 200)
      throw new Error(`seed server answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  await drive(CLIENTS * 2, CLIENTS, seedRequest);
  const seedResult = await drive(REQUESTS, CLIENTS, seedRequest);
  await stopChild(seed.child);

  // (c) medstream end to end, on the local Kafka.
  const work = mkdtempSync(join(tmpdir(), 'bench-imaging-'));
  const engine = await startBenchMedstream('ingest,process,sink,api', work);
  const pipelineRequest = async (i: number) => {
    const res = await fetch(`${engine.url}/api/v1/images?wait=60s`, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: images[i % images.length]!,
    });
    const body = (await res.json()) as { status?: string };
    if (res.status !== 200 || body.status !== 'done')
      throw new Error(`pipeline answered ${res.status}: ${JSON.stringify(body)}`);
  };
  await drive(CLIENTS * 2, CLIENTS, pipelineRequest);
  const pipeline = await drive(REQUESTS, CLIENTS, pipelineRequest);
  await engine.stop();
  rmSync(work, { recursive: true, force: true });

  const row = (name: string, r: { perSecond: number; p50: number; p95: number }) =>
    `  ${name.padEnd(58)} ${r.perSecond.toFixed(1).padStart(7)} images/s   p50 ${r.p50.toFixed(0).padStart(5)} ms   p95 ${r.p95.toFixed(0).padStart(5)} ms`;
  lines.push(row(`(a) limit: in-process loop, onnx, best batch ${best.batch}`, best));
  lines.push(row('(b) seed-style server: all work per request, batch of one', seedResult));
  lines.push(row('(c) medstream: HTTP → Kafka → processor → store → result', pipeline));
  lines.push(
    `  ratio (c)/(a): ${(pipeline.perSecond / best.perSecond).toFixed(2)}   ratio (c)/(b): ${(pipeline.perSecond / seedResult.perSecond).toFixed(2)}`,
  );
  lines.push(
    `  runtime, classify + Grad-CAM, batch 8: onnx ${onnxMs.toFixed(2)} ms/image, tfjs (${tfjs.backend}) ${tfjsMs.toFixed(2)} ms/image — tfjs/onnx ${(tfjsMs / onnxMs).toFixed(1)}×`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
