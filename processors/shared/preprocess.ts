import type { GrayImage } from './image-decode';
import type { ModelManifest } from './model-manifest';

/** Value at the given percentile (0..100) of a sample, via a 4096-bin histogram of its range. */
export function percentile(data: Float32Array, lowPct: number, highPct: number): [number, number] {
  // Indexed loops: `for…of` over a typed array is several times slower here, on every image.
  const n = data.length;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = data[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(max > min)) return [min, max];
  const bins = 4096;
  const hist = new Uint32Array(bins);
  const scale = (bins - 1) / (max - min);
  for (let i = 0; i < n; i++) hist[Math.round(((data[i] as number) - min) * scale)]! += 1;
  const at = (pct: number) => {
    const target = (pct / 100) * n;
    let seen = 0;
    for (let b = 0; b < bins; b++) {
      seen += hist[b]!;
      if (seen >= target) return min + b / scale;
    }
    return max;
  };
  return [at(lowPct), at(highPct)];
}

/** The manifest's intensity window applied: values mapped to [0, 1] and clipped. */
export function applyWindow(
  image: GrayImage,
  window: ModelManifest['preprocessing']['window'],
): Float32Array {
  let lo = 0;
  let hi = image.maxValue;
  if (window.mode === 'minmax') [lo, hi] = percentile(image.data, 0, 100);
  if (window.mode === 'percentile')
    [lo, hi] = percentile(image.data, window.low ?? 0.5, window.high ?? 99.5);
  const out = new Float32Array(image.data.length);
  const span = hi > lo ? hi - lo : 1;
  for (let i = 0; i < out.length; i++) {
    const v = ((image.data[i] as number) - lo) / span;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return out;
}

/**
 * Area-weighted resampling of a single-channel float image (box filter when shrinking, which is
 * what an antialiased downscale of a radiograph needs; bilinear-like when enlarging).
 */
export function resizeArea(
  src: Float32Array,
  sw: number,
  sh: number,
  dw: number,
  dh: number,
): Float32Array {
  const horizontal = resample1d(src, sw, sh, dw, true);
  return resample1d(horizontal, dw, sh, dh, false);
}

function resample1d(
  src: Float32Array,
  w: number,
  h: number,
  n: number,
  alongX: boolean,
): Float32Array {
  const len = alongX ? w : h;
  const lines = alongX ? h : w;
  const out = new Float32Array(alongX ? n * h : w * n);
  const ratio = len / n;
  for (let j = 0; j < n; j++) {
    let start = j * ratio;
    let end = (j + 1) * ratio;
    if (ratio < 1) {
      // enlarging: linear interpolation between the two nearest source samples
      const centre = (j + 0.5) * ratio - 0.5;
      start = Math.max(0, Math.min(len - 1, centre));
      end = start;
    }
    for (let line = 0; line < lines; line++) {
      let value: number;
      if (start === end) {
        const i0 = Math.floor(start);
        const i1 = Math.min(len - 1, i0 + 1);
        const t = start - i0;
        value = at(src, w, alongX, line, i0) * (1 - t) + at(src, w, alongX, line, i1) * t;
      } else {
        let sum = 0;
        for (let i = Math.floor(start); i < Math.ceil(end); i++) {
          const weight = Math.min(end, i + 1) - Math.max(start, i);
          sum += at(src, w, alongX, line, Math.min(len - 1, i)) * weight;
        }
        value = sum / (end - start);
      }
      if (alongX) out[line * n + j] = value;
      else out[j * w + line] = value;
    }
  }
  return out;
}

const at = (src: Float32Array, w: number, alongX: boolean, line: number, i: number): number =>
  (alongX ? src[line * w + i] : src[i * w + line]) as number;

export interface Preprocessed {
  /** NHWC for one item: height × width × channels, normalised per manifest. */
  tensor: Float32Array;
  /** The windowed image at its original size, 8-bit, for display and heatmap overlays. */
  display: Uint8Array;
  width: number;
  height: number;
  /** Where the image sits in the model input, as fractions (letterbox padding excluded). */
  contentBox: { left: number; top: number; width: number; height: number };
}

/** decode output → model input per manifest (window, resize, normalise, channels). */
export function preprocess(image: GrayImage, manifest: ModelManifest): Preprocessed {
  const windowed = applyWindow(image, manifest.preprocessing.window);
  const { height: H, width: W, channels: C } = manifest.input;
  let resized: Float32Array;
  let contentBox = { left: 0, top: 0, width: 1, height: 1 };
  if (manifest.preprocessing.resize === 'letterbox') {
    const scale = Math.min(W / image.width, H / image.height);
    const w = Math.max(1, Math.round(image.width * scale));
    const h = Math.max(1, Math.round(image.height * scale));
    const inner = resizeArea(windowed, image.width, image.height, w, h);
    resized = new Float32Array(W * H);
    const ox = Math.floor((W - w) / 2);
    const oy = Math.floor((H - h) / 2);
    for (let y = 0; y < h; y++) resized.set(inner.subarray(y * w, (y + 1) * w), (y + oy) * W + ox);
    contentBox = { left: ox / W, top: oy / H, width: w / W, height: h / H };
  } else {
    resized = resizeArea(windowed, image.width, image.height, W, H);
  }
  const { mean, std } = manifest.preprocessing.normalization;
  const tensor = new Float32Array(W * H * C);
  for (let i = 0; i < W * H; i++) {
    const v = ((resized[i] as number) - mean) / std;
    for (let c = 0; c < C; c++) tensor[i * C + c] = v;
  }
  const display = new Uint8Array(windowed.length);
  for (let i = 0; i < windowed.length; i++) display[i] = Math.round((windowed[i] as number) * 255);
  return { tensor, display, width: image.width, height: image.height, contentBox };
}
