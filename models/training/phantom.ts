/**
 * Synthetic frontal chest-radiograph phantoms for training and testing the demo classifier.
 *
 * Not real anatomy and not real disease: a handful of smooth shapes that look roughly like a PA
 * chest film (dark air outside the body, soft-tissue thorax, two dark lung fields, bright
 * mediastinum and heart shadow, clavicles, ribs, diaphragm domes), with per-image jitter of
 * position, size, rotation, noise and contrast. Three classes:
 *
 * - covid19: bilateral, peripheral, patchy ground-glass opacities — several soft, faint blobs in
 *   the lower/outer zones of BOTH lungs;
 * - normal: clear lungs (empty lesion mask);
 * - pneumonia: one dense lobar consolidation in ONE lung (usually a lower zone): larger, denser,
 *   sharper-bordered, sometimes cut straight by a fissure and crossed by darker air-bronchogram
 *   streaks.
 *
 * Everything is drawn in continuous coordinates, so the same random draws render the same
 * picture at any size; all randomness comes from the `rng` passed in (see `createRng`).
 */

export const PHANTOM_LABELS = ['covid19', 'normal', 'pneumonia'] as const;
export type PhantomLabel = (typeof PHANTOM_LABELS)[number];

/** A uniform random source in [0, 1). */
export type Rng = () => number;

