import sharp, { type Metadata } from 'sharp';
import { EngineError } from '../../engine/errors';

/** A decoded single-channel image in its native range (0..maxValue), row-major. */
export interface GrayImage {
  data: Float32Array;
  width: number;
  height: number;
  /** 255 for 8-bit sources, 65535 for 16-bit ones. */
  maxValue: number;
  /** Source format and channel count, for the record. */
  format: 'png' | 'jpeg' | 'dicom';
  sourceChannels: number;
  bitsPerSample: 8 | 16;
}

export interface DecodeLimits {
  minSide: number;
  maxSide: number;
  maxPixels: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  minSide: 32,
  maxSide: 8192,
  maxPixels: 8192 * 8192,
};

/**
 * Why an image was refused, as a client can act on it: `unsupported` (not PNG/JPEG: 415),
 * `corrupt` (not decodable: 400), `too-small` / `too-large` (422 / 413).
 */
export type ImageProblem = 'unsupported' | 'corrupt' | 'too-small' | 'too-large';

export class ImageRejected extends EngineError {
  constructor(
    readonly problem: ImageProblem,
    message: string,
    cause?: unknown,
  ) {
    super('DECODE_FAILED', message, { cause, details: { problem } });
  }
}

/** Reads format and size without decoding pixels; throws ImageRejected. */
export async function probeImage(bytes: Buffer, limits: DecodeLimits = DEFAULT_DECODE_LIMITS) {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ImageRejected('corrupt', `not a decodable image: ${(err as Error).message}`, err);
  }
  if (meta.format !== 'png' && meta.format !== 'jpeg') {
    throw new ImageRejected(
      'unsupported',
      `image format ${meta.format ?? 'unknown'} is not supported (PNG or JPEG)`,
    );
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (Math.min(width, height) < limits.minSide) {
    throw new ImageRejected(
      'too-small',
      `image is ${width}×${height}; each side must be at least ${limits.minSide} px`,
    );
  }
  if (Math.max(width, height) > limits.maxSide || width * height > limits.maxPixels) {
    throw new ImageRejected(
      'too-large',
      `image is ${width}×${height}; at most ${limits.maxSide} px a side and ${limits.maxPixels} pixels`,
    );
  }
  return {
    format: meta.format,
    width,
    height,
    channels: meta.channels ?? 1,
    sixteenBit: meta.depth === 'ushort',
  };
}

/**
 * Decodes PNG (8/16-bit, gray/RGB/palette, alpha dropped) or JPEG to one gray channel in its
 * native range. Colour is converted to luminance (Rec. 601 weights, as sharp's b-w).
 */
export async function decodeGray(
  bytes: Buffer,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): Promise<GrayImage> {
  const probe = await probeImage(bytes, limits);
  try {
    const pipeline = sharp(bytes, {
      limitInputPixels: limits.maxPixels,
      failOn: 'error',
    }).removeAlpha();
    if (probe.sixteenBit) {
      const { data, info } = await pipeline
        .toColourspace('grey16')
        .raw({ depth: 'ushort' })
        .toBuffer({ resolveWithObject: true });
      const samples = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
      return finish(samples, info.width, info.height, info.channels, 65535, 16);
    }
    const { data, info } = await pipeline
      .toColourspace('b-w')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return finish(data, info.width, info.height, info.channels, 255, 8);
  } catch (err) {
    if (err instanceof ImageRejected) throw err;
    throw new ImageRejected('corrupt', `image data is damaged: ${(err as Error).message}`, err);
  }

  function finish(
    samples: ArrayLike<number>,
    width: number,
    height: number,
    channels: number,
    maxValue: number,
    bits: 8 | 16,
  ): GrayImage {
    const data = new Float32Array(width * height);
    for (let i = 0; i < data.length; i++) data[i] = samples[i * channels] as number;
    return {
      data,
      width,
      height,
      maxValue,
      format: probe.format as 'png' | 'jpeg',
      sourceChannels: probe.channels,
      bitsPerSample: bits,
    };
  }
}
