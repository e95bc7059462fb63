/** Messages between the image work pool and its worker threads. */
import { EngineError, type ErrorCode, isEngineError } from '../../../engine/errors';
import { type ImageProblem, ImageRejected } from '../image-decode';
import type { PrepareInput, PreparedImage, RenderRequest, RenderedImage } from './steps';

export type JobMessage =
  | {
      id: number;
      op: 'prepare';
      bytes: Uint8Array;
      input: PrepareInput;
    }
  | { id: number; op: 'render'; request: RenderRequest };

export interface SerialisedError {
  message: string;
  code?: string;
  retriable?: boolean;
  /** Set for ImageRejected: the image was refused, not the worker broken. */
  problem?: ImageProblem;
}

export type ReplyMessage =
  | { id: number; ok: true; value: PreparedImage | RenderedImage }
  | { id: number; ok: false; error: SerialisedError };

export function serialiseError(err: unknown): SerialisedError {
  if (err instanceof ImageRejected) return { message: err.message, problem: err.problem };
  if (isEngineError(err)) return { message: err.message, code: err.code, retriable: err.retriable };
  return { message: err instanceof Error ? err.message : String(err) };
}

/** The error as the caller would have seen it inline: ImageRejected stays ImageRejected. */
export function deserialiseError(error: SerialisedError): Error {
  if (error.problem) return new ImageRejected(error.problem, error.message);
  return new EngineError(
    (error.code as ErrorCode | undefined) ?? 'PROCESSING_FAILED',
    error.message,
    { retriable: error.retriable ?? false },
  );
}

/** The ArrayBuffers of a job's result, to transfer rather than copy (each buffer once). */
export function transferablesOf(value: PreparedImage | RenderedImage): ArrayBuffer[] {
  const views: (ArrayBufferView | undefined)[] =
    'tensor' in value
      ? [value.tensor, value.display]
      : [value.displayPng, value.heatmap?.overlayPng, value.heatmap?.mapPng];
  const seen = new Set<ArrayBuffer>();
  for (const v of views) {
    // Buffers from Node's pool share one ArrayBuffer with unrelated data: copy those instead.
    if (v && v.buffer instanceof ArrayBuffer && v.byteLength === v.buffer.byteLength)
      seen.add(v.buffer);
  }
  return [...seen];
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/**
 * A result as received from a worker, with its PNGs as Buffers again (structured cloning hands
 * Buffers over as plain Uint8Arrays); views over the same memory, no copy.
 */
export function reviveResult(value: PreparedImage | RenderedImage): PreparedImage | RenderedImage {
  if ('tensor' in value) return value;
  return {
    displayPng: asBuffer(value.displayPng),
    ...(value.heatmap
      ? {
          heatmap: {
            overlayPng: asBuffer(value.heatmap.overlayPng),
            mapPng: asBuffer(value.heatmap.mapPng),
            peak: value.heatmap.peak,
          },
        }
      : {}),
  };
}
