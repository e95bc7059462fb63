import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { projectRoot } from '../engine/paths';
import type { ModelManifest } from '../processors/shared/model-manifest';
import { decodeGray } from '../processors/shared/image-decode';
import { preprocess } from '../processors/shared/preprocess';
import type { ClassifierRuntime } from '../processors/shared/runtime/classifier';
import { renderHeatmap } from '../processors/shared/runtime/heatmap';
import { createRng, generatePhantom } from '../models/training/phantom';

export const LABELS = ['covid19', 'normal', 'pneumonia'] as const;

/** The newest shipped cxr-demo version folder and its manifest. */
export function shippedModel(): { dir: string; manifest: ModelManifest } {
  const root = join(projectRoot(), 'models', 'cxr-demo');
  const versions = readdirSync(root);
  const newest = versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).pop()!;
  const dir = join(root, newest);
  return {
    dir,
    manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest,
  };
}

/** `count` synthetic radiographs (PNG, size×size, 8-bit gray), classes in turn, seeded. */
export async function benchImages(count: number, size: number, seed = 2020): Promise<Buffer[]> {
  const rng = createRng(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const { image } = generatePhantom(rng, { size, label: LABELS[i % 3]! });
    const gray = Buffer.alloc(size * size);
    for (let p = 0; p < gray.length; p++)
      gray[p] = Math.round(Math.min(1, Math.max(0, image[p]!)) * 255);
    out.push(
      await sharp(gray, { raw: { width: size, height: size, channels: 1 } })
        .png()
        .toBuffer(),
    );
  }
  return out;
}

/**
 * The whole per-image job, as the seed demo did it inside each request and medstream's processor
 * does it per record: decode → preprocess → classify + Grad-CAM → heatmap overlay PNG.
 */
export async function prepare(bytes: Buffer, manifest: ModelManifest) {
  const image = await decodeGray(bytes);
  return preprocess(image, manifest);
}

export async function finish(
  pre: ReturnType<typeof preprocess>,
  cam: NonNullable<Awaited<ReturnType<ClassifierRuntime['classify']>>[number]['cam']>,
) {
  const rendered = await renderHeatmap({
    cam,
    base: { gray: pre.display, width: pre.width, height: pre.height },
    contentBox: pre.contentBox,
  });
  const display = await sharp(Buffer.from(pre.display), {
    raw: { width: pre.width, height: pre.height, channels: 1 },
  })
    .png()
    .toBuffer();
  return { overlay: rendered.overlayPng, display };
}

export function percentileOf(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `total` requests from `clients` concurrent loops; returns images/s and latency percentiles. */
export async function drive(total: number, clients: number, request: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        const i = next++;
        const s = process.hrtime.bigint();
        await request(i);
        latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: total / seconds,
    p50: percentileOf(latencies, 50),
    p95: percentileOf(latencies, 95),
  };
}
