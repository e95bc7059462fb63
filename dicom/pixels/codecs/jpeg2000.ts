/** JPEG 2000 (Part 1), lossless and lossy, via OpenJPEG. */
import type { DecodedFrame, PixelModule } from '../types';
import { CodecSlot, type WasmDecoder, type WasmModuleBase, runWasmDecoder } from './wasm-codec';

interface OpenJpegModule extends WasmModuleBase {
  J2KDecoder: new () => WasmDecoder;
}

const openjpeg = new CodecSlot<OpenJpegModule>('OpenJPEG (JPEG 2000)', () =>
  require('@cornerstonejs/codec-openjpeg/decodewasmjs'),
);

export function decodeJpeg2000(bytes: Uint8Array, px: PixelModule): Promise<DecodedFrame> {
  return runWasmDecoder(
    openjpeg,
    (m) => new m.J2KDecoder(),
    bytes,
    px,
    () => ({
      planar: false,
      // RCT/ICT (the multi-component transform) is undone by OpenJPEG: the output is RGB
      rgb: px.photometric === 'YBR_RCT' || px.photometric === 'YBR_ICT',
    }),
  );
}
