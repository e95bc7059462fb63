import sharp from 'sharp';
import { ImageRejected, decodeGray } from '../../../../processors/shared/image-decode';
import {
  applyWindow,
  percentile,
  preprocess,
  resizeArea,
} from '../../../../processors/shared/preprocess';
import type { ModelManifest } from '../../../../processors/shared/model-manifest';

/** A w×h gray gradient as raw 8-bit samples: value = x (mod 256). */
function gradient8(w: number, h: number): Buffer {
  const b = Buffer.alloc(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b[y * w + x] = x % 256;
  return b;
}

const manifest = (over: Partial<ModelManifest['preprocessing']> = {}): ModelManifest => ({
  name: 'm',
  version: '1',
  task: 'image-classification',
  multiLabel: false,
  input: { height: 4, width: 4, channels: 1 },
  preprocessing: {
    resize: 'stretch',
    window: { mode: 'none' },
    normalization: { mean: 0.5, std: 0.5 },
    ...over,
  },
  labels: ['a', 'b'],
  batching: { maxBatchSize: 4, maxQueueDelayMs: 5 },
  artifacts: {},
  syntheticTrainingData: true,
});

describe('[REQ-IMG-DECODE] decoding PNG / JPEG to one gray channel', () => {
  it('decodes 8-bit gray PNG exactly', async () => {
    const png = await sharp(gradient8(64, 40), { raw: { width: 64, height: 40, channels: 1 } })
      .png()
      .toBuffer();
    const img = await decodeGray(png);
    expect([img.width, img.height, img.maxValue, img.bitsPerSample, img.format]).toEqual([
      64,
      40,
      255,
      8,
      'png',
    ]);
    expect(img.data[5]).toBe(5);
    expect(img.data[40 * 64 - 1]).toBe(63);
  });

  it('decodes 16-bit gray PNG keeping the full range', async () => {
    const w = 40;
    const h = 40;
    const raw = new Uint16Array(w * h);
    for (let i = 0; i < w * h; i++) raw[i] = i * 40;
    const png = await sharp(raw, { raw: { width: w, height: h, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    expect((await sharp(png).metadata()).depth).toBe('ushort');
    const img = await decodeGray(png);
    expect(img.bitsPerSample).toBe(16);
    expect(img.maxValue).toBe(65535);
    expect(img.data[1]).toBe(40);
    expect(img.data[w * h - 1]).toBe((w * h - 1) * 40);
  });

  it('converts RGB and RGBA to luminance and decodes JPEG', async () => {
    const rgb = Buffer.alloc(48 * 48 * 4);
    for (let i = 0; i < 48 * 48; i++) rgb.set([200, 200, 200, 255], i * 4);
    const png = await sharp(rgb, { raw: { width: 48, height: 48, channels: 4 } })
      .png()
      .toBuffer();
    const fromPng = await decodeGray(png);
    expect(fromPng.sourceChannels).toBe(4);
    expect(fromPng.data[100]).toBe(200);
    const jpeg = await sharp(gradient8(64, 64), { raw: { width: 64, height: 64, channels: 1 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const fromJpeg = await decodeGray(jpeg);
    expect(fromJpeg.format).toBe('jpeg');
    expect(Math.abs((fromJpeg.data[32] as number) - 32)).toBeLessThanOrEqual(3);
  });

  it.each([
    ['garbage bytes', Buffer.from('definitely not an image'), 'corrupt'],
    [
      'a GIF',
      Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64'),
      'unsupported',
    ],
  ])('rejects %s as %s', async (_what, bytes, problem) => {
    await expect(decodeGray(bytes)).rejects.toMatchObject({ problem, code: 'DECODE_FAILED' });
  });

  it('rejects images that are too small or too large, and truncated files', async () => {
    const tiny = await sharp(gradient8(8, 8), { raw: { width: 8, height: 8, channels: 1 } })
      .png()
      .toBuffer();
    await expect(decodeGray(tiny)).rejects.toMatchObject({ problem: 'too-small' });
    const big = await sharp(gradient8(300, 100), { raw: { width: 300, height: 100, channels: 1 } })
      .png()
      .toBuffer();
    await expect(
      decodeGray(big, { minSide: 32, maxSide: 256, maxPixels: 1e6 }),
    ).rejects.toMatchObject({ problem: 'too-large' });
    const png = await sharp(gradient8(64, 64), { raw: { width: 64, height: 64, channels: 1 } })
      .png({ compressionLevel: 0 })
      .toBuffer();
    const err = await decodeGray(png.subarray(0, png.length / 2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageRejected);
    expect((err as ImageRejected).problem).toBe('corrupt');
  });
});

describe('[REQ-IMG-PREPROC] windowing, resizing, normalisation per manifest', () => {
  const img = (values: number[], w: number, h: number, maxValue = 255) => ({
    data: Float32Array.from(values),
    width: w,
    height: h,
    maxValue,
    format: 'png' as const,
    sourceChannels: 1,
    bitsPerSample: 8 as const,
  });

  it('window none / minmax / percentile', () => {
    const i = img([0, 51, 102, 255], 2, 2);
    expect(Array.from(applyWindow(i, { mode: 'none' })).map((v) => +v.toFixed(6))).toEqual([
      0, 0.2, 0.4, 1,
    ]);
    const j = img([10, 20, 30, 50], 2, 2);
    expect(Array.from(applyWindow(j, { mode: 'minmax' })).map((v) => +v.toFixed(4))).toEqual([
      0, 0.25, 0.5, 1,
    ]);
    const values = Array.from({ length: 1000 }, (_, k) => k);
    const [lo, hi] = percentile(Float32Array.from(values), 1, 99);
    expect(lo).toBeCloseTo(9, 0);
    expect(hi).toBeCloseTo(989, 0);
  });

  it('area resize averages blocks when shrinking and keeps a constant image constant', () => {
    const src = Float32Array.from([1, 1, 3, 3, 1, 1, 3, 3, 5, 5, 7, 7, 5, 5, 7, 7]);
    expect(Array.from(resizeArea(src, 4, 4, 2, 2))).toEqual([1, 3, 5, 7]);
    const flat = new Float32Array(7 * 5).fill(0.3);
    for (const v of resizeArea(flat, 7, 5, 11, 3)) expect(v).toBeCloseTo(0.3, 6);
  });

  it('normalises and replicates channels; letterbox pads', () => {
    const i = img(new Array(16).fill(255), 4, 4);
    const out = preprocess(i, manifest());
    expect(Array.from(out.tensor)).toEqual(new Array(16).fill(1));
    expect(out.display[0]).toBe(255);
    const wide = img(new Array(8 * 4).fill(255), 8, 4);
    const boxed = preprocess(wide, {
      ...manifest({ resize: 'letterbox' }),
      input: { height: 4, width: 4, channels: 3 },
    });
    expect(boxed.tensor.length).toBe(48);
    // rows 0 and 3 are padding (windowed 0 → normalised -1), rows 1–2 the image (1)
    expect(boxed.tensor[0]).toBe(-1);
    expect(boxed.tensor[4 * 3 * 1 + 0]).toBe(1);
  });
});
