/**
 * dicom/pixels grayscale: rescale, VOI windows (dataset and percentile), MONOCHROME1, stored
 * bits — against the standard's formulas and dcmtk's dcm2pnm. Needs dcmtk on PATH.
 */
import { decodeDicomGray } from '../../../../dicom/pixels';
import {
  correlation,
  dcmtk,
  diff,
  readPnm,
  to8bit,
  useDcmtkWorkspace,
} from '../../../helpers/dicom-pixels';
import { makeDicomInstance } from '../../../helpers/dicom-fixtures';

useDcmtkWorkspace();

describe('[REQ-IMG-DICOM] pixel semantics', () => {
  const W = 64;
  const H = 48;
  /** A 12-bit ramp with a few extreme values: stored value = (x * 64 + y) mod 4096. */
  const ramp = () => {
    const px = new Uint16Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px[y * W + x] = (x * 64 + y) % 4096;
    return px;
  };
  const small = { rows: H, columns: W };
  const limits = { minSide: 8, maxSide: 8192, maxPixels: 8192 * 8192 };

  /** PS3.3 C.11.2.1.2.1 LINEAR, as the standard writes it, into 0..65535. */
  const linear = (x: number, c: number, w: number) => {
    if (x <= c - 0.5 - (w - 1) / 2) return 0;
    if (x > c - 0.5 + (w - 1) / 2) return 65535;
    return ((x - (c - 0.5)) / (w - 1) + 0.5) * 65535;
  };

  it('applies rescale then the first dataset window (LINEAR), per the standard', async () => {
    const pixels = ramp();
    const bytes = makeDicomInstance({
      ...small,
      pixels,
      rescale: { slope: 2, intercept: -1000 },
      window: { center: [3000, 100], width: [4001, 50] },
    });
    const img = await decodeDicomGray(bytes, { limits });
    expect(img.dicom).toMatchObject({
      rescaleSlope: 2,
      rescaleIntercept: -1000,
      window: { center: 3000, width: 4001, source: 'dataset', function: 'LINEAR' },
      inverted: false,
    });
    for (let i = 0; i < pixels.length; i++) {
      const expected = linear(pixels[i]! * 2 - 1000, 3000, 4001);
      if (Math.abs(img.data[i]! - expected) > 0.01) {
        throw new Error(`pixel ${i}: ${img.data[i]} ≠ ${expected}`);
      }
    }
  });

  it.each([
    ['MONOCHROME2', 'LINEAR'],
    ['MONOCHROME2', 'LINEAR_EXACT'],
    ['MONOCHROME2', 'SIGMOID'],
    ['MONOCHROME1', 'LINEAR'],
    ['MONOCHROME1', 'SIGMOID'],
  ] as const)('%s with a %s window matches dcmtk’s dcm2pnm', async (photometric, fn) => {
    const bytes = makeDicomInstance({
      photometric,
      bitsStored: 16,
      signed: true,
      rescale: { slope: 2, intercept: -100 },
      window: { center: 3000, width: 2500, function: fn },
    });
    const img = await decodeDicomGray(bytes);
    expect(img.dicom.window).toMatchObject({ source: 'dataset', function: fn });
    const pgm = readPnm(dcmtk('dcm2pnm', ['+Wi', '1', '+op'], bytes, 'pgm'));
    const d = diff(to8bit(img.data), pgm.gray);
    expect(d.max).toBeLessThanOrEqual(1.1); // 8-bit rounding
    expect(d.mean).toBeLessThan(0.5);
  });

  it('inverts MONOCHROME1 after windowing (dataset and percentile windows)', async () => {
    const pixels = ramp();
    for (const window of [{ center: 2000, width: 3000 }, undefined]) {
      const mono2 = await decodeDicomGray(
        makeDicomInstance({ ...small, pixels, window, photometric: 'MONOCHROME2' }),
        { limits },
      );
      const mono1 = await decodeDicomGray(
        makeDicomInstance({ ...small, pixels, window, photometric: 'MONOCHROME1' }),
        { limits },
      );
      expect([mono1.dicom.inverted, mono2.dicom.inverted]).toEqual([true, false]);
      for (let i = 0; i < mono1.data.length; i++) {
        if (Math.abs(mono1.data[i]! + mono2.data[i]! - 65535) > 0.01) {
          throw new Error(`pixel ${i}: ${mono1.data[i]} + ${mono2.data[i]} ≠ 65535`);
        }
      }
    }
  });

  it('displays a generated MONOCHROME1 phantom like its MONOCHROME2 twin', async () => {
    const mono2 = await decodeDicomGray(makeDicomInstance({ photometric: 'MONOCHROME2' }));
    const mono1 = await decodeDicomGray(makeDicomInstance({ photometric: 'MONOCHROME1' }));
    expect(correlation(mono1.data, mono2.data)).toBeGreaterThan(0.99);
  });

  it('without a dataset window, windows the 0.5–99.5 percentiles of the modality values', async () => {
    const pixels = new Uint16Array(200 * 100);
    // a skewed distribution without heavy ties: strictly increasing in u, a long bright tail
    for (let i = 0; i < pixels.length; i++) {
      const u = ((i * 7919) % 20000) / 20000;
      pixels[i] = Math.round(500 + 3000 * u + 500 * u ** 8);
    }
    const img = await decodeDicomGray(
      makeDicomInstance({ rows: 100, columns: 200, pixels, rescale: { slope: 3, intercept: -7 } }),
    );
    const sorted = Array.from(pixels, (v) => v * 3 - 7).sort((a, b) => a - b);
    const lo = sorted[Math.floor(0.005 * sorted.length)]!;
    const hi = sorted[Math.floor(0.995 * sorted.length)]!;
    const bin = (sorted[sorted.length - 1]! - sorted[0]!) / 4095; // the histogram's resolution
    const { window } = img.dicom;
    expect(window.source).toBe('percentile');
    expect(Math.abs(window.center - window.width / 2 - lo)).toBeLessThanOrEqual(2 * bin);
    expect(Math.abs(window.center + window.width / 2 - hi)).toBeLessThanOrEqual(2 * bin);
    const black = img.data.filter((v) => v === 0).length / img.data.length;
    const white = img.data.filter((v) => v === 65535).length / img.data.length;
    expect(black).toBeGreaterThan(0.002);
    expect(black).toBeLessThan(0.02);
    expect(white).toBeGreaterThan(0.002);
    expect(white).toBeLessThan(0.02);
  });

  it('ignores an invalid dataset window (width 0), says so, and uses percentiles', async () => {
    const img = await decodeDicomGray(
      makeDicomInstance({ ...small, pixels: ramp(), window: { center: 0, width: 0 } }),
      { limits },
    );
    expect(img.dicom.window.source).toBe('percentile');
    expect(img.dicom.notes.join()).toMatch(/Window Center\/Width .* not a valid LINEAR window/);
  });

  it('masks bits above BitsStored, and sign-extends signed values from BitsStored', async () => {
    const clean = ramp();
    const dirty = clean.map((v) => v | 0xa000); // junk in the 4 unused high bits
    const window = { center: 2048, width: 4096 };
    const a = await decodeDicomGray(makeDicomInstance({ ...small, pixels: clean, window }), {
      limits,
    });
    const b = await decodeDicomGray(makeDicomInstance({ ...small, pixels: dirty, window }), {
      limits,
    });
    expect(diff(a.data, b.data).max).toBe(0);

    // signed 12-bit: -5 written sign-extended (0xFFFB) and bare (0x0FFB) reads the same, -5
    const values = Array.from({ length: W * H }, (_, i) => (i % 4096) - 2048);
    const extended = new Uint16Array(values.map((v) => v & 0xffff));
    const bare = new Uint16Array(values.map((v) => v & 0x0fff));
    const signedWindow = { center: 0, width: 4096, function: 'LINEAR_EXACT' as const };
    const opts = { ...small, signed: true, window: signedWindow };
    const c = await decodeDicomGray(makeDicomInstance({ ...opts, pixels: extended }), { limits });
    const d = await decodeDicomGray(makeDicomInstance({ ...opts, pixels: bare }), { limits });
    expect(diff(c.data, d.data).max).toBe(0);
    // value v maps to (v / 4096 + 0.5) * 65535: the most negative value is black
    expect(c.data[0]).toBeCloseTo(0, 3);
    expect(c.data[2048]).toBeCloseTo(32767.5, 1);
  });
});
