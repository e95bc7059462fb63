/**
 * The attributes of a data set that drive pixel decoding (PS3.3 C.7.6.3 Image Pixel module,
 * the transfer syntax), checked for consistency and against the size limits before any decoding.
 */
import type { DataSet } from 'dicom-parser';
import { ImageRejected, type DecodeLimits } from '../../processors/shared/image-decode';
import { TRANSFER_SYNTAXES, describeTransferSyntax } from '../uids';
import type { DecodableTransferSyntax, PixelModule } from './types';

/** The decodable transfer syntax `uid` names; ImageRejected when it has no decoder here. */
export function transferSyntax(uid: string): DecodableTransferSyntax {
  if (!uid) {
    throw new ImageRejected('corrupt', 'file meta information lacks TransferSyntaxUID (0002,0010)');
  }
  const known = TRANSFER_SYNTAXES[uid];
  if (known?.codec) return { ...known, codec: known.codec, uid };
  throw new ImageRejected(
    'unsupported',
    known
      ? `transfer syntax ${uid} (${describeTransferSyntax(known)}) is not supported`
      : `transfer syntax ${uid} is unknown and not supported`,
  );
}

function requiredUint16(ds: DataSet, tag: string, name: string): number {
  const v = ds.uint16(tag);
  if (v === undefined) {
    throw new ImageRejected('corrupt', `${name} (${formatTag(tag)}) is missing`);
  }
  return v;
}

export function readPixelModule(ds: DataSet, ts: DecodableTransferSyntax): PixelModule {
  const rows = requiredUint16(ds, 'x00280010', 'Rows');
  const columns = requiredUint16(ds, 'x00280011', 'Columns');
  const bitsAllocated = requiredUint16(ds, 'x00280100', 'BitsAllocated');
  const samplesPerPixel = ds.uint16('x00280002') ?? 1;
  const photometric = (ds.string('x00280004') ?? '').toUpperCase();
  const bitsStored = ds.uint16('x00280101') ?? bitsAllocated;
  const highBit = ds.uint16('x00280102') ?? bitsStored - 1;
  const pixelRepresentation = ds.uint16('x00280103') ?? 0;
  const planarConfiguration = ds.uint16('x00280006') ?? 0;
  const framesText = ds.string('x00280008');
  const numberOfFrames = framesText === undefined || framesText === '' ? 1 : Number(framesText);

  if (rows === 0 || columns === 0) {
    throw new ImageRejected('corrupt', `Rows × Columns (0028,0010/0011) is ${rows}×${columns}`);
  }
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    throw new ImageRejected(
      'unsupported',
      `BitsAllocated (0028,0100) = ${bitsAllocated} is not supported (8, 16 or 32)`,
    );
  }
  if (bitsStored < 1 || bitsStored > bitsAllocated) {
    throw new ImageRejected(
      'corrupt',
      `BitsStored (0028,0101) = ${bitsStored} does not fit BitsAllocated ${bitsAllocated}`,
    );
  }
  if (highBit < bitsStored - 1 || highBit >= bitsAllocated) {
    throw new ImageRejected(
      'corrupt',
      `HighBit (0028,0102) = ${highBit} is inconsistent with BitsStored ${bitsStored} and ` +
        `BitsAllocated ${bitsAllocated}`,
    );
  }
  if (!Number.isInteger(numberOfFrames) || numberOfFrames < 1) {
    throw new ImageRejected('corrupt', `NumberOfFrames (0028,0008) = "${framesText}" is invalid`);
  }
  const monochrome = photometric === 'MONOCHROME1' || photometric === 'MONOCHROME2';
  const colour = ['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_RCT', 'YBR_ICT'].includes(photometric);
  if (!monochrome && !colour && photometric !== 'PALETTE COLOR') {
    throw new ImageRejected(
      'unsupported',
      `PhotometricInterpretation (0028,0004) "${photometric}" is not supported ` +
        '(MONOCHROME1/2, PALETTE COLOR, RGB, YBR_FULL, YBR_FULL_422, YBR_RCT, YBR_ICT)',
    );
  }
  if (!monochrome && bitsAllocated === 32) {
    throw new ImageRejected(
      'unsupported',
      `BitsAllocated (0028,0100) = 32 is supported for MONOCHROME1/2 only, not ${photometric}`,
    );
  }
  const expectedSamples = colour ? 3 : 1;
  if (samplesPerPixel !== expectedSamples) {
    throw new ImageRejected(
      'corrupt',
      `SamplesPerPixel (0028,0002) = ${samplesPerPixel} contradicts ` +
        `PhotometricInterpretation ${photometric}`,
    );
  }
  return {
    ts,
    rows,
    columns,
    samplesPerPixel,
    photometric,
    bitsAllocated,
    bitsStored,
    highBit,
    signed: pixelRepresentation === 1,
    planarConfiguration,
    numberOfFrames,
  };
}

export function checkLimits(px: PixelModule, limits: DecodeLimits): void {
  const { columns: w, rows: h } = px;
  if (Math.min(w, h) < limits.minSide) {
    throw new ImageRejected(
      'too-small',
      `image is ${w}×${h} (Columns×Rows); each side must be at least ${limits.minSide} px`,
    );
  }
  if (Math.max(w, h) > limits.maxSide || w * h > limits.maxPixels) {
    throw new ImageRejected(
      'too-large',
      `image is ${w}×${h} (Columns×Rows); at most ${limits.maxSide} px a side and ` +
        `${limits.maxPixels} pixels`,
    );
  }
}

/** A codec's frame size must be Columns × Rows. */
export function checkDimensions(
  where: string,
  width: number,
  height: number,
  px: PixelModule,
): void {
  if (width !== px.columns || height !== px.rows) {
    throw new ImageRejected(
      'corrupt',
      `${where}: codestream is ${width}×${height}; Columns×Rows (0028,0011/0010) is ` +
        `${px.columns}×${px.rows}`,
    );
  }
}

/** x00280010 → 0028,0010 */
export function formatTag(tag: string): string {
  const hex = tag.replace(/^x/, '').toUpperCase();
  return `${hex.slice(0, 4)},${hex.slice(4)}`;
}
