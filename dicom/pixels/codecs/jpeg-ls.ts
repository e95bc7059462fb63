/** JPEG-LS, lossless and near-lossless, via CharLS. */
import type { DecodedFrame, PixelModule } from '../types';
import { CodecSlot, type WasmDecoder, type WasmModuleBase, runWasmDecoder } from './wasm-codec';

interface JpegLsDecoder extends WasmDecoder {
  /** 0: none (planar), 1: line, 2: sample — decoded output is planar only for 0. */
  getInterleaveMode(): number;
}
interface CharlsModule extends WasmModuleBase {
  JpegLSDecoder: new () => JpegLsDecoder;
}

const charls = new CodecSlot<CharlsModule>('CharLS (JPEG-LS)', () =>
  require('@cornerstonejs/codec-charls/decodewasmjs'),
);

export function decodeJpegLs(bytes: Uint8Array, px: PixelModule): Promise<DecodedFrame> {
  return runWasmDecoder(
    charls,
    (m) => new m.JpegLSDecoder(),
    bytes,
    px,
    (info, decoder) => ({
      planar: info.componentCount > 1 && decoder.getInterleaveMode() === 0,
      rgb: false,
    }),
  );
}
