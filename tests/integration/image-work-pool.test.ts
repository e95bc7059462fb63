import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../engine/paths';
import { DEFAULT_DECODE_LIMITS, ImageRejected } from '../../processors/shared/image-decode';
import { ImageWorkPool, workerScript } from '../../processors/shared/image-work/pool';
import { prepareImage, renderImage } from '../../processors/shared/image-work/steps';
import type { ModelManifest } from '../../processors/shared/model-manifest';

const MODEL_DIR = join(projectRoot(), 'models', 'cxr-demo', '1.0.0');
const manifest = JSON.parse(
  readFileSync(join(MODEL_DIR, 'manifest.json'), 'utf8'),
) as ModelManifest;
const png = readFileSync(join(MODEL_DIR, 'samples', 'pneumonia.png'));
const input = { manifest, limits: DEFAULT_DECODE_LIMITS };
const cam = {
  data: Float32Array.from({ length: 144 }, (_, i) => Math.max(0, Math.sin(i / 7))),
  height: 12,
  width: 12,
};

// Runs the compiled worker (dist/), which `npm test` builds first.
describe('[REQ-IMG-05] image work in worker threads gives exactly what the inline steps give', () => {
  let pool: ImageWorkPool;
  beforeAll(() => {
    expect(workerScript()).toBeDefined();
    pool = new ImageWorkPool({ size: 2 });
  });
  afterAll(() => pool.close());

  it('prepare and render: identical tensors, display images and PNG bytes', async () => {
    const [inline, threaded] = await Promise.all([
      prepareImage(png, input),
      pool.prepare(png, input),
    ]);
    expect(Buffer.from(threaded.tensor.buffer).equals(Buffer.from(inline.tensor.buffer))).toBe(
      true,
    );
    expect(Buffer.from(threaded.display).equals(Buffer.from(inline.display))).toBe(true);
    expect(threaded.contentBox).toEqual(inline.contentBox);
    const request = (display: Uint8Array) => ({
      display,
      width: inline.width,
      height: inline.height,
      contentBox: inline.contentBox,
      cam,
      colormap: 'inferno' as const,
      opacity: 0.6,
    });
    const expected = await renderImage(request(inline.display.slice()));
    const got = await pool.render(request(threaded.display));
    expect(got.displayPng.equals(expected.displayPng)).toBe(true);
    expect(got.heatmap!.overlayPng.equals(expected.heatmap!.overlayPng)).toBe(true);
    expect(got.heatmap!.mapPng.equals(expected.heatmap!.mapPng)).toBe(true);
    expect(got.heatmap!.peak).toEqual(expected.heatmap!.peak);
  });

  it('a refused image comes back as ImageRejected with its problem, and the pool keeps working', async () => {
    const truncated = png.subarray(0, Math.floor(png.length / 3));
    const err = await pool.prepare(truncated, input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageRejected);
    expect(err).toMatchObject({ code: 'DECODE_FAILED', problem: 'corrupt' });
    const notAnImage = await pool.prepare(Buffer.from('GIF89a not really'), input).catch((e) => e);
    expect(notAnImage).toMatchObject({ problem: 'corrupt' });
    const many = await Promise.all(Array.from({ length: 6 }, () => pool.prepare(png, input)));
    expect(many.map((m) => m.width)).toEqual(Array(6).fill(256));
  });
});
