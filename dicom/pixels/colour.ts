/**
 * Colour (RGB, YBR_*) and PALETTE COLOR → Rec. 601 luma over the full sample range, in
 * 0..65535 (VOI does not apply to colour, PS3.3 C.11.2).
 */
import type { DataSet } from 'dicom-parser';
import { ImageRejected } from '../../processors/shared/image-decode';
import { formatTag } from './pixel-module';
import {
  type DecodableTransferSyntax,
  type DecodedFrame,
  type DicomPixelInfo,
  OUT_MAX,
  type PixelModule,
} from './types';

const LUMA_R = 0.299;
const LUMA_G = 0.587;
const LUMA_B = 0.114;

export function colourApplied(
  bits: number,
): Pick<DicomPixelInfo, 'rescaleSlope' | 'rescaleIntercept' | 'window' | 'inverted'> {
  const max = 2 ** bits - 1;
  return {
    rescaleSlope: 1,
    rescaleIntercept: 0,
    window: { center: max / 2, width: max, source: 'none', function: 'LINEAR_EXACT' },
    inverted: false,
  };
}

/** RGB → Rec. 601 luma; YBR_* as stored → its Y (which is that luma already). */
export function colourToGray(
  px: PixelModule,
  decoded: DecodedFrame,
  ts: DecodableTransferSyntax,
): Float32Array {
  const n = px.rows * px.columns;
  const out = new Float32Array(n);
  const s = decoded.samples;
  const mask = 2 ** px.bitsStored - 1; // ≤ 16 bits: 32-bit colour is refused up front
  const shift = decoded.cells ? px.highBit + 1 - px.bitsStored : 0;
  const scale = OUT_MAX / mask;
  const isRgb = decoded.rgb || px.photometric === 'RGB';

  if (px.photometric === 'YBR_FULL_422' && !decoded.rgb) {
    if (ts.codec !== 'native') {
      throw new ImageRejected(
        'unsupported',
        `YBR_FULL_422 pixel data in ${ts.name} (${ts.uid}) is not supported`,
      );
    }
    // native 4:2:2: Y1 Y2 Cb Cr per pixel pair — luma is the Y samples
    for (let p = 0; p < n; p++) {
      const idx = (p >> 1) * 4 + (p & 1);
      out[p] = (((s[idx] as number) >>> shift) & mask) * scale;
    }
    return out;
  }
  // planar: R plane, G plane, B plane; interleaved: R G B per pixel
  const second = decoded.planar ? n : 1;
  const third = decoded.planar ? 2 * n : 2;
  for (let p = 0; p < n; p++) {
    const base = decoded.planar ? p : p * 3;
    const a = ((s[base] as number) >>> shift) & mask;
    if (!isRgb) {
      out[p] = a * scale;
      continue;
    }
    const g = ((s[base + second] as number) >>> shift) & mask;
    const b = ((s[base + third] as number) >>> shift) & mask;
    out[p] = (LUMA_R * a + LUMA_G * g + LUMA_B * b) * scale;
  }
  return out;
}

interface PaletteLut {
  entries: number;
  firstMapped: number;
  data: Float32Array;
}

/** PALETTE COLOR (PS3.3 C.7.6.3.1.5): index → R, G, B via the LUTs → luma, 16-bit scale. */
export function paletteToGray(ds: DataSet, px: PixelModule, decoded: DecodedFrame): Float32Array {
  if (ds.elements.x00281221 || ds.elements.x00281222 || ds.elements.x00281223) {
    if (!ds.elements.x00281201) {
      throw new ImageRejected(
        'unsupported',
        'Segmented Palette Color LUT Data (0028,1221-1223) is not supported',
      );
    }
  }
  const red = paletteLut(ds, 'x00281101', 'x00281201', 'Red', px.signed);
  const green = paletteLut(ds, 'x00281102', 'x00281202', 'Green', px.signed);
  const blue = paletteLut(ds, 'x00281103', 'x00281203', 'Blue', px.signed);
  if (red.entries !== green.entries || red.entries !== blue.entries) {
    throw new ImageRejected('corrupt', 'Palette Color LUT descriptors disagree on the entry count');
  }
  // Per-index luma table: one multiply-add per LUT entry rather than per pixel.
  const entries = red.entries;
  const luma = new Float32Array(entries);
  for (let i = 0; i < entries; i++) {
    luma[i] =
      LUMA_R * (red.data[i] as number) +
      LUMA_G * (green.data[i] as number) +
      LUMA_B * (blue.data[i] as number);
  }
  const n = px.rows * px.columns;
  const out = new Float32Array(n);
  const s = decoded.samples;
  const bits = px.bitsStored;
  const mask = 2 ** bits - 1;
  const half = 2 ** (bits - 1);
  const shift = decoded.cells ? px.highBit + 1 - bits : 0;
  const first = red.firstMapped;
  const last = entries - 1;
  for (let p = 0; p < n; p++) {
    let v = ((s[p] as number) >>> shift) & mask;
    if (px.signed && v >= half) v -= 2 * half;
    // PS3.3: values below the first mapped value use entry 0, above the last use the last
    let idx = v - first;
    idx = idx < 0 ? 0 : idx > last ? last : idx;
    out[p] = luma[idx] as number;
  }
  return out;
}

/** One Palette Color LUT (descriptor + data), entries scaled to 0..65535. */
function paletteLut(
  ds: DataSet,
  descriptorTag: string,
  dataTag: string,
  colour: string,
  signed: boolean,
): PaletteLut {
  const desc = ds.elements[descriptorTag];
  const dataEl = ds.elements[dataTag];
  if (!desc || desc.length < 6 || !dataEl) {
    throw new ImageRejected(
      'corrupt',
      `PALETTE COLOR without ${colour} Palette Color LUT Descriptor/Data ` +
        `(${formatTag(descriptorTag)}/${formatTag(dataTag)})`,
    );
  }
  const entries = ds.uint16(descriptorTag, 0) || 65536; // 0 means 2^16 (PS3.3 C.7.6.3.1.5)
  const firstMapped = signed
    ? (ds.int16(descriptorTag, 1) as number)
    : (ds.uint16(descriptorTag, 1) as number);
  const declaredBits = ds.uint16(descriptorTag, 2) ?? 16;
  // Some writers declare 16 bits but store one byte per entry: trust the data length.
  const bytesPerEntry = dataEl.length >= entries * 2 ? 2 : dataEl.length >= entries ? 1 : 0;
  if (bytesPerEntry === 0) {
    throw new ImageRejected(
      'corrupt',
      `${colour} Palette Color LUT Data (${formatTag(dataTag)}) holds ${dataEl.length} bytes ` +
        `for ${entries} entries`,
    );
  }
  const bits = bytesPerEntry === 1 ? 8 : declaredBits === 8 ? 8 : 16;
  const data = new Float32Array(entries);
  const scale = OUT_MAX / (2 ** bits - 1);
  for (let i = 0; i < entries; i++) {
    const v =
      bytesPerEntry === 1 ? (ds.byteArray[dataEl.dataOffset + i] as number) : ds.uint16(dataTag, i);
    data[i] = (v as number) * scale;
  }
  return { entries, firstMapped, data };
}
