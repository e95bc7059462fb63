/**
 * The per-image pixel work of the imaging processor, as two pure steps that run alike in a worker
 * thread (image-worker.ts) or inline:
 *  1. `prepareImage`: encoded bytes → decoded gray → model input tensor + 8-bit display image;
 *  2. `renderImage`: display image (+ Grad-CAM) → display PNG, heatmap overlay PNG, raw map PNG.
 * Model inference sits between them, in the main thread, where the dynamic batcher runs.
 */
import sharp from 'sharp';
import {
  type DecodeDicomOptions,
  type DicomPixelInfo,
  decodeDicomGray,
} from '../../../dicom/pixels';
import { type DecodeLimits, decodeGray } from '../image-decode';
import type { ModelManifest } from '../model-manifest';
import { type Preprocessed, preprocess } from '../preprocess';
import { type Colormap, PNG_LEVEL, renderHeatmap } from '../runtime/heatmap';

export interface PreparedImage extends Preprocessed {
  decodeMs: number;
  preprocessMs: number;
  /** For DICOM input: what the decoder found and applied. */
  dicom?: DicomPixelInfo;
}

export interface PrepareInput {
  manifest: ModelManifest;
  limits: DecodeLimits;
  /** Set for a DICOM Part-10 file (else PNG/JPEG): which frame to decode. */
  dicom?: Pick<DecodeDicomOptions, 'frame'>;
}

export interface RenderRequest {
  display: Uint8Array;
  width: number;
  height: number;
  contentBox: Preprocessed['contentBox'];
  /** Absent: no heatmap, only the display PNG. */
  cam?: { data: Float32Array; height: number; width: number };
  colormap?: Colormap;
  opacity?: number;
}

export interface RenderedImage {
  displayPng: Buffer;
  heatmap?: { overlayPng: Buffer; mapPng: Buffer; peak: { x: number; y: number } };
}

const since = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;

export async function prepareImage(bytes: Uint8Array, input: PrepareInput): Promise<PreparedImage> {
  let t = process.hrtime.bigint();
  const buffer = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dicomImage = input.dicom
    ? await decodeDicomGray(buffer, { ...input.dicom, limits: input.limits })
    : undefined;
  const image = dicomImage ?? (await decodeGray(buffer, input.limits));
  const decodeMs = since(t);
  t = process.hrtime.bigint();
  const pre = preprocess(image, input.manifest);
  return {
    ...pre,
    decodeMs,
    preprocessMs: since(t),
    ...(dicomImage ? { dicom: dicomImage.dicom } : {}),
  };
}

export async function renderImage(request: RenderRequest): Promise<RenderedImage> {
  const { display, width, height } = request;
  const [displayPng, heatmap] = await Promise.all([
    sharp(Buffer.from(display.buffer, display.byteOffset, display.byteLength), {
      raw: { width, height, channels: 1 },
    })
      .png({ compressionLevel: PNG_LEVEL.display })
      .toBuffer(),
    request.cam
      ? renderHeatmap({
          cam: request.cam,
          base: { gray: display, width, height },
          colormap: request.colormap,
          opacity: request.opacity,
          contentBox: request.contentBox,
        })
      : undefined,
  ]);
  return { displayPng, ...(heatmap ? { heatmap } : {}) };
}
