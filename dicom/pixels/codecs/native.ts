/** Native (uncompressed) pixel data: one frame's samples read in place (PS3.5 §8.1.1). */
import type { DataSet, Element as DicomElement } from 'dicom-parser';
import { ImageRejected } from '../../../processors/shared/image-decode';
import type { DecodedFrame, PixelModule } from '../types';

export function nativeFrame(
  ds: DataSet,
  el: DicomElement,
  px: PixelModule,
  frame: number,
): DecodedFrame {
  if (el.encapsulatedPixelData || el.hadUndefinedLength) {
    throw new ImageRejected(
      'corrupt',
      `Pixel Data (7FE0,0010) is encapsulated but the transfer syntax ${px.ts.uid} ` +
        `(${px.ts.name}) is native`,
    );
  }
  const bytesPerSample = px.bitsAllocated / 8;
  const pixels = px.rows * px.columns;
  // YBR_FULL_422 native: two luma samples share one Cb and one Cr (PS3.3 C.7.6.3.1.2).
  const samplesPerFrame =
    px.photometric === 'YBR_FULL_422' ? pixels * 2 : pixels * px.samplesPerPixel;
  const frameBytes = samplesPerFrame * bytesPerSample;
  const needed = frameBytes * px.numberOfFrames;
  const available = Math.min(el.length, ds.byteArray.length - el.dataOffset);
  if (available < needed) {
    throw new ImageRejected(
      'corrupt',
      `Pixel Data (7FE0,0010) holds ${available} bytes; Rows×Columns×SamplesPerPixel×` +
        `BitsAllocated×NumberOfFrames needs ${needed} (${px.ts.name})`,
    );
  }
  const start = el.dataOffset + frame * frameBytes;
  const bytes = ds.byteArray.subarray(start, start + frameBytes);
  // PS3.5 8.1.1 / 7.3: big endian swaps the bytes of each OW word; 8-bit data stored as OW then
  // comes byte-swapped in pairs (OB needs nothing).
  const swap8 = px.ts.bigEndian === true && px.bitsAllocated === 8 && el.vr === 'OW';
  return {
    samples: readSamples(bytes, px.bitsAllocated, px.ts.bigEndian === true, swap8),
    components: px.samplesPerPixel,
    planar: px.samplesPerPixel > 1 && px.planarConfiguration === 1,
    rgb: false,
    cells: true,
  };
}

/** Bytes → unsigned samples, without copying when the layout already matches the host (LE). */
function readSamples(
  bytes: Uint8Array,
  bitsAllocated: number,
  bigEndian: boolean,
  swap8: boolean,
): Uint8Array | Uint16Array | Uint32Array {
  if (bitsAllocated === 8) {
    if (!swap8) return bytes;
    const out = new Uint8Array(bytes.length);
    for (let i = 0; i + 1 < bytes.length; i += 2) {
      out[i] = bytes[i + 1] as number;
      out[i + 1] = bytes[i] as number;
    }
    return out;
  }
  const size = bitsAllocated / 8;
  const count = bytes.length / size;
  // typed-array views need aligned offsets; odd-length elements before Pixel Data can break it
  if (!bigEndian && bytes.byteOffset % size === 0) {
    return size === 2
      ? new Uint16Array(bytes.buffer, bytes.byteOffset, count)
      : new Uint32Array(bytes.buffer, bytes.byteOffset, count);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = !bigEndian;
  if (size === 2) {
    const out = new Uint16Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, little);
    return out;
  }
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getUint32(i * 4, little);
  return out;
}