/** mulberry32: a small, fast, seeded 32-bit PRNG (same seed → same sequence on every platform). */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviate (Box–Muller) from a uniform source. */
export function gaussian(rng: Rng): number {
  const u = 1 - rng(); // (0, 1]
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng();

export interface PhantomOptions {
  /** Width and height in pixels. */
  size: number;
  label: PhantomLabel;
}

export interface Phantom {
  /** size×size, row-major, values in [0, 1] (0 = black = air). */
  image: Float32Array;
  /** size×size, 1 where a lesion (opacity) is. All zero for 'normal'. */
  mask: Uint8Array;
  label: PhantomLabel;
  /** size×size lung fields: 0 outside, 1 the lung on the image's left, 2 the one on its right. */
  lungMask: Uint8Array;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Bilinear value noise: a (g+1)×(g+1) grid of N(0, 1) values, sampled at (u, v) in [0, 1]. */
class ValueNoise {
  private readonly grid: Float64Array;
  constructor(
    rng: Rng,
    private readonly g: number,
  ) {
    this.grid = new Float64Array((g + 1) * (g + 1));
    for (let i = 0; i < this.grid.length; i++) this.grid[i] = gaussian(rng);
  }
  at(u: number, v: number): number {
    const g = this.g;
    const x = Math.min(g - 1e-9, Math.max(0, u * g));
    const y = Math.min(g - 1e-9, Math.max(0, v * g));
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const tx = x - x0;
    const ty = y - y0;
    // smoothstep weights: no visible grid creases
    const sx = tx * tx * (3 - 2 * tx);
    const sy = ty * ty * (3 - 2 * ty);
    const i = y0 * (g + 1) + x0;
    const a = this.grid[i]!;
    const b = this.grid[i + 1]!;
    const c = this.grid[i + g + 1]!;
    const d = this.grid[i + g + 2]!;
    return (a * (1 - sx) + b * sx) * (1 - sy) + (c * (1 - sx) + d * sx) * sy;
  }
}

interface Lung {
  side: -1 | 1;
  /** centre, half width, half height (body coordinates: units of image size, y down) */
  x: number;
  y: number;
  w: number;
  h: number;
  /** how far below the lung centre (in half heights) the diaphragm dome peaks */
  dome: number;
}

interface Heart {
  x: number;
  y: number;
  a: number;
  b: number;
}

/** Soft (0..1) membership of body point (X, Y) in a lung field, the heart excluded. */
function lungMembership(l: Lung, heart: Heart, X: number, Y: number): number {
  const dy = (Y - l.y) / l.h;
  // egg shape: narrow apex, broad base
  const halfWidth = l.w * (0.78 + 0.22 * Math.max(-1, Math.min(1, dy)));
  const dx = (X - l.x) / halfWidth;
  const r = Math.sqrt(dx * dx + dy * dy);
  const inEgg = sigmoid((1 - r) / 0.035);
  // diaphragm dome: highest mid-lung, costophrenic / cardiophrenic sulci lower
  const lateral = (X - l.x) / l.w;
  const domeY = l.y + l.h * (l.dome + 0.22 * lateral * lateral);
  const aboveDiaphragm = sigmoid((domeY - Y) / 0.006);
  // heart and mediastinum carve the medial border
  const hx = (X - heart.x) / heart.a;
  const hy = (Y - heart.y) / heart.b;
  const outsideHeart = sigmoid((Math.sqrt(hx * hx + hy * hy) - 1) / 0.04);
  const outsideMediastinum = sigmoid((Math.abs(X - heart.x * 0.3) - 0.045) / 0.006);
  return inEgg * aboveDiaphragm * outsideHeart * outsideMediastinum;
}

/** A soft blob with an irregular (angularly modulated) outline. */
interface Blob {
  x: number;
  y: number;
  /** semi-axes before rotation */
  a: number;
  b: number;
  angle: number;
  /** outline modulation: r(θ) = 1 + m1 sin(3θ + p1) + m2 sin(5θ + p2) */
  m1: number;
  p1: number;
  m2: number;
  p2: number;
  /** edge softness (in units of the radius) and peak density */
  edge: number;
  amp: number;
  /** optional straight fissure: density kept only where (X, Y)·n ≥ c (soft over 0.004) */
  fissure?: { nx: number; ny: number; c: number };
}

/** Density (0..1, before `amp`) of a blob at (X, Y). */
function blobDensity(bl: Blob, X: number, Y: number): number {
  const dx = X - bl.x;
  const dy = Y - bl.y;
  const ca = Math.cos(bl.angle);
  const sa = Math.sin(bl.angle);
  const u = (ca * dx + sa * dy) / bl.a;
  const v = (-sa * dx + ca * dy) / bl.b;
  const r = Math.sqrt(u * u + v * v);
  if (r > 3) return 0;
  const th = Math.atan2(v, u);
  const rim = 1 + bl.m1 * Math.sin(3 * th + bl.p1) + bl.m2 * Math.sin(5 * th + bl.p2);
  let f = sigmoid((rim - r) / bl.edge);
  if (bl.fissure) f *= sigmoid((X * bl.fissure.nx + Y * bl.fissure.ny - bl.fissure.c) / 0.004);
  return f;
}

interface Segment {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  width: number;
}

function segmentDistance(s: Segment, X: number, Y: number): number {
  const vx = s.x1 - s.x0;
  const vy = s.y1 - s.y0;
  const len2 = vx * vx + vy * vy;
  const t = Math.max(0, Math.min(1, ((X - s.x0) * vx + (Y - s.y0) * vy) / len2));
  const px = s.x0 + t * vx - X;
  const py = s.y0 + t * vy - Y;
  return Math.sqrt(px * px + py * py);
}

/** Draws a point inside the lung (membership ≥ 0.95) from `propose`; null after 60 tries. */
function pointInLung(
  lung: Lung,
  heart: Heart,
  propose: () => [number, number],
): [number, number] | null {
  for (let i = 0; i < 60; i++) {
    const [x, y] = propose();
    if (lungMembership(lung, heart, x, y) >= 0.95) return [x, y];
  }
  return null;
}

/**
 * One phantom radiograph of the given class. Consumes a variable number of draws from `rng`;
 * generating a sequence of phantoms from one seeded rng is reproducible.
 */
export function generatePhantom(rng: Rng, options: PhantomOptions): Phantom {
  const { size, label } = options;
  if (!Number.isInteger(size) || size < 16)
    throw new Error(`phantom size must be ≥ 16, got ${size}`);
  if (!PHANTOM_LABELS.includes(label)) throw new Error(`unknown phantom label '${String(label)}'`);

  // ---- patient pose and anatomy (all in body coordinates, units of image size, y down) ----
  const cx = 0.5 + 0.02 * Math.max(-2, Math.min(2, gaussian(rng)));
  const cy = 0.5 + 0.02 * Math.max(-2, Math.min(2, gaussian(rng)));
  const scale = uniform(rng, 0.92, 1.07);
  const aspect = uniform(rng, 0.95, 1.05);
  const rot = uniform(rng, -0.06, 0.06);
  const cosR = Math.cos(rot);
  const sinR = Math.sin(rot);

  const torsoHalfWidth = uniform(rng, 0.43, 0.48);
  const neckHalfWidth = uniform(rng, 0.1, 0.13);
  const shoulderY = uniform(rng, -0.42, -0.37);
  const lungY = uniform(rng, -0.05, -0.02);
  const lungH = uniform(rng, 0.28, 0.31);
  const lungs: Lung[] = ([-1, 1] as const).map((side) => ({
    side,
    x: side * uniform(rng, 0.185, 0.205),
    y: lungY + uniform(rng, -0.008, 0.008),
    w: uniform(rng, 0.14, 0.16),
    h: lungH * uniform(rng, 0.96, 1.04),
    // the right hemidiaphragm (image left, patient's right) sits a little higher
    dome: side === -1 ? uniform(rng, 0.68, 0.76) : uniform(rng, 0.74, 0.82),
  }));
  const heart: Heart = {
    x: uniform(rng, 0.04, 0.065),
    y: lungY + lungH * uniform(rng, 0.52, 0.62),
    a: uniform(rng, 0.14, 0.17),
    b: uniform(rng, 0.11, 0.135),
  };
  const diaphragmY = lungY + lungH * 0.8;
  const clavicleY = lungY - lungH * uniform(rng, 0.78, 0.88);
  const ribTop = lungY - lungH * uniform(rng, 0.95, 1.02);
  const ribGap = lungH * uniform(rng, 0.2, 0.22);
  const ribTilt = uniform(rng, 0.05, 0.08);
  const ribBend = uniform(rng, 0.08, 0.12);

  // ---- background textures and global look ----
  const broad = new ValueNoise(rng, 5);
  const fine = new ValueNoise(rng, 22);
  const mottle = new ValueNoise(rng, 14);
  const grain = uniform(rng, 0.006, 0.018);
  const gamma = uniform(rng, 0.8, 1.25);
  const contrast = uniform(rng, 0.85, 1.12);
  const brightness = uniform(rng, -0.05, 0.05);
  const tissueLevel = uniform(rng, 0.5, 0.58);
  const lungDarkness = uniform(rng, 0.3, 0.36);

  // ---- lesions ----
  const blobs: Blob[] = [];
  const bronchograms: Segment[] = [];
  if (label === 'covid19') {
    for (const lung of lungs) {
      const n = 3 + Math.floor(rng() * 3);
      for (let i = 0; i < n; i++) {
        // peripheral (outer half) and lower two thirds of the lung
        const at = pointInLung(lung, heart, () => [
          lung.x + lung.side * lung.w * uniform(rng, 0.25, 0.85),
          lung.y + lung.h * uniform(rng, -0.15, 0.65),
        ]);
        if (!at) continue;
        const r = uniform(rng, 0.045, 0.075);
        blobs.push({
          x: at[0],
          y: at[1],
          a: r * uniform(rng, 0.8, 1.25),
          b: r * uniform(rng, 0.8, 1.25),
          angle: uniform(rng, 0, Math.PI),
          m1: uniform(rng, 0.05, 0.25),
          p1: uniform(rng, 0, 2 * Math.PI),
          m2: uniform(rng, 0.03, 0.15),
          p2: uniform(rng, 0, 2 * Math.PI),
          edge: uniform(rng, 0.18, 0.28),
          amp: uniform(rng, 0.14, 0.22),
        });
      }
    }
  } else if (label === 'pneumonia') {
    const lung = lungs[rng() < 0.5 ? 0 : 1]!;
    const lower = rng() < 0.7;
    const at = pointInLung(lung, heart, () => [
      lung.x + lung.side * lung.w * uniform(rng, -0.2, 0.45),
      lung.y + lung.h * (lower ? uniform(rng, 0.1, 0.45) : uniform(rng, -0.5, -0.05)),
    ]) ?? [lung.x + lung.side * lung.w * 0.2, lung.y + lung.h * 0.3];
    const a = uniform(rng, 0.1, 0.14);
    const b = uniform(rng, 0.085, 0.12);
    const blob: Blob = {
      x: at[0],
      y: at[1],
      a,
      b,
      angle: uniform(rng, -0.5, 0.5),
      m1: uniform(rng, 0.03, 0.12),
      p1: uniform(rng, 0, 2 * Math.PI),
      m2: uniform(rng, 0.02, 0.08),
      p2: uniform(rng, 0, 2 * Math.PI),
      edge: uniform(rng, 0.03, 0.06),
      amp: uniform(rng, 0.28, 0.38),
    };
    if (rng() < 0.5) {
      // a fissure: straight, slightly oblique upper border across the top of the consolidation
      const tilt = lung.side * uniform(rng, 0.1, 0.35);
      const nx = -Math.sin(tilt);
      const ny = Math.cos(tilt);
      blob.fissure = { nx, ny, c: at[0] * nx + (at[1] - b * uniform(rng, 0.3, 0.6)) * ny };
    }
    blobs.push(blob);
    if (rng() < 0.6) {
      // air bronchograms: thin dark branching streaks from the hilar side outwards
      const n = 2 + Math.floor(rng() * 3);
      const hx = at[0] - lung.side * a * 0.6;
      const hy = at[1] - b * 0.5;
      for (let i = 0; i < n; i++) {
        const dir = Math.PI / 2 - lung.side * uniform(rng, 0.2, 1.1);
        const len = uniform(rng, 0.5, 1.0) * Math.max(a, b);
        const x1 = hx + Math.cos(dir) * len;
        const y1 = hy + Math.sin(dir) * len;
        bronchograms.push({ x0: hx, y0: hy, x1, y1, width: uniform(rng, 0.004, 0.007) });
        const branch = dir + lung.side * uniform(rng, -0.6, 0.6);
        bronchograms.push({
          x0: (hx + x1) / 2,
          y0: (hy + y1) / 2,
          x1: (hx + x1) / 2 + Math.cos(branch) * len * 0.5,
          y1: (hy + y1) / 2 + Math.sin(branch) * len * 0.5,
          width: uniform(rng, 0.003, 0.005),
        });
      }
    }
  }

  // ---- render ----
  const n = size * size;
  const image = new Float32Array(n);
  const mask = new Uint8Array(n);
  const lungMask = new Uint8Array(n);
  const grainNoise = new Float32Array(n);
  for (let i = 0; i < n; i++) grainNoise[i] = gaussian(rng) * grain;

  for (let py = 0; py < size; py++) {
    const v = (py + 0.5) / size;
    for (let px = 0; px < size; px++) {
      const u = (px + 0.5) / size;
      const du = (u - cx) / (scale * aspect);
      const dv = (v - cy) / scale;
      const X = cosR * du + sinR * dv;
      const Y = -sinR * du + cosR * dv;
      const i = py * size + px;

      // body outline: neck, sloping shoulders, slightly barrel-shaped thorax
      const yt = (Y - 0.05) / 0.62;
      const torso = torsoHalfWidth * (1 - 0.2 * yt * yt);
      const halfWidth = neckHalfWidth + (torso - neckHalfWidth) * sigmoid((Y - shoulderY) / 0.035);
      const inBody = sigmoid((halfWidth - Math.abs(X)) / 0.012);
      const across = X / halfWidth;
      const thickness = Math.sqrt(Math.max(0, 1 - across * across));
      let val = 0.04 + inBody * (tissueLevel - 0.1 + 0.16 * thickness);

      // spine and mediastinum: brighter midline band
      val += inBody * 0.09 * Math.exp(-((X / 0.055) ** 2));
      // heart shadow, blending into the mediastinum
      const hx = (X - heart.x) / heart.a;
      const hy = (Y - heart.y) / heart.b;
      val += inBody * 0.1 * sigmoid((1 - Math.sqrt(hx * hx + hy * hy)) / 0.06);
      // upper abdomen below the diaphragm (liver) a little denser
      val += inBody * 0.05 * sigmoid((Y - diaphragmY - 0.03) / 0.02);

      // lung fields
      let lungSoft = 0;
      let lungIndex = 0;
      for (let k = 0; k < 2; k++) {
        const m = lungMembership(lungs[k]!, heart, X, Y);
        if (m > lungSoft) {
          lungSoft = m;
          lungIndex = k + 1;
        }
      }
      const hilar = Math.exp(-(((Math.abs(X) - 0.1) / 0.06) ** 2) - ((Y - lungY) / 0.12) ** 2);
      val -= lungSoft * lungDarkness * (1 - 0.25 * hilar);
      val += lungSoft * (0.025 * fine.at(u, v) + 0.05 * hilar);
      if (lungSoft > 0.5) lungMask[i] = lungIndex;

      // clavicles
      const ax = Math.abs(X);
      if (ax > 0.02 && ax < 0.36) {
        const t = (ax - 0.02) / 0.3;
        const yc = clavicleY - 0.05 * t + 0.045 * t * t;
        const d = (Y - yc) / 0.014;
        if (d * d < 16) val += inBody * 0.2 * Math.exp(-d * d) * Math.min(1, (0.36 - ax) / 0.03);
      }
      // ribs: curved bands, sloping down laterally, brighter over the dark lungs
      if (ax > 0.03 && ax < 0.4 && inBody > 0.01) {
        const t = (ax - 0.03) / 0.35;
        const bend = ribTilt * t + ribBend * t * t - 0.04 * t;
        const fade =
          Math.min(1, (0.4 - ax) / 0.04) * inBody * sigmoid((diaphragmY + 0.06 - Y) / 0.03);
        for (let r = 0; r < 10; r++) {
          const yc = ribTop + r * ribGap + bend;
          const d = (Y - yc) / 0.011;
          if (d * d < 16) val += fade * (0.07 + 0.05 * lungSoft) * Math.exp(-d * d);
        }
      }

      // lesions (inside the lung fields only)
      let lesion = 0;
      let lesionDensity = 0;
      if (blobs.length > 0 && lungSoft > 0.01) {
        let keep = 1;
        for (const bl of blobs) {
          const f = blobDensity(bl, X, Y);
          keep *= 1 - f;
          lesion += bl.amp * f;
        }
        lesionDensity = 1 - keep;
        if (label === 'covid19') lesion *= 0.7 + 0.3 * (0.5 + 0.5 * Math.tanh(mottle.at(u, v)));
        let streak = 0;
        for (const s of bronchograms) {
          const d = segmentDistance(s, X, Y) / s.width;
          if (d < 4) streak = Math.max(streak, Math.exp(-d * d));
        }
        if (label === 'pneumonia') lesion *= 0.85 + 0.15 * Math.tanh(mottle.at(u, v));
        lesion -= 0.45 * lesion * streak;
        lesion *= lungSoft;
        val += lesion;
        if (lesionDensity > 0.5 && lungSoft > 0.5) mask[i] = 1;
      }

      val += 0.03 * broad.at(u, v) + grainNoise[i]!;
      image[i] = val;
    }
  }

  // global exposure: gamma, contrast, brightness
  for (let i = 0; i < n; i++) {
    let x = image[i]!;
    x = x <= 0 ? 0 : x >= 1 ? 1 : x;
    x = Math.pow(x, gamma);
    x = (x - 0.5) * contrast + 0.5 + brightness;
    image[i] = x <= 0 ? 0 : x >= 1 ? 1 : x;
  }
  return { image, mask, label, lungMask };
}
