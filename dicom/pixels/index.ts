/**
 * DICOM pixel decoding: a stored Part-10 instance → one gray channel (`GrayImage`) that
 * `preprocess()` accepts like a decoded PNG/JPEG.
 *
 * Pipeline (PS3.3 C.7.6.3, C.11): transfer-syntax decode (native, RLE, JPEG family, JPEG-LS,
 * JPEG 2000) → stored values (BitsStored/HighBit/PixelRepresentation) → modality LUT
 * (RescaleSlope/Intercept) → VOI (the dataset's first Window Center/Width, or a robust
 * 0.5–99.5 percentile window when it has none) → 0..65535 → MONOCHROME1 inverted. Colour
 * (RGB/YBR) and PALETTE COLOR become Rec. 601 luma over their full sample range (VOI does not
 * apply to colour, PS3.3 C.11.2).
 *
 * The output range is always 0..65535 (`maxValue` 65535, `bitsPerSample` 16), whatever the
 * source depth: windowing maps into [0, 1] anyway, and one range keeps downstream simple. The
 * values are continuous (not rounded): the float output of the VOI function, scaled.
 *
 * Codecs are the cornerstone WebAssembly builds ("_decode" variants) and jpeg-lossless-decoder-js,
 * each loaded lazily on first use and cached for the life of the process (or worker thread).
 *
 * Layout: this entry reads the Part-10 data set (dicom/part10.ts) and runs the stages —
 * pixel-module.ts (attributes, transfer syntax, limits), codecs/ (native, encapsulated fragments,
 * RLE, JPEG, JPEG-LS, JPEG 2000; wasm-codec.ts loads the WebAssembly modules), lut.ts (rescale,
 * VOI, MONOCHROME1) and colour.ts (RGB/YBR and palette → luma).
 */
import type { DataSet, Element as DicomElement } from 'dicom-parser';
import { EngineError } from '../../engine/errors';
import { DEFAULT_DECODE_LIMITS, ImageRejected } from '../../processors/shared/image-decode';
import { readPart10 } from '../part10';
import { classifyDicomSopClass } from '../uids';
import { encapsulatedFrame } from './codecs/encapsulated';
import { nativeFrame } from './codecs/native';
import { colourApplied, colourToGray, paletteToGray } from './colour';
import { grayscale } from './lut';
import { checkLimits, readPixelModule, transferSyntax } from './pixel-module';
import type { DecodeDicomOptions, DicomGrayImage, DicomPixelInfo } from './types';

export type { DecodeDicomOptions, DicomGrayImage, DicomPixelInfo, DicomWindow } from './types';

/**
 * Decodes one frame of a DICOM Part-10 instance to a single gray channel in 0..65535.
 *
 * Contract:
 * - input: the stored Part-10 bytes (128-byte preamble, "DICM", file meta, data set); the input
 *   is not modified;
 * - output: width = Columns, height = Rows, finite values in [0, 65535], `maxValue` 65535,
 *   `bitsPerSample` 16, `format` 'dicom', `sourceChannels` = SamplesPerPixel, and `dicom`
 *   recording what was applied (transfer syntax, rescale, window and its source, inversion);
 * - grayscale: stored value (BitsStored, sign by PixelRepresentation) × RescaleSlope +
 *   RescaleIntercept, then the dataset's first Window Center/Width with its VOI LUT Function
 *   (PS3.3 C.11.2.1.2), or when the dataset has no valid window a LINEAR_EXACT window over the
 *   0.5–99.5 percentiles; MONOCHROME1 is inverted after windowing;
 * - colour (RGB, YBR_FULL, YBR_FULL_422, YBR_RCT/ICT) and PALETTE COLOR: Rec. 601 luma over the
 *   full sample range, no window;
 * - throws ImageRejected: 'unsupported' (transfer syntax without a codec here, non-image SOP
 *   class, "no pixel data", BitsAllocated other than 8/16/32, 12-bit lossy JPEG, frame out of
 *   range, ...), 'corrupt' (not Part-10, truncated, codec failure, inconsistent attributes or
 *   fragments), 'too-small' / 'too-large' (Rows/Columns against `limits`). Messages name the
 *   attribute or transfer syntax and never contain patient data.
 */
