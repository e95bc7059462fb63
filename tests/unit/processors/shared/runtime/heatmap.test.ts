import sharp from 'sharp';
import {
  colormapLut,
  normaliseCam,
  renderHeatmap,
  resizeBilinear,
} from '../../../../../processors/shared/runtime/heatmap';

/** Pixels as stored: the PNG's own channel count (1 = gray, 3 = RGB). */
async function decode(png: Buffer) {
  const { channels = 0 } = await sharp(png).metadata();
  const image = sharp(png);
  if (channels === 1) image.toColourspace('b-w');
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels };
}

function gradientBase(width: number, height: number): Uint8Array {
  return Uint8Array.from({ length: width * height }, (_, i) => (i % width) * 3);
}

function hotCell(width: number, height: number, x: number, y: number, value = 5): Float32Array {
  const data = new Float32Array(width * height);
  data[y * width + x] = value;
  return data;
}

describe('[REQ-IMG-HEATMAP] heatmap rendering', () => {
  it('renders an RGB overlay and a gray map of exactly the original size', async () => {
    const base = { gray: gradientBase(83, 61), width: 83, height: 61 };
    const out = await renderHeatmap({
      cam: { data: hotCell(7, 7, 3, 3), width: 7, height: 7 },
      base,
    });
    const overlay = await decode(out.overlayPng);
    const map = await decode(out.mapPng);
    expect([overlay.width, overlay.height, overlay.channels]).toEqual([83, 61, 3]);
    expect([map.width, map.height, map.channels]).toEqual([83, 61, 1]);
  });

  it('maps the peak of a single hot cell to the centre of that cell in original pixels', async () => {
    const base = { gray: gradientBase(140, 70), width: 140, height: 70 };
    const out = await renderHeatmap({
      cam: { data: hotCell(7, 7, 5, 2), width: 7, height: 7 },
      base,
    });
    // cell (x 5, y 2) of 7x7 covers x 100..119, y 20..29 of 140x70; its centre is (110, 25)
    expect(out.peak).toEqual({ x: 110, y: 25 });
    const map = await decode(out.mapPng);
    let best = 0;
    for (let i = 1; i < map.data.length; i++)
      if ((map.data[i] as number) > (map.data[best] as number)) best = i;
    expect(Math.abs((best % 140) - 110)).toBeLessThanOrEqual(1);
    expect(Math.abs(Math.floor(best / 140) - 25)).toBeLessThanOrEqual(1);
    expect(map.data[best]).toBeGreaterThan(230);
    expect(map.data[0]).toBe(0); // far from the hot cell
  });

  it('maps the peak through the letterbox content box back to original pixels', async () => {
    // image occupied the middle half of the rows of an 8x8 model input (letterbox bars above/below)
    const base = { gray: gradientBase(100, 50), width: 100, height: 50 };
    const out = await renderHeatmap({
      cam: { data: hotCell(8, 8, 6, 2), width: 8, height: 8 },
      base,
      contentBox: { left: 0, top: 0.25, width: 1, height: 0.5 },
    });
    // cell row 2 is the first row of content (rows 2..5): centre at 0.5/4 of the height
    expect(out.peak).toEqual({ x: Math.floor((6.5 / 8) * 100), y: Math.floor((0.5 / 4) * 50) });
  });

  it('colour maps end at the documented anchors', () => {
    const jet = colormapLut('jet');
    expect(Array.from(jet.subarray(0, 3))).toEqual([0, 0, 128]);
    expect(Array.from(jet.subarray(765, 768))).toEqual([128, 0, 0]);
    const inferno = colormapLut('inferno');
    expect(Array.from(inferno.subarray(0, 3))).toEqual([0, 0, 4]);
    expect(Array.from(inferno.subarray(765, 768))).toEqual([252, 255, 164]);
    const gray = colormapLut('gray');
    expect(Array.from(gray.subarray(3 * 77, 3 * 78))).toEqual([77, 77, 77]);
  });

  it('blends with the opacity: 1 = pure colour map, 0 = the gray image', async () => {
    const base = { gray: gradientBase(20, 10), width: 20, height: 10 };
    const flat = { data: new Float32Array(4).fill(2), width: 2, height: 2 };
    const hot = await decode((await renderHeatmap({ cam: flat, base, opacity: 1 })).overlayPng);
    expect(Array.from(hot.data.subarray(0, 6))).toEqual([128, 0, 0, 128, 0, 0]);
    const plain = await decode(
      (await renderHeatmap({ cam: flat, base, opacity: 0, colormap: 'inferno' })).overlayPng,
    );
    for (let p = 0; p < 200; p++) expect(plain.data[p * 3]).toBe(base.gray[p]);
  });

  it('an all-zero CAM gives an all-zero map (no NaN) and the colour of 0', async () => {
    const base = { gray: new Uint8Array(30 * 20), width: 30, height: 20 };
    const out = await renderHeatmap({
      cam: { data: new Float32Array(49), width: 7, height: 7 },
      base,
      opacity: 1,
    });
    const map = await decode(out.mapPng);
    expect(map.data.every((v) => v === 0)).toBe(true);
    const overlay = await decode(out.overlayPng);
    expect(Array.from(overlay.data.subarray(0, 3))).toEqual([0, 0, 128]);
    expect(out.peak).toEqual({ x: 2, y: 1 }); // centre of cell (0, 0)
    expect(Array.from(normaliseCam(Float32Array.from([NaN, 0])))).toEqual([0, 0]);
  });

  it('bilinear resampling keeps a constant map constant and interpolates between cell centres', () => {
    expect(Array.from(resizeBilinear(new Float32Array(4).fill(0.5), 2, 2, 5, 3))).toEqual(
      new Array(15).fill(0.5),
    );
    const ramp = resizeBilinear(Float32Array.from([0, 1]), 2, 1, 4, 1);
    expect(Array.from(ramp)).toEqual([0, 0.25, 0.75, 1]);
  });
});
