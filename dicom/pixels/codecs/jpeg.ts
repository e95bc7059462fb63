/**
 * JPEG: baseline and extended (Processes 1, 2 & 4) via libjpeg-turbo, lossless (Process 14)
 * via jpeg-lossless-decoder-js — routed by the codestream's own SOF marker.
 */
import { ImageRejected } from '../../../processors/shared/image-decode';
import { describeThrown } from '../../part10';
import { checkDimensions } from '../pixel-module';
import type { DecodedFrame, PixelModule } from '../types';
import { CodecSlot, type WasmDecoder, type WasmModuleBase, runWasmDecoder } from './wasm-codec';

interface LibJpegTurboModule extends WasmModuleBase {
  JPEGDecoder: new () => WasmDecoder;
}

// The "_decode" builds: decoders only, smaller and faster to instantiate. Paths are the packages'
// own `exports` entries (Node refuses deep imports of files they do not export).
const libjpegTurbo = new CodecSlot<LibJpegTurboModule>('libjpeg-turbo', () =>
  require('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs'),
);

interface LosslessJpegDecoder {
  decode(
    buffer: ArrayBuffer,
    offset: number,
    length: number,
    numBytes: number,
  ): Uint8Array | Uint16Array;
  xDim: number;
  yDim: number;
  numComp: number;
}
let losslessJpeg: { Decoder: new () => LosslessJpegDecoder } | undefined;

interface JpegFrameHeader {
  /** SOF marker low byte: 0xC0 baseline, 0xC1 extended, 0xC2 progressive, 0xC3 lossless, ... */
  sof: number;
  precision: number;
  components: number;
}

/** Reads the SOF segment, to route by the actual process and refuse 12-bit before decoding. */
function jpegFrameHeader(bytes: Uint8Array): JpegFrameHeader | undefined {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1] as number;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const length = ((bytes[i + 2] as number) << 8) | (bytes[i + 3] as number);
    const isSof =
      marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (i + 9 >= bytes.length) return undefined;
      return { sof: marker, precision: bytes[i + 4] as number, components: bytes[i + 9] as number };
    }
    if (marker === 0xda || marker === 0xd9) return undefined;
    i += 2 + length;
  }
  return undefined;
}

/**
 * True when an EOI marker (FFD9) sits in the last 512 bytes. Byte stuffing keeps FFD9 out of
 * entropy-coded data, so finding it means the decoder reached the end of the image; some
 * encoders leave a few junk bytes after it (seen in the wild), hence a window, not the last two.
 */
function hasEoiNearEnd(bytes: Uint8Array): boolean {
  const from = Math.max(2, bytes.length - 512);
  for (let i = bytes.length - 2; i >= from; i--) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  }
  return false;
}

export async function decodeJpegFamily(bytes: Uint8Array, px: PixelModule): Promise<DecodedFrame> {
  const where = `${px.ts.name} (${px.ts.uid})`;
  const header = jpegFrameHeader(bytes);
  if (!header) {
    throw new ImageRejected('corrupt', `${where}: frame is not a JPEG codestream (no SOF marker)`);
  }
  // Neither decoder notices a cut-off stream (libjpeg-turbo warns and pads with gray,
  // jpeg-lossless-decoder-js with garbage): require the end-of-image marker, so that a
  // truncated frame is refused rather than returned.
  if (!hasEoiNearEnd(bytes)) {
    throw new ImageRejected('corrupt', `${where}: JPEG frame has no EOI marker (truncated)`);
  }
  // Route by the codestream itself: mislabelled lossless-in-baseline files exist in the wild.
  if (header.sof === 0xc3) return decodeJpegLossless(bytes, px, header);
  if (header.sof !== 0xc0 && header.sof !== 0xc1 && header.sof !== 0xc2) {
    throw new ImageRejected(
      'unsupported',
      `${where}: JPEG process SOF${(header.sof - 0xc0).toString()} (hierarchical or ` +
        'arithmetic-coded) is not supported',
    );
  }
  if (header.precision !== 8) {
    throw new ImageRejected(
      'unsupported',
      `${where}: ${header.precision}-bit lossy JPEG (Process 4) is not supported: the available ` +
        'libjpeg-turbo build decodes 8-bit samples only',
    );
  }
  return runWasmDecoder(
    libjpegTurbo,
    (m) => new m.JPEGDecoder(),
    bytes,
    px,
    (info) => ({
      planar: false,
      // libjpeg converts YCbCr to RGB on output (its default out_color_space)
      rgb: info.componentCount === 3,
    }),
  );
}

function decodeJpegLossless(
  bytes: Uint8Array,
  px: PixelModule,
  header: JpegFrameHeader,
): DecodedFrame {
  const where = `${px.ts.name} (${px.ts.uid})`;
  if (header.precision > 8 && header.components > 1) {
    throw new ImageRejected(
      'unsupported',
      `${where}: multi-component lossless JPEG above 8 bits is not supported by the decoder`,
    );
  }
  losslessJpeg ??= require('jpeg-lossless-decoder-js') as {
    Decoder: new () => LosslessJpegDecoder;
  };
  const decoder = new losslessJpeg.Decoder();
  let out: Uint8Array | Uint16Array;
  try {
    // own copy: the decoder takes a whole ArrayBuffer, and Buffer views share a larger one
    // (`new Uint8Array(view)` copies; Buffer#slice would not)
    const copy = new Uint8Array(bytes);
    out = decoder.decode(copy.buffer, 0, copy.byteLength, header.precision > 8 ? 2 : 1);
  } catch (err) {
    throw new ImageRejected(
      'corrupt',
      `${where}: JPEG Lossless decode failed: ${describeThrown(err)}`,
      err,
    );
  }
  checkDimensions(where, decoder.xDim, decoder.yDim, px);
  const components = decoder.numComp;
  if (components !== px.samplesPerPixel || out.length < px.rows * px.columns * components) {
    throw new ImageRejected(
      'corrupt',
      `${where}: decoder returned ${components} component(s), ${out.length} samples`,
    );
  }
  return { samples: out, components, planar: false, rgb: false, cells: false };
}
