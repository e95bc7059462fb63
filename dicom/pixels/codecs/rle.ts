/** RLE Lossless (PS3.5 Annex G). */
import { ImageRejected } from '../../../processors/shared/image-decode';
import type { DecodedFrame, PixelModule } from '../types';

/**
 * DICOM RLE: a 64-byte header (segment count, 15 offsets), then one PackBits segment per byte
 * plane, most significant byte first, one component after the other.
 */
export function decodeRle(bytes: Uint8Array, px: PixelModule): DecodedFrame {
  const pixels = px.rows * px.columns;
  const bytesPerSample = px.bitsAllocated / 8;
  const expected = px.samplesPerPixel * bytesPerSample;
  const fail = (why: string) => new ImageRejected('corrupt', `RLE Lossless frame: ${why}`);
  if (bytes.length < 64) throw fail(`only ${bytes.length} bytes, shorter than the RLE header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const segments = view.getUint32(0, true);
  if (segments !== expected) {
    throw fail(
      `${segments} segments; SamplesPerPixel ${px.samplesPerPixel} × BitsAllocated ` +
        `${px.bitsAllocated} needs ${expected}`,
    );
  }
  const offsets: number[] = [];
  for (let s = 0; s < segments; s++) offsets.push(view.getUint32(4 + s * 4, true));
  offsets.push(bytes.length);
  for (let s = 0; s < segments; s++) {
    const a = offsets[s] as number;
    const b = offsets[s + 1] as number;
    if (a < 64 || a > b || b > bytes.length) {
      throw fail(`segment ${s} offset ${a} is outside the frame (${bytes.length} bytes)`);
    }
  }
  const segment = (s: number, into: Uint8Array) =>
    unpackBits(bytes, offsets[s] as number, offsets[s + 1] as number, into, s);

  if (bytesPerSample === 1) {
    const out = new Uint8Array(pixels * px.samplesPerPixel);
    for (let c = 0; c < px.samplesPerPixel; c++) {
      segment(c, out.subarray(c * pixels, (c + 1) * pixels));
    }
    return { samples: out, components: px.samplesPerPixel, planar: true, rgb: false, cells: true };
  }
  const out =
    bytesPerSample === 2
      ? new Uint16Array(pixels * px.samplesPerPixel)
      : new Uint32Array(pixels * px.samplesPerPixel);
  const plane = new Uint8Array(pixels);
  for (let c = 0; c < px.samplesPerPixel; c++) {
    const base = c * pixels;
    for (let b = 0; b < bytesPerSample; b++) {
      segment(c * bytesPerSample + b, plane);
      const shift = 8 * (bytesPerSample - 1 - b);
      // `>>> 0` keeps 32-bit values unsigned when the top byte has its high bit set
      for (let i = 0; i < pixels; i++) {
        out[base + i] = ((out[base + i] as number) | ((plane[i] as number) << shift)) >>> 0;
      }
    }
  }
  return { samples: out, components: px.samplesPerPixel, planar: true, rgb: false, cells: true };
}

/** PackBits: header n ≥ 0 copies n+1 bytes, n in -127..-1 repeats the next byte 1-n times. */
function unpackBits(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  segment: number,
): void {
  const n = dst.length;
  let i = start;
  let o = 0;
  while (o < n && i < end) {
    const h = src[i++] as number;
    if (h < 128) {
      const count = h + 1;
      if (i + count > end) {
        throw new ImageRejected(
          'corrupt',
          `RLE Lossless segment ${segment}: literal run of ${count} bytes passes its end`,
        );
      }
      const take = Math.min(count, n - o);
      // a plain loop: runs are short, and subarray() would allocate a view per run
      for (let k = 0; k < take; k++) dst[o + k] = src[i + k] as number;
      i += count;
      o += take;
    } else if (h > 128) {
      if (i >= end) {
        throw new ImageRejected(
          'corrupt',
          `RLE Lossless segment ${segment}: replicate run cut off`,
        );
      }
      const value = src[i++] as number;
      const take = Math.min(257 - h, n - o);
      dst.fill(value, o, o + take);
      o += take;
    }
    // h === 128: no operation (PS3.5 G.3.2)
  }
  if (o < n) {
    throw new ImageRejected(
      'corrupt',
      `RLE Lossless segment ${segment} decodes to ${o} bytes; Rows×Columns is ${n}`,
    );
  }
}
