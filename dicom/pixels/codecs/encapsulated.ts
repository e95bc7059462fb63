/**
 * Encapsulated pixel data (PS3.5 A.4): one frame's bytes found among the fragments (basic or
 * extended offset table, one fragment per frame, or JPEG end markers), then handed to the
 * decoder of the transfer syntax.
 */
import {
  createJPEGBasicOffsetTable,
  readEncapsulatedImageFrame,
  readEncapsulatedPixelDataFromFragments,
  type DataSet,
  type Element as DicomElement,
} from 'dicom-parser';
import { ImageRejected } from '../../../processors/shared/image-decode';
import { describeThrown } from '../../part10';
import type { DecodedFrame, PixelModule } from '../types';
import { decodeJpegFamily } from './jpeg';
import { decodeJpeg2000 } from './jpeg2000';
import { decodeJpegLs } from './jpeg-ls';
import { decodeRle } from './rle';

export async function encapsulatedFrame(
  ds: DataSet,
  el: DicomElement,
  px: PixelModule,
  frame: number,
): Promise<DecodedFrame> {
  const bytes = frameFragments(ds, el, px, frame);
  switch (px.ts.codec) {
    case 'rle':
      return decodeRle(bytes, px);
    case 'jpeg':
    case 'jpeg-lossless':
      return decodeJpegFamily(bytes, px);
    case 'jpeg-ls':
      return decodeJpegLs(bytes, px);
    case 'jpeg2000':
      return decodeJpeg2000(bytes, px);
    default:
      throw new Error(`no decoder for codec ${px.ts.codec}`);
  }
}

/** The bytes of one frame of encapsulated pixel data (PS3.5 A.4), fragments joined. */
function frameFragments(ds: DataSet, el: DicomElement, px: PixelModule, frame: number): Uint8Array {
  const where = `${px.ts.name} (${px.ts.uid})`;
  if (!el.encapsulatedPixelData || !el.fragments) {
    throw new ImageRejected(
      'corrupt',
      `Pixel Data (7FE0,0010) is not encapsulated, as ${where} requires`,
    );
  }
  const fragments = el.fragments;
  if (fragments.length === 0) {
    throw new ImageRejected('corrupt', `Pixel Data (7FE0,0010) has no fragments (${where})`);
  }
  for (const f of fragments) {
    if (f.position + f.length > ds.byteArray.length) {
      throw new ImageRejected(
        'corrupt',
        `Pixel Data (7FE0,0010) fragment at offset ${f.offset} runs past the end of the file ` +
          `(truncated; ${where})`,
      );
    }
  }
  if (ds.warnings.some((w) => w.includes('x7fe00010') && w.includes('delimiter'))) {
    throw new ImageRejected(
      'corrupt',
      `Pixel Data (7FE0,0010) lacks its sequence delimiter (truncated; ${where})`,
    );
  }
  try {
    if (px.numberOfFrames === 1) {
      return readEncapsulatedPixelDataFromFragments(ds, el, 0, fragments.length);
    }
    let offsets = el.basicOffsetTable ?? [];
    if (offsets.length === 0) offsets = extendedOffsetTable(ds);
    if (offsets.length > 0) {
      if (offsets.length !== px.numberOfFrames) {
        throw new ImageRejected(
          'corrupt',
          `the offset table lists ${offsets.length} frames; NumberOfFrames (0028,0008) is ` +
            `${px.numberOfFrames} (${where})`,
        );
      }
      return readEncapsulatedImageFrame(ds, el, frame, offsets);
    }
    // No offset table: one fragment per frame is the common case (and required for RLE).
    if (fragments.length === px.numberOfFrames) {
      return readEncapsulatedPixelDataFromFragments(ds, el, frame, 1);
    }
    if (px.ts.codec === 'rle') {
      throw new ImageRejected(
        'corrupt',
        `${fragments.length} fragments for ${px.numberOfFrames} RLE frames and no offset table`,
      );
    }
    // JPEG-family codestreams end with FFD9 (EOI / J2K EOC): frames can be found by it.
    const found = createJPEGBasicOffsetTable(ds, el);
    if (found.length !== px.numberOfFrames) {
      throw new ImageRejected(
        'corrupt',
        `found ${found.length} frames in ${fragments.length} fragments; NumberOfFrames ` +
          `(0028,0008) is ${px.numberOfFrames} (${where})`,
      );
    }
    return readEncapsulatedImageFrame(ds, el, frame, found);
  } catch (err) {
    if (err instanceof ImageRejected) throw err;
    throw new ImageRejected(
      'corrupt',
      `frame ${frame} cannot be read from the Pixel Data fragments (${where}): ${describeThrown(err)}`,
      err,
    );
  }
}

/** Extended Offset Table (7FE0,0001): 64-bit offsets, used instead of the basic one. */
function extendedOffsetTable(ds: DataSet): number[] {
  const el = ds.elements.x7fe00001;
  if (!el || el.length === 0 || el.length % 8 !== 0) return [];
  const view = new DataView(
    ds.byteArray.buffer,
    ds.byteArray.byteOffset + el.dataOffset,
    el.length,
  );
  const out: number[] = [];
  for (let i = 0; i < el.length; i += 8) out.push(Number(view.getBigUint64(i, true)));
  return out;
}
