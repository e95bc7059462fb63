/**
 * The types of dicom/pixels: what decodeDicomGray() returns and takes, and what its stages hand
 * each other (the Image Pixel module read from the data set, one frame's decoded samples).
 */
import type { DecodeLimits, GrayImage } from '../../processors/shared/image-decode';
import type { DicomCodec, DicomTransferSyntax } from '../uids';

/** The VOI window that produced the output, in modality (post-rescale) units. */
export interface DicomWindow {
  center: number;
  width: number;
  /**
   * `dataset`: the instance's first Window Center/Width; `percentile`: 0.5–99.5 percentiles of
   * the frame (no usable window in the dataset); `none`: colour/palette, full sample range.
   */
  source: 'dataset' | 'percentile' | 'none';
  /** VOI LUT Function (0028,1056) used; percentile windows use LINEAR_EXACT. */
  function: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
}

/** What was found in the instance and applied to produce the gray image. */
export interface DicomPixelInfo {
  transferSyntaxUid: string;
  transferSyntaxName: string;
  sopClassUid: string | undefined;
  photometricInterpretation: string;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: 0 | 1;
  numberOfFrames: number;
  /** 0-based frame that was decoded. */
  frame: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  window: DicomWindow;
  /** MONOCHROME1: inverted after windowing so that higher output is brighter. */
  inverted: boolean;
  /** Things present in the dataset and deliberately not applied (no PHI). */
  notes: string[];
}

/** A decoded DICOM frame: always 0..65535 (`maxValue` 65535, `bitsPerSample` 16). */
export interface DicomGrayImage extends GrayImage {
  format: 'dicom';
  dicom: DicomPixelInfo;
}

export interface DecodeDicomOptions {
  /** 0-based frame of a multi-frame instance (default 0). */
  frame?: number;
  /** Size limits, as for PNG/JPEG (default DEFAULT_DECODE_LIMITS). */
  limits?: DecodeLimits;
}

/** A transfer syntax that has a decoder, with its UID. */
export type DecodableTransferSyntax = DicomTransferSyntax & { uid: string; codec: DicomCodec };

/** Raw samples of one frame as a codec (or the native layout) produced them. */
export interface DecodedFrame {
  samples: Uint8Array | Uint8ClampedArray | Uint16Array | Int16Array | Uint32Array;
  components: number;
  /** Components stored one plane after another (RLE, JPEG-LS ILV none) vs interleaved. */
  planar: boolean;
  /** The codec already converted YCbCr to RGB (libjpeg-turbo; OpenJPEG with MCT). */
  rgb: boolean;
  /** Values still sit in their DICOM pixel cells (HighBit alignment applies): native and RLE. */
  cells: boolean;
}

/** Parsed attributes of the Image Pixel module that drive decoding. */
export interface PixelModule {
  ts: DecodableTransferSyntax;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometric: string;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  signed: boolean;
  planarConfiguration: number;
  numberOfFrames: number;
}

/** Every output is 0..65535, whatever the source depth. */
export const OUT_MAX = 65535;
