import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { projectRoot } from '../engine/paths';
import type { ModelManifest } from '../processors/shared/model-manifest';
import { DEFAULT_DECODE_LIMITS } from '../processors/shared/image-decode';
import type { ImageWorkPool } from '../processors/shared/image-work/pool';
import {
  type PreparedImage,
  prepareImage,
  renderImage,
} from '../processors/shared/image-work/steps';
import type { GradCam } from '../processors/shared/runtime/classifier';
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
 * does it per record, with the processor's own steps: decode → preprocess (`prepare`), then,
 * after classify + Grad-CAM, the display and heatmap PNGs (`finish`). A pool runs the steps in
 * worker threads, as the processor does; without one they run inline, as a seed server would.
 */
export function prepare(bytes: Buffer, manifest: ModelManifest, pool?: ImageWorkPool) {
  const input = { manifest, limits: DEFAULT_DECODE_LIMITS };
  return pool ? pool.prepare(bytes, input) : prepareImage(bytes, input);
}

export function finish(pre: PreparedImage, cam: GradCam, pool?: ImageWorkPool) {
  const request = {
    display: pre.display,
    width: pre.width,
    height: pre.height,
    contentBox: pre.contentBox,
    cam,
  };
  return pool ? pool.render(request) : renderImage(request);
}

export { drive } from './drive';
