/**
 * Phantom data sets for the demo classifier, preprocessed exactly as the serving path does it:
 * the phantom is quantised to an 8-bit gray image (what a PNG of it holds), then
 * `processors/shared/preprocess.ts` applies the manifest's window, resize and normalisation.
 */
import type { GrayImage } from '../../processors/shared/image-decode';
import type { ModelManifest } from '../../processors/shared/model-manifest';
import { preprocess } from '../../processors/shared/preprocess';
import { createRng, generatePhantom, PHANTOM_LABELS, type Phantom } from './phantom';

/** The phantom as the 8-bit gray image a PNG of it would decode to. */
export function phantomToGray(image: Float32Array, size: number): GrayImage {
  const data = new Float32Array(size * size);
  for (let i = 0; i < data.length; i++) {
    const v = image[i]!;
    data[i] = Math.round((v <= 0 ? 0 : v >= 1 ? 1 : v) * 255);
  }
  return {
    data,
    width: size,
    height: size,
    maxValue: 255,
    format: 'png',
    sourceChannels: 1,
    bitsPerSample: 8,
  };
}

/** Phantom values as 8-bit gray bytes (for PNG writing). */
export function phantomToBytes(image: Float32Array): Buffer {
  const out = Buffer.alloc(image.length);
  for (let i = 0; i < image.length; i++) {
    const v = image[i]!;
    out[i] = Math.round((v <= 0 ? 0 : v >= 1 ? 1 : v) * 255);
  }
  return out;
}

export interface PhantomSet {
  /** N×S×S×1 model inputs (NHWC), preprocessed per manifest. */
  x: Float32Array;
  /** class index per item (index into PHANTOM_LABELS) */
  y: Int32Array;
  /** lesion masks, N×S×S */
  masks: Uint8Array;
  count: number;
  size: number;
}

/**
 * `perClass` phantoms of each class, classes interleaved (covid19, normal, pneumonia, covid19, …),
 * all drawn from one rng seeded with `seed`.
 */
export function makePhantomSet(
  seed: number,
  perClass: number,
  size: number,
  manifest: ModelManifest,
): PhantomSet {
  const rng = createRng(seed);
  const count = perClass * PHANTOM_LABELS.length;
  const px = size * size;
  const x = new Float32Array(count * px);
  const y = new Int32Array(count);
  const masks = new Uint8Array(count * px);
  for (let i = 0; i < count; i++) {
    const cls = i % PHANTOM_LABELS.length;
    const p: Phantom = generatePhantom(rng, { size, label: PHANTOM_LABELS[cls]! });
    const pre = preprocess(phantomToGray(p.image, size), manifest);
    if (pre.tensor.length !== px) throw new Error('preprocess produced an unexpected size');
    x.set(pre.tensor, i * px);
    y[i] = cls;
    masks.set(p.mask, i * px);
  }
  return { x, y, masks, count, size };
}
