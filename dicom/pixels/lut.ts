/**
 * Grayscale: stored values → modality LUT (RescaleSlope/Intercept) → VOI (the dataset's first
 * window, or a 0.5–99.5 percentile window) → 0..65535, MONOCHROME1 inverted after windowing
 * (PS3.3 C.11).
 */
import type { DataSet } from 'dicom-parser';
import { ImageRejected } from '../../processors/shared/image-decode';
import { percentile } from '../../processors/shared/preprocess';
import {
  type DecodedFrame,
  type DicomPixelInfo,
  type DicomWindow,
  OUT_MAX,
  type PixelModule,
} from './types';

export function grayscale(
  ds: DataSet,
  px: PixelModule,
  decoded: DecodedFrame,
  notes: string[],
): {
  data: Float32Array;
  applied: Pick<DicomPixelInfo, 'rescaleSlope' | 'rescaleIntercept' | 'window' | 'inverted'>;
} {
  const slopeValue = ds.floatString('x00281053');
  const interceptValue = ds.floatString('x00281052');
  const slope = slopeValue ?? 1;
  const intercept = interceptValue ?? 0;
  if (!Number.isFinite(slope) || slope === 0 || !Number.isFinite(intercept)) {
    throw new ImageRejected(
      'corrupt',
      `RescaleSlope/RescaleIntercept (0028,1053/1052) = ${ds.string('x00281053')}/` +
        `${ds.string('x00281052')} is not a usable linear transform`,
    );
  }
  const hasModalityLut = ds.elements.x00283000 !== undefined;
  if (hasModalityLut) {
    notes.push('Modality LUT Sequence (0028,3000) not applied; rescale and percentile window used');
  }
  if (ds.elements.x00283010 !== undefined) {
    notes.push('VOI LUT Sequence (0028,3010) not applied');
  }
  // DX pairs MONOCHROME1 with INVERSE and MONOCHROME2 with IDENTITY; inversion follows the
  // photometric interpretation alone, so an unusual MONOCHROME2 + INVERSE is only reported.
  const presentationShape = ds.string('x20500020')?.toUpperCase();
  if (presentationShape === 'INVERSE' && px.photometric === 'MONOCHROME2') {
    notes.push('Presentation LUT Shape (2050,0020) INVERSE with MONOCHROME2 not applied');
  }

  const data = storedToModality(decoded.samples, px, decoded.cells, slope, intercept);

  let window = hasModalityLut ? undefined : datasetWindow(ds, notes);
  if (!window) {
    const [lo, hi] = percentile(data, 0.5, 99.5);
    window = {
      center: (lo + hi) / 2,
      width: hi - lo,
      source: 'percentile',
      function: 'LINEAR_EXACT',
    };
  }
  const inverted = px.photometric === 'MONOCHROME1';
  applyVoi(data, window, inverted);
  return {
    data,
    applied: { rescaleSlope: slope, rescaleIntercept: intercept, window, inverted },
  };
}

/** Stored value (BitsStored at HighBit, two's complement when signed) × slope + intercept. */
function storedToModality(
  samples: DecodedFrame['samples'],
  px: PixelModule,
  cells: boolean,
  slope: number,
  intercept: number,
): Float32Array {
  const n = px.rows * px.columns;
  const out = new Float32Array(n);
  const bits = px.bitsStored;
  // Codecs hand back the stored value at bit 0; native and RLE cells may hold it higher up.
  const shift = cells ? px.highBit + 1 - bits : 0;
  const range = 2 ** bits;
  const half = range / 2;
  const signed = px.signed;
  if (bits === 32) {
    for (let i = 0; i < n; i++) {
      let v = (samples[i] as number) >>> 0;
      if (signed && v >= half) v -= range;
      out[i] = v * slope + intercept;
    }
    return out;
  }
  const mask = range - 1;
  for (let i = 0; i < n; i++) {
    // `&` works on the 32-bit two's complement, so negative Int16 codec output masks correctly
    let v = ((samples[i] as number) >>> shift) & mask;
    if (signed && v >= half) v -= range;
    out[i] = v * slope + intercept;
  }
  return out;
}

/** The dataset's first Window Center/Width and VOI LUT Function, when valid. */
function datasetWindow(ds: DataSet, notes: string[]): DicomWindow | undefined {
  if (!ds.elements.x00281050 || !ds.elements.x00281051) return undefined;
  const center = ds.floatString('x00281050', 0);
  const width = ds.floatString('x00281051', 0);
  const fnText = (ds.string('x00281056') ?? 'LINEAR').toUpperCase();
  const fn = fnText === 'LINEAR_EXACT' || fnText === 'SIGMOID' ? fnText : 'LINEAR';
  if (fnText !== fn) notes.push(`VOI LUT Function (0028,1056) "${fnText}" unknown; LINEAR used`);
  const minWidth = fn === 'LINEAR' ? 1 : Number.MIN_VALUE;
  if (
    center === undefined ||
    width === undefined ||
    !Number.isFinite(center) ||
    !Number.isFinite(width) ||
    width < minWidth
  ) {
    notes.push(
      `Window Center/Width (0028,1050/1051) = ${ds.string('x00281050')}/` +
        `${ds.string('x00281051')} is not a valid ${fn} window; percentile window used`,
    );
    return undefined;
  }
  return { center, width, source: 'dataset', function: fn };
}

/** PS3.3 C.11.2.1.2 (LINEAR, LINEAR_EXACT) and C.11.2.1.3.1 (SIGMOID), into 0..65535. */
function applyVoi(data: Float32Array, window: DicomWindow, invert: boolean): void {
  const n = data.length;
  const { center, width } = window;
  if (window.function === 'SIGMOID') {
    const k = -4 / width;
    for (let i = 0; i < n; i++) {
      const y = OUT_MAX / (1 + Math.exp(k * ((data[i] as number) - center)));
      data[i] = invert ? OUT_MAX - y : y;
    }
    return;
  }
  // LINEAR is LINEAR_EXACT on (center - 0.5, width - 1)
  const linear = window.function === 'LINEAR';
  const c = linear ? center - 0.5 : center;
  const w = linear ? width - 1 : width;
  const lower = c - w / 2;
  const upper = c + w / 2;
  // x ≤ lower → 0; x > upper → max; in between the ramp (empty when w = 0: a threshold).
  const scale = w > 0 ? OUT_MAX / w : 0;
  const offset = OUT_MAX / 2 - c * scale;
  for (let i = 0; i < n; i++) {
    const x = data[i] as number;
    const y = x <= lower ? 0 : x > upper ? OUT_MAX : x * scale + offset;
    data[i] = invert ? OUT_MAX - y : y;
  }
}