export async function decodeDicomGray(
  part10: Uint8Array,
  options: DecodeDicomOptions = {},
): Promise<DicomGrayImage> {
  const limits = options.limits ?? DEFAULT_DECODE_LIMITS;
  const frame = options.frame ?? 0;
  const ds = readImagePart10(part10);

  const tsUid = ds.string('x00020010') ?? '';
  const sopClassUid = ds.string('x00020002') ?? ds.string('x00080016');
  const hasPixelData = ds.elements.x7fe00010 !== undefined;

  if (sopClassUid) {
    const sop = classifyDicomSopClass(sopClassUid);
    if (!sop.image && !sop.kind.startsWith('unknown')) {
      throw new ImageRejected(
        'unsupported',
        `SOP class ${sopClassUid} (${sop.kind}) is not an image` +
          (hasPixelData ? '; its pixel data is not decoded' : ': no pixel data to decode'),
      );
    }
  }
  if (!hasPixelData) {
    const other = ds.elements.x7fe00008
      ? 'Float Pixel Data (7FE0,0008) is not supported'
      : ds.elements.x7fe00009
        ? 'Double Float Pixel Data (7FE0,0009) is not supported'
        : undefined;
    throw new ImageRejected(
      'unsupported',
      `no pixel data: the instance has no Pixel Data (7FE0,0010)${other ? `; ${other}` : ''}`,
    );
  }
  const pixelElement = ds.elements.x7fe00010 as DicomElement;
  if (pixelElement.length === 0) {
    throw new ImageRejected('unsupported', 'no pixel data: Pixel Data (7FE0,0010) is empty');
  }

  const ts = transferSyntax(tsUid);
  const px = readPixelModule(ds, ts);
  checkLimits(px, limits);

  if (!Number.isInteger(frame) || frame < 0 || frame >= px.numberOfFrames) {
    throw new ImageRejected(
      'unsupported',
      `frame ${frame} requested; the instance has ${px.numberOfFrames} frame(s) ` +
        '(NumberOfFrames (0028,0008)), numbered from 0',
    );
  }

  const decoded =
    ts.codec === 'native'
      ? nativeFrame(ds, pixelElement, px, frame)
      : await encapsulatedFrame(ds, pixelElement, px, frame);

  const notes: string[] = [];
  const common = {
    transferSyntaxUid: ts.uid,
    transferSyntaxName: ts.name,
    sopClassUid,
    photometricInterpretation: px.photometric,
    samplesPerPixel: px.samplesPerPixel,
    bitsAllocated: px.bitsAllocated,
    bitsStored: px.bitsStored,
    highBit: px.highBit,
    pixelRepresentation: px.signed ? (1 as const) : (0 as const),
    numberOfFrames: px.numberOfFrames,
    frame,
    notes,
  };

  let data: Float32Array;
  let info: DicomPixelInfo;
  if (px.photometric === 'MONOCHROME1' || px.photometric === 'MONOCHROME2') {
    const result = grayscale(ds, px, decoded, notes);
    data = result.data;
    info = { ...common, ...result.applied };
  } else if (px.photometric === 'PALETTE COLOR') {
    data = paletteToGray(ds, px, decoded);
    info = { ...common, ...colourApplied(16) };
  } else {
    data = colourToGray(px, decoded, ts);
    info = { ...common, ...colourApplied(px.bitsStored) };
  }

  return {
    data,
    width: px.columns,
    height: px.rows,
    maxValue: 65535,
    format: 'dicom',
    sourceChannels: px.samplesPerPixel,
    bitsPerSample: 16,
    dicom: info,
  };
}

/** The Part-10 data set with its pixel data located; unreadable input is ImageRejected 'corrupt'. */
function readImagePart10(part10: Uint8Array): DataSet {
  try {
    return readPart10(part10);
  } catch (err) {
    if (err instanceof EngineError) throw new ImageRejected('corrupt', err.message, err.cause);
    throw err;
  }
}
