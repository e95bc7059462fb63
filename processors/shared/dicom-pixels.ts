/**
 * DICOM pixel decoding: a stored Part-10 instance → one gray channel (`GrayImage`) that
 * `preprocess()` accepts like a decoded PNG/JPEG.
 *
 * Pipeline (PS3.3 C.7.6.3, C.11): transfer-syntax decode (native, RLE, JPEG family, JPEG-LS,
 * JPEG 2000) → stored values (BitsStored/HighBit/PixelRepresentation) → modality LUT
 * (RescaleSlope/Intercept) → VOI (the dataset's first Window Center/Width, or a robust
 * 0.5–99.5 percentile window when it has none) → 0..65535 → MONOCHROME1 inverted. Colour
 * (RGB/YBR) and PALETTE COLOR become Rec. 601 luma over their full sample range (VOI does not
 * apply to colour, PS3.3 C.11.2).
 *
 * The output range is always 0..65535 (`maxValue` 65535, `bitsPerSample` 16), whatever the
 * source depth: windowing maps into [0, 1] anyway, and one range keeps downstream simple. The
 * values are continuous (not rounded): the float output of the VOI function, scaled.
 *
 * Codecs are the cornerstone WebAssembly builds ("_decode" variants) and jpeg-lossless-decoder-js,
 * each loaded lazily on first use and cached for the life of the process (or worker thread).
 */
import {
  createJPEGBasicOffsetTable,
  parseDicom,
  readEncapsulatedImageFrame,
  readEncapsulatedPixelDataFromFragments,
  type DataSet,
  type Element as DicomElement,
} from 'dicom-parser';
import {
  DEFAULT_DECODE_LIMITS,
  ImageRejected,
  type DecodeLimits,
  type GrayImage,
} from './image-decode';
import { percentile } from './preprocess';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Transfer syntaxes
// ---------------------------------------------------------------------------------------------

/** Which decoder a transfer syntax goes to. */
export type DicomCodec = 'native' | 'rle' | 'jpeg' | 'jpeg-lossless' | 'jpeg-ls' | 'jpeg2000';

/** A decodable transfer syntax: its name (for messages) and decoder. */
export interface DicomTransferSyntax {
  name: string;
  codec: DicomCodec;
  bigEndian?: boolean;
}

/** Transfer syntaxes whose pixel data decodeDicomGray() decodes. */
export const DECODABLE_TRANSFER_SYNTAXES: Readonly<Record<string, DicomTransferSyntax>> = {
  '1.2.840.10008.1.2': { name: 'Implicit VR Little Endian', codec: 'native' },
  '1.2.840.10008.1.2.1': { name: 'Explicit VR Little Endian', codec: 'native' },
  '1.2.840.10008.1.2.2': { name: 'Explicit VR Big Endian', codec: 'native', bigEndian: true },
  '1.2.840.10008.1.2.1.99': { name: 'Deflated Explicit VR Little Endian', codec: 'native' },
  '1.2.840.10008.1.2.5': { name: 'RLE Lossless', codec: 'rle' },
  '1.2.840.10008.1.2.4.50': { name: 'JPEG Baseline (Process 1)', codec: 'jpeg' },
  '1.2.840.10008.1.2.4.51': { name: 'JPEG Extended (Process 2 & 4)', codec: 'jpeg' },
  '1.2.840.10008.1.2.4.57': { name: 'JPEG Lossless (Process 14)', codec: 'jpeg-lossless' },
  '1.2.840.10008.1.2.4.70': { name: 'JPEG Lossless SV1 (Process 14)', codec: 'jpeg-lossless' },
  '1.2.840.10008.1.2.4.80': { name: 'JPEG-LS Lossless', codec: 'jpeg-ls' },
  '1.2.840.10008.1.2.4.81': { name: 'JPEG-LS Near-Lossless', codec: 'jpeg-ls' },
  '1.2.840.10008.1.2.4.90': { name: 'JPEG 2000 (Lossless Only)', codec: 'jpeg2000' },
  '1.2.840.10008.1.2.4.91': { name: 'JPEG 2000', codec: 'jpeg2000' },
};

/** Known transfer syntaxes we refuse, with the reason given to the client. */
const UNSUPPORTED_TRANSFER_SYNTAXES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.1.98': 'Encapsulated Uncompressed Explicit VR Little Endian (not implemented)',
  '1.2.840.10008.1.2.4.53': 'JPEG Extended, hierarchical (retired)',
  '1.2.840.10008.1.2.4.55': 'JPEG Full Progression (retired)',
  '1.2.840.10008.1.2.4.92': 'JPEG 2000 Part 2 Multi-component (Lossless Only) (no codec)',
  '1.2.840.10008.1.2.4.93': 'JPEG 2000 Part 2 Multi-component (no codec)',
  '1.2.840.10008.1.2.4.94': 'JPIP Referenced (pixel data held elsewhere)',
  '1.2.840.10008.1.2.4.95': 'JPIP Referenced Deflate (pixel data held elsewhere)',
  '1.2.840.10008.1.2.4.100': 'MPEG2 video',
  '1.2.840.10008.1.2.4.100.1': 'MPEG2 video (fragmentable)',
  '1.2.840.10008.1.2.4.101': 'MPEG2 video',
  '1.2.840.10008.1.2.4.101.1': 'MPEG2 video (fragmentable)',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 AVC/H.264 video',
  '1.2.840.10008.1.2.4.102.1': 'MPEG-4 AVC/H.264 video (fragmentable)',
  '1.2.840.10008.1.2.4.103': 'MPEG-4 AVC/H.264 video',
  '1.2.840.10008.1.2.4.103.1': 'MPEG-4 AVC/H.264 video (fragmentable)',
  '1.2.840.10008.1.2.4.104': 'MPEG-4 AVC/H.264 stereo video',
  '1.2.840.10008.1.2.4.104.1': 'MPEG-4 AVC/H.264 stereo video (fragmentable)',
  '1.2.840.10008.1.2.4.105': 'MPEG-4 AVC/H.264 stereo video',
  '1.2.840.10008.1.2.4.105.1': 'MPEG-4 AVC/H.264 stereo video (fragmentable)',
  '1.2.840.10008.1.2.4.106': 'MPEG-4 AVC/H.264 stereo video',
  '1.2.840.10008.1.2.4.106.1': 'MPEG-4 AVC/H.264 stereo video (fragmentable)',
  '1.2.840.10008.1.2.4.107': 'HEVC/H.265 video',
  '1.2.840.10008.1.2.4.108': 'HEVC/H.265 video',
  '1.2.840.10008.1.2.4.201': 'High-Throughput JPEG 2000 (no HTJ2K codec)',
  '1.2.840.10008.1.2.4.202': 'High-Throughput JPEG 2000 with RPCL (no HTJ2K codec)',
  '1.2.840.10008.1.2.4.203': 'High-Throughput JPEG 2000 (no HTJ2K codec)',
  '1.2.840.10008.1.2.6.1': 'RFC 2557 MIME encapsulation (retired)',
  '1.2.840.10008.1.2.6.2': 'XML encoding (retired)',
};

// ---------------------------------------------------------------------------------------------
// SOP classes
// ---------------------------------------------------------------------------------------------

const STORAGE = '1.2.840.10008.5.1.4.1.1.';

/** Exact storage SOP classes (suffix after 1.2.840.10008.5.1.4.1.1.) → [image?, kind]. */
const SOP_CLASSES: Readonly<Record<string, readonly [boolean, string]>> = {
  '1': [true, 'computed radiography'],
  '1.1': [true, 'digital X-ray (for presentation)'],
  '1.1.1': [true, 'digital X-ray (for processing)'],
  '1.2': [true, 'digital mammography (for presentation)'],
  '1.2.1': [true, 'digital mammography (for processing)'],
  '1.3': [true, 'digital intra-oral X-ray (for presentation)'],
  '1.3.1': [true, 'digital intra-oral X-ray (for processing)'],
  '2': [true, 'CT'],
  '2.1': [true, 'enhanced CT'],
  '2.2': [true, 'legacy converted enhanced CT'],
  '3': [true, 'ultrasound multi-frame (retired)'],
  '3.1': [true, 'ultrasound multi-frame'],
  '4': [true, 'MR'],
  '4.1': [true, 'enhanced MR'],
  '4.2': [false, 'MR spectroscopy'],
  '4.3': [true, 'enhanced MR colour'],
  '4.4': [true, 'legacy converted enhanced MR'],
  '5': [true, 'nuclear medicine (retired)'],
  '6': [true, 'ultrasound (retired)'],
  '6.1': [true, 'ultrasound'],
  '6.2': [true, 'enhanced ultrasound volume'],
  '6.3': [true, 'photoacoustic'],
  '7': [true, 'secondary capture'],
  '7.1': [true, 'multi-frame single-bit secondary capture'],
  '7.2': [true, 'multi-frame grayscale byte secondary capture'],
  '7.3': [true, 'multi-frame grayscale word secondary capture'],
  '7.4': [true, 'multi-frame true colour secondary capture'],
  '12.1': [true, 'X-ray angiography'],
  '12.1.1': [true, 'enhanced X-ray angiography'],
  '12.2': [true, 'X-ray radiofluoroscopy'],
  '12.2.1': [true, 'enhanced X-ray radiofluoroscopy'],
  '12.3': [true, 'X-ray angiographic bi-plane (retired)'],
  '13.1.1': [true, 'X-ray 3D angiography'],
  '13.1.2': [true, 'X-ray 3D craniofacial'],
  '13.1.3': [true, 'breast tomosynthesis'],
  '13.1.4': [true, 'breast projection X-ray (for presentation)'],
  '13.1.5': [true, 'breast projection X-ray (for processing)'],
  '14.1': [true, 'intravascular OCT (for presentation)'],
  '14.2': [true, 'intravascular OCT (for processing)'],
  '20': [true, 'nuclear medicine'],
  '30': [false, 'parametric map'],
  '66': [false, 'raw data'],
  '66.1': [false, 'spatial registration'],
  '66.2': [false, 'spatial fiducials'],
  '66.3': [false, 'deformable spatial registration'],
  '66.4': [false, 'segmentation'],
  '66.5': [false, 'surface segmentation'],
  '66.6': [false, 'tractography results'],
  '67': [false, 'real world value mapping'],
  '77.1.1': [true, 'VL endoscopic'],
  '77.1.1.1': [false, 'video endoscopic'],
  '77.1.2': [true, 'VL microscopic'],
  '77.1.2.1': [false, 'video microscopic'],
  '77.1.3': [true, 'VL slide-coordinates microscopic'],
  '77.1.4': [true, 'VL photographic'],
  '77.1.4.1': [false, 'video photographic'],
  '77.1.5.1': [true, 'ophthalmic photography 8-bit'],
  '77.1.5.2': [true, 'ophthalmic photography 16-bit'],
  '77.1.5.3': [false, 'stereometric relationship'],
  '77.1.5.4': [true, 'ophthalmic tomography'],
  '77.1.5.5': [true, 'wide-field ophthalmic photography (stereographic)'],
  '77.1.5.6': [true, 'wide-field ophthalmic photography (3D)'],
  '77.1.5.7': [true, 'ophthalmic OCT en face'],
  '77.1.5.8': [true, 'ophthalmic OCT B-scan volume analysis'],
  '77.1.6': [true, 'VL whole slide microscopy'],
  '77.1.7': [true, 'dermoscopic photography'],
  '77.1.8': [true, 'confocal microscopy'],
  '77.1.9': [true, 'confocal microscopy tiled pyramidal'],
  '104.1': [false, 'encapsulated PDF'],
  '104.2': [false, 'encapsulated CDA'],
  '104.3': [false, 'encapsulated STL'],
  '104.4': [false, 'encapsulated OBJ'],
  '104.5': [false, 'encapsulated MTL'],
  '128': [true, 'PET'],
  '128.1': [true, 'legacy converted enhanced PET'],
  '130': [true, 'enhanced PET'],
  '481.1': [true, 'RT image'],
  '481.2': [false, 'RT dose'],
  '481.3': [false, 'RT structure set'],
  '481.4': [false, 'RT beams treatment record'],
  '481.5': [false, 'RT plan'],
  '481.6': [false, 'RT brachy treatment record'],
  '481.7': [false, 'RT treatment summary record'],
  '481.8': [false, 'RT ion plan'],
  '481.9': [false, 'RT ion beams treatment record'],
  '88.59': [false, 'key object selection'],
};

/** Families (prefix after 1.2.840.10008.5.1.4.1.1.) of non-image storage classes. */
const NON_IMAGE_FAMILIES: readonly (readonly [string, string])[] = [
  ['88.', 'structured report'],
  ['9.', 'waveform'],
  ['11.', 'presentation state'],
  ['104.', 'encapsulated document'],
  ['481.', 'RT object'],
  ['78.', 'ophthalmic measurement'],
  ['79.', 'ophthalmic measurement'],
  ['80.', 'ophthalmic measurement'],
  ['81.', 'ophthalmic measurement'],
  ['82.', 'ophthalmic measurement'],
  ['68.', 'surface scan'],
  ['90.', 'content assessment results'],
  ['91.', 'microscopy annotations'],
  ['200.', 'protocol'],
  ['201.', 'inventory'],
];

/**
 * Tells image storage SOP classes from non-image ones, by UID alone (no I/O).
 *
 * Contract: `image` is true only for SOP classes whose instances carry a displayable image in
 * Pixel Data (7FE0,0010) — CR, DX, MG, CT, MR, US, XA, NM, PET, SC, VL, ... ; false for
 * structured reports, encapsulated documents, presentation states, key object selections,
 * waveforms, raw data, registrations, segmentations, RT objects other than RT Image, and for any
 * UID it does not know (`kind` then starts with "unknown"). `kind` is a short human-readable
 * name for logs and rejection messages.
 */
export function classifyDicomSopClass(sopClassUid: string): { image: boolean; kind: string } {
  const uid = sopClassUid.trim().replace(/\0+$/, '');
  if (!uid.startsWith(STORAGE)) {
    return { image: false, kind: 'unknown (not a storage SOP class)' };
  }
  const suffix = uid.slice(STORAGE.length);
  const exact = SOP_CLASSES[suffix];
  if (exact) return { image: exact[0], kind: exact[1] };
  for (const [prefix, kind] of NON_IMAGE_FAMILIES) {
    if (suffix.startsWith(prefix)) return { image: false, kind };
  }
  return { image: false, kind: 'unknown storage SOP class' };
}

// ---------------------------------------------------------------------------------------------
// Codec modules (WebAssembly, loaded lazily once)
// ---------------------------------------------------------------------------------------------

interface WasmFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

/** The shape shared by the cornerstone decoders (embind classes). */
interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): WasmFrameInfo;
  delete(): void;
}

interface JpegLsDecoder extends WasmDecoder {
  /** 0: none (planar), 1: line, 2: sample — decoded output is planar only for 0. */
  getInterleaveMode(): number;
}

interface WasmModuleBase {
  /** Present in some builds: text of a C++ exception thrown as a pointer. */
  getExceptionMessage?: (exceptionPointer: number) => string | string[];
}
interface LibJpegTurboModule extends WasmModuleBase {
  JPEGDecoder: new () => WasmDecoder;
}
interface CharlsModule extends WasmModuleBase {
  JpegLSDecoder: new () => JpegLsDecoder;
}
interface OpenJpegModule extends WasmModuleBase {
  J2KDecoder: new () => WasmDecoder;
}

interface EmscriptenModuleArg {
  print: (line: string) => void;
  printErr: (line: string) => void;
}
type EmscriptenFactory<M> = (moduleArg: EmscriptenModuleArg) => Promise<M>;

interface LoadedCodec<M> {
  module: M;
  /** What the module printed during the current decode (openjpeg reports errors this way). */
  log: string[];
}

/** One lazily initialised module per codec; reset after a WebAssembly trap. */
class CodecSlot<M> {
  private loading: Promise<LoadedCodec<M>> | undefined;

  constructor(
    readonly label: string,
    private readonly load: () => EmscriptenFactory<M>,
  ) {}

  get(): Promise<LoadedCodec<M>> {
    if (!this.loading) {
      const log: string[] = [];
      const push = (line: string) => {
        // keep the last few lines only: they are for error messages, not for a log file
        if (log.length >= 20) log.shift();
        log.push(line);
      };
      this.loading = this.load()({ print: push, printErr: push }).then(
        (module) => ({ module, log }),
        (err: unknown) => {
          this.loading = undefined;
          throw new Error(`${this.label} codec failed to initialise: ${describe(err)}`, {
            cause: err,
          });
        },
      );
    }
    return this.loading;
  }

  /** After a trap (abort, out of memory) the module's state is undefined: start afresh. */
  reset(): void {
    this.loading = undefined;
  }
}

// The "_decode" builds: decoders only, smaller and faster to instantiate. Paths are the packages'
// own `exports` entries (Node refuses deep imports of files they do not export).
const libjpegTurbo = new CodecSlot<LibJpegTurboModule>('libjpeg-turbo', () =>
  require('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs'),
);
const charls = new CodecSlot<CharlsModule>('CharLS (JPEG-LS)', () =>
  require('@cornerstonejs/codec-charls/decodewasmjs'),
);
const openjpeg = new CodecSlot<OpenJpegModule>('OpenJPEG (JPEG 2000)', () =>
  require('@cornerstonejs/codec-openjpeg/decodewasmjs'),
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

// ---------------------------------------------------------------------------------------------
// decodeDicomGray
// ---------------------------------------------------------------------------------------------

/** Raw samples of one frame as a codec (or the native layout) produced them. */
interface DecodedFrame {
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
interface PixelModule {
  ts: DicomTransferSyntax & { uid: string };
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

/**
 * Decodes one frame of a DICOM Part-10 instance to a single gray channel in 0..65535.
 *
 * Contract:
 * - input: the stored Part-10 bytes (128-byte preamble, "DICM", file meta, data set); the input
 *   is not modified;
 * - output: width = Columns, height = Rows, finite values in [0, 65535], `maxValue` 65535,
 *   `bitsPerSample` 16, `format` 'dicom', `sourceChannels` = SamplesPerPixel, and `dicom`
 *   recording what was applied (transfer syntax, rescale, window and its source, inversion);
 * - grayscale: stored value (BitsStored, sign by PixelRepresentation) × RescaleSlope +
 *   RescaleIntercept, then the dataset's first Window Center/Width with its VOI LUT Function
 *   (PS3.3 C.11.2.1.2), or when the dataset has no valid window a LINEAR_EXACT window over the
 *   0.5–99.5 percentiles; MONOCHROME1 is inverted after windowing;
 * - colour (RGB, YBR_FULL, YBR_FULL_422, YBR_RCT/ICT) and PALETTE COLOR: Rec. 601 luma over the
 *   full sample range, no window;
 * - throws ImageRejected: 'unsupported' (transfer syntax without a codec here, non-image SOP
 *   class, "no pixel data", BitsAllocated other than 8/16/32, 12-bit lossy JPEG, frame out of
 *   range, ...), 'corrupt' (not Part-10, truncated, codec failure, inconsistent attributes or
 *   fragments), 'too-small' / 'too-large' (Rows/Columns against `limits`). Messages name the
 *   attribute or transfer syntax and never contain patient data.
 */
export async function decodeDicomGray(
  part10: Uint8Array,
  options: DecodeDicomOptions = {},
): Promise<DicomGrayImage> {
  const limits = options.limits ?? DEFAULT_DECODE_LIMITS;
  const frame = options.frame ?? 0;
  const ds = parsePart10(part10);

  const tsUid = ds.string('x00020010') ?? '';
  const sopClassUid = ds.string('x00020002') ?? ds.string('x00080016');
  const hasPixelData = ds.elements.x7fe00010 !== undefined;

  if (sopClassUid) {
    const sop = classifyDicomSopClass(sopClassUid);
    if (!sop.image && !sop.kind.startsWith('unknown')) {
      throw new ImageRejected(
        'unsupported',
        `SOP class ${sopClassUid} (${sop.kind}) is not an image` +
          (hasPixelData ? '; its pixel data is not decoded' : ': no pixel data to decode'),
      );
    }
  }
  if (!hasPixelData) {
    const other = ds.elements.x7fe00008
      ? 'Float Pixel Data (7FE0,0008) is not supported'
      : ds.elements.x7fe00009
        ? 'Double Float Pixel Data (7FE0,0009) is not supported'
        : undefined;
    throw new ImageRejected(
      'unsupported',
      `no pixel data: the instance has no Pixel Data (7FE0,0010)${other ? `; ${other}` : ''}`,
    );
  }
  const pixelElement = ds.elements.x7fe00010 as DicomElement;
  if (pixelElement.length === 0) {
    throw new ImageRejected('unsupported', 'no pixel data: Pixel Data (7FE0,0010) is empty');
  }

  const ts = transferSyntax(tsUid);
  const px = readPixelModule(ds, ts);
  checkLimits(px, limits);

  if (!Number.isInteger(frame) || frame < 0 || frame >= px.numberOfFrames) {
    throw new ImageRejected(
      'unsupported',
      `frame ${frame} requested; the instance has ${px.numberOfFrames} frame(s) ` +
        '(NumberOfFrames (0028,0008)), numbered from 0',
    );
  }

  const decoded =
    ts.codec === 'native'
      ? nativeFrame(ds, pixelElement, px, frame)
      : await encapsulatedFrame(ds, pixelElement, px, frame);

  const notes: string[] = [];
  const common = {
    transferSyntaxUid: ts.uid,
    transferSyntaxName: ts.name,
    sopClassUid,
    photometricInterpretation: px.photometric,
    samplesPerPixel: px.samplesPerPixel,
    bitsAllocated: px.bitsAllocated,
    bitsStored: px.bitsStored,
    highBit: px.highBit,
    pixelRepresentation: px.signed ? (1 as const) : (0 as const),
    numberOfFrames: px.numberOfFrames,
    frame,
    notes,
  };

  let data: Float32Array;
  let info: DicomPixelInfo;
  if (px.photometric === 'MONOCHROME1' || px.photometric === 'MONOCHROME2') {
    const result = grayscale(ds, px, decoded, notes);
    data = result.data;
    info = { ...common, ...result.applied };
  } else if (px.photometric === 'PALETTE COLOR') {
    data = paletteToGray(ds, px, decoded);
    info = { ...common, ...colourApplied(16) };
  } else {
    data = colourToGray(px, decoded, ts);
    info = { ...common, ...colourApplied(px.bitsStored) };
  }

  return {
    data,
    width: px.columns,
    height: px.rows,
    maxValue: 65535,
    format: 'dicom',
    sourceChannels: px.samplesPerPixel,
    bitsPerSample: 16,
    dicom: info,
  };
}

const OUT_MAX = 65535;

// ---------------------------------------------------------------------------------------------
// Parsing and attributes
// ---------------------------------------------------------------------------------------------

function parsePart10(part10: Uint8Array): DataSet {
  // dicom-parser inflates the deflated transfer syntax with Node's zlib only when handed a
  // Buffer (it calls Buffer#copy); a Buffer view over the same memory costs nothing.
  const bytes = Buffer.isBuffer(part10)
    ? part10
    : Buffer.from(part10.buffer, part10.byteOffset, part10.byteLength);
  if (bytes.length < 132 || bytes.toString('latin1', 128, 132) !== 'DICM') {
    throw new ImageRejected(
      'corrupt',
      'not a DICOM Part-10 file: no "DICM" prefix at offset 128 (or shorter than 132 bytes)',
    );
  }
  try {
    return parseDicom(bytes);
  } catch (err) {
    // dicom-parser throws strings, Errors, or { exception, dataSet } objects
    throw new ImageRejected(
      'corrupt',
      `DICOM data set cannot be parsed (truncated or damaged): ${describe(err)}`,
      err,
    );
  }
}

function transferSyntax(uid: string): DicomTransferSyntax & { uid: string } {
  if (!uid) {
    throw new ImageRejected('corrupt', 'file meta information lacks TransferSyntaxUID (0002,0010)');
  }
  const known = DECODABLE_TRANSFER_SYNTAXES[uid];
  if (known) return { ...known, uid };
  const why = UNSUPPORTED_TRANSFER_SYNTAXES[uid];
  throw new ImageRejected(
    'unsupported',
    why
      ? `transfer syntax ${uid} (${why}) is not supported`
      : `transfer syntax ${uid} is unknown and not supported`,
  );
}

function requiredUint16(ds: DataSet, tag: string, name: string): number {
  const v = ds.uint16(tag);
  if (v === undefined) {
    throw new ImageRejected('corrupt', `${name} (${formatTag(tag)}) is missing`);
  }
  return v;
}

function readPixelModule(ds: DataSet, ts: DicomTransferSyntax & { uid: string }): PixelModule {
  const rows = requiredUint16(ds, 'x00280010', 'Rows');
  const columns = requiredUint16(ds, 'x00280011', 'Columns');
  const bitsAllocated = requiredUint16(ds, 'x00280100', 'BitsAllocated');
  const samplesPerPixel = ds.uint16('x00280002') ?? 1;
  const photometric = (ds.string('x00280004') ?? '').toUpperCase();
  const bitsStored = ds.uint16('x00280101') ?? bitsAllocated;
  const highBit = ds.uint16('x00280102') ?? bitsStored - 1;
  const pixelRepresentation = ds.uint16('x00280103') ?? 0;
  const planarConfiguration = ds.uint16('x00280006') ?? 0;
  const framesText = ds.string('x00280008');
  const numberOfFrames = framesText === undefined || framesText === '' ? 1 : Number(framesText);

  if (rows === 0 || columns === 0) {
    throw new ImageRejected('corrupt', `Rows × Columns (0028,0010/0011) is ${rows}×${columns}`);
  }
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    throw new ImageRejected(
      'unsupported',
      `BitsAllocated (0028,0100) = ${bitsAllocated} is not supported (8, 16 or 32)`,
    );
  }
  if (bitsStored < 1 || bitsStored > bitsAllocated) {
    throw new ImageRejected(
      'corrupt',
      `BitsStored (0028,0101) = ${bitsStored} does not fit BitsAllocated ${bitsAllocated}`,
    );
  }
  if (highBit < bitsStored - 1 || highBit >= bitsAllocated) {
    throw new ImageRejected(
      'corrupt',
      `HighBit (0028,0102) = ${highBit} is inconsistent with BitsStored ${bitsStored} and ` +
        `BitsAllocated ${bitsAllocated}`,
    );
  }
  if (!Number.isInteger(numberOfFrames) || numberOfFrames < 1) {
    throw new ImageRejected('corrupt', `NumberOfFrames (0028,0008) = "${framesText}" is invalid`);
  }
  const monochrome = photometric === 'MONOCHROME1' || photometric === 'MONOCHROME2';
  const colour = ['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_RCT', 'YBR_ICT'].includes(photometric);
  if (!monochrome && !colour && photometric !== 'PALETTE COLOR') {
    throw new ImageRejected(
      'unsupported',
      `PhotometricInterpretation (0028,0004) "${photometric}" is not supported ` +
        '(MONOCHROME1/2, PALETTE COLOR, RGB, YBR_FULL, YBR_FULL_422, YBR_RCT, YBR_ICT)',
    );
  }
  if (!monochrome && bitsAllocated === 32) {
    throw new ImageRejected(
      'unsupported',
      `BitsAllocated (0028,0100) = 32 is supported for MONOCHROME1/2 only, not ${photometric}`,
    );
  }
  const expectedSamples = colour ? 3 : 1;
  if (samplesPerPixel !== expectedSamples) {
    throw new ImageRejected(
      'corrupt',
      `SamplesPerPixel (0028,0002) = ${samplesPerPixel} contradicts ` +
        `PhotometricInterpretation ${photometric}`,
    );
  }
  return {
    ts,
    rows,
    columns,
    samplesPerPixel,
    photometric,
    bitsAllocated,
    bitsStored,
    highBit,
    signed: pixelRepresentation === 1,
    planarConfiguration,
    numberOfFrames,
  };
}

function checkLimits(px: PixelModule, limits: DecodeLimits): void {
  const { columns: w, rows: h } = px;
  if (Math.min(w, h) < limits.minSide) {
    throw new ImageRejected(
      'too-small',
      `image is ${w}×${h} (Columns×Rows); each side must be at least ${limits.minSide} px`,
    );
  }
  if (Math.max(w, h) > limits.maxSide || w * h > limits.maxPixels) {
    throw new ImageRejected(
      'too-large',
      `image is ${w}×${h} (Columns×Rows); at most ${limits.maxSide} px a side and ` +
        `${limits.maxPixels} pixels`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Native (uncompressed) pixel data
// ---------------------------------------------------------------------------------------------

function nativeFrame(ds: DataSet, el: DicomElement, px: PixelModule, frame: number): DecodedFrame {
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

// ---------------------------------------------------------------------------------------------
// Encapsulated pixel data
// ---------------------------------------------------------------------------------------------

async function encapsulatedFrame(
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
      `frame ${frame} cannot be read from the Pixel Data fragments (${where}): ${describe(err)}`,
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

// ---------------------------------------------------------------------------------------------
// RLE Lossless (PS3.5 Annex G)
// ---------------------------------------------------------------------------------------------

/**
 * DICOM RLE: a 64-byte header (segment count, 15 offsets), then one PackBits segment per byte
 * plane, most significant byte first, one component after the other.
 */
function decodeRle(bytes: Uint8Array, px: PixelModule): DecodedFrame {
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

// ---------------------------------------------------------------------------------------------
// JPEG (baseline/extended via libjpeg-turbo, lossless via jpeg-lossless-decoder-js)
// ---------------------------------------------------------------------------------------------

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

async function decodeJpegFamily(bytes: Uint8Array, px: PixelModule): Promise<DecodedFrame> {
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
      `${where}: JPEG Lossless decode failed: ${describe(err)}`,
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

// ---------------------------------------------------------------------------------------------
// JPEG-LS (CharLS) and JPEG 2000 (OpenJPEG)
// ---------------------------------------------------------------------------------------------

function decodeJpegLs(bytes: Uint8Array, px: PixelModule): Promise<DecodedFrame> {
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

function decodeJpeg2000(bytes: Uint8Array, px: PixelModule): Promise<DecodedFrame> {
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

/**
 * The common protocol of the cornerstone decoders: copy the codestream into WASM memory, decode,
 * read the frame info, copy the pixels out (the view dies with the decoder), delete.
 */
async function runWasmDecoder<M extends WasmModuleBase, D extends WasmDecoder>(
  slot: CodecSlot<M>,
  create: (module: M) => D,
  bytes: Uint8Array,
  px: PixelModule,
  layout: (info: WasmFrameInfo, decoder: D) => { planar: boolean; rgb: boolean },
): Promise<DecodedFrame> {
  const where = `${px.ts.name} (${px.ts.uid})`;
  const { module, log } = await slot.get();
  log.length = 0;
  let decoder: D | undefined;
  try {
    decoder = create(module);
    decoder.getEncodedBuffer(bytes.length).set(bytes);
    decoder.decode();
    const info = decoder.getFrameInfo();
    if (info.width === 0 || info.height === 0) {
      // OpenJPEG reports failures by printing them and leaving an empty frame
      throw new ImageRejected(
        'corrupt',
        `${where}: ${slot.label} could not decode the frame` +
          (log.length
            ? `: ${log.filter((l) => l.includes('ERROR')).join('; ') || log.join('; ')}`
            : ''),
      );
    }
    checkDimensions(where, info.width, info.height, px);
    if (info.componentCount !== px.samplesPerPixel) {
      throw new ImageRejected(
        'corrupt',
        `${where}: codestream has ${info.componentCount} component(s); SamplesPerPixel ` +
          `(0028,0002) is ${px.samplesPerPixel}`,
      );
    }
    const bytesPerSample = info.bitsPerSample > 8 ? 2 : 1;
    const count = info.width * info.height * info.componentCount;
    const raw = decoder.getDecodedBuffer();
    if (raw.length < count * bytesPerSample) {
      throw new ImageRejected(
        'corrupt',
        `${where}: ${slot.label} returned ${raw.length} bytes for ${count} samples`,
      );
    }
    const copy = raw.slice(0, count * bytesPerSample);
    const samples =
      bytesPerSample === 1
        ? new Uint8Array(copy.buffer, 0, count)
        : info.isSigned
          ? new Int16Array(copy.buffer, 0, count)
          : new Uint16Array(copy.buffer, 0, count);
    return { samples, components: info.componentCount, cells: false, ...layout(info, decoder) };
  } catch (err) {
    if (err instanceof ImageRejected) throw err;
    // C++ exceptions arrive as pointers (numbers); a trap (WebAssembly.RuntimeError, checked by
    // name: no DOM/wasm typings here, and Jest realms differ) leaves the module unusable, so it
    // is re-instantiated on next use.
    if (err instanceof Error && err.name === 'RuntimeError') slot.reset();
    const text =
      typeof err === 'number' && module.getExceptionMessage
        ? [module.getExceptionMessage(err)].flat().join(': ')
        : describe(err);
    throw new ImageRejected('corrupt', `${where}: ${slot.label} failed: ${text}`, err);
  } finally {
    decoder?.delete();
  }
}

function checkDimensions(where: string, width: number, height: number, px: PixelModule): void {
  if (width !== px.columns || height !== px.rows) {
    throw new ImageRejected(
      'corrupt',
      `${where}: codestream is ${width}×${height}; Columns×Rows (0028,0011/0010) is ` +
        `${px.columns}×${px.rows}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Grayscale: stored values → modality → VOI → 0..65535
// ---------------------------------------------------------------------------------------------

function grayscale(
  ds: DataSet,
  px: PixelModule,
  decoded: DecodedFrame,
  notes: string[],
): {
  data: Float32Array;
  applied: Pick<DicomPixelInfo, 'rescaleSlope' | 'rescaleIntercept' | 'window' | 'inverted'>;
} {
  const slopeValue = ds.floatString('x00281053');
  const interceptValue = ds.floatString('x00281052');
  const slope = slopeValue ?? 1;
  const intercept = interceptValue ?? 0;
  if (!Number.isFinite(slope) || slope === 0 || !Number.isFinite(intercept)) {
    throw new ImageRejected(
      'corrupt',
      `RescaleSlope/RescaleIntercept (0028,1053/1052) = ${ds.string('x00281053')}/` +
        `${ds.string('x00281052')} is not a usable linear transform`,
    );
  }
  const hasModalityLut = ds.elements.x00283000 !== undefined;
  if (hasModalityLut) {
    notes.push('Modality LUT Sequence (0028,3000) not applied; rescale and percentile window used');
  }
  if (ds.elements.x00283010 !== undefined) {
    notes.push('VOI LUT Sequence (0028,3010) not applied');
  }
  // DX pairs MONOCHROME1 with INVERSE and MONOCHROME2 with IDENTITY; inversion follows the
  // photometric interpretation alone, so an unusual MONOCHROME2 + INVERSE is only reported.
  const presentationShape = ds.string('x20500020')?.toUpperCase();
  if (presentationShape === 'INVERSE' && px.photometric === 'MONOCHROME2') {
    notes.push('Presentation LUT Shape (2050,0020) INVERSE with MONOCHROME2 not applied');
  }

  const data = storedToModality(decoded.samples, px, decoded.cells, slope, intercept);

  let window = hasModalityLut ? undefined : datasetWindow(ds, notes);
  if (!window) {
    const [lo, hi] = percentile(data, 0.5, 99.5);
    window = {
      center: (lo + hi) / 2,
      width: hi - lo,
      source: 'percentile',
      function: 'LINEAR_EXACT',
    };
  }
  const inverted = px.photometric === 'MONOCHROME1';
  applyVoi(data, window, inverted);
  return {
    data,
    applied: { rescaleSlope: slope, rescaleIntercept: intercept, window, inverted },
  };
}

/** Stored value (BitsStored at HighBit, two's complement when signed) × slope + intercept. */
function storedToModality(
  samples: DecodedFrame['samples'],
  px: PixelModule,
  cells: boolean,
  slope: number,
  intercept: number,
): Float32Array {
  const n = px.rows * px.columns;
  const out = new Float32Array(n);
  const bits = px.bitsStored;
  // Codecs hand back the stored value at bit 0; native and RLE cells may hold it higher up.
  const shift = cells ? px.highBit + 1 - bits : 0;
  const range = 2 ** bits;
  const half = range / 2;
  const signed = px.signed;
  if (bits === 32) {
    for (let i = 0; i < n; i++) {
      let v = (samples[i] as number) >>> 0;
      if (signed && v >= half) v -= range;
      out[i] = v * slope + intercept;
    }
    return out;
  }
  const mask = range - 1;
  for (let i = 0; i < n; i++) {
    // `&` works on the 32-bit two's complement, so negative Int16 codec output masks correctly
    let v = ((samples[i] as number) >>> shift) & mask;
    if (signed && v >= half) v -= range;
    out[i] = v * slope + intercept;
  }
  return out;
}

/** The dataset's first Window Center/Width and VOI LUT Function, when valid. */
function datasetWindow(ds: DataSet, notes: string[]): DicomWindow | undefined {
  if (!ds.elements.x00281050 || !ds.elements.x00281051) return undefined;
  const center = ds.floatString('x00281050', 0);
  const width = ds.floatString('x00281051', 0);
  const fnText = (ds.string('x00281056') ?? 'LINEAR').toUpperCase();
  const fn = fnText === 'LINEAR_EXACT' || fnText === 'SIGMOID' ? fnText : 'LINEAR';
  if (fnText !== fn) notes.push(`VOI LUT Function (0028,1056) "${fnText}" unknown; LINEAR used`);
  const minWidth = fn === 'LINEAR' ? 1 : Number.MIN_VALUE;
  if (
    center === undefined ||
    width === undefined ||
    !Number.isFinite(center) ||
    !Number.isFinite(width) ||
    width < minWidth
  ) {
    notes.push(
      `Window Center/Width (0028,1050/1051) = ${ds.string('x00281050')}/` +
        `${ds.string('x00281051')} is not a valid ${fn} window; percentile window used`,
    );
    return undefined;
  }
  return { center, width, source: 'dataset', function: fn };
}

/** PS3.3 C.11.2.1.2 (LINEAR, LINEAR_EXACT) and C.11.2.1.3.1 (SIGMOID), into 0..65535. */
function applyVoi(data: Float32Array, window: DicomWindow, invert: boolean): void {
  const n = data.length;
  const { center, width } = window;
  if (window.function === 'SIGMOID') {
    const k = -4 / width;
    for (let i = 0; i < n; i++) {
      const y = OUT_MAX / (1 + Math.exp(k * ((data[i] as number) - center)));
      data[i] = invert ? OUT_MAX - y : y;
    }
    return;
  }
  // LINEAR is LINEAR_EXACT on (center - 0.5, width - 1)
  const linear = window.function === 'LINEAR';
  const c = linear ? center - 0.5 : center;
  const w = linear ? width - 1 : width;
  const lower = c - w / 2;
  const upper = c + w / 2;
  // x ≤ lower → 0; x > upper → max; in between the ramp (empty when w = 0: a threshold).
  const scale = w > 0 ? OUT_MAX / w : 0;
  const offset = OUT_MAX / 2 - c * scale;
  for (let i = 0; i < n; i++) {
    const x = data[i] as number;
    const y = x <= lower ? 0 : x > upper ? OUT_MAX : x * scale + offset;
    data[i] = invert ? OUT_MAX - y : y;
  }
}

// ---------------------------------------------------------------------------------------------
// Colour and palette → luma
// ---------------------------------------------------------------------------------------------

const LUMA_R = 0.299;
const LUMA_G = 0.587;
const LUMA_B = 0.114;

function colourApplied(
  bits: number,
): Pick<DicomPixelInfo, 'rescaleSlope' | 'rescaleIntercept' | 'window' | 'inverted'> {
  const max = 2 ** bits - 1;
  return {
    rescaleSlope: 1,
    rescaleIntercept: 0,
    window: { center: max / 2, width: max, source: 'none', function: 'LINEAR_EXACT' },
    inverted: false,
  };
}

/** RGB → Rec. 601 luma; YBR_* as stored → its Y (which is that luma already). */
function colourToGray(
  px: PixelModule,
  decoded: DecodedFrame,
  ts: DicomTransferSyntax & { uid: string },
): Float32Array {
  const n = px.rows * px.columns;
  const out = new Float32Array(n);
  const s = decoded.samples;
  const mask = 2 ** px.bitsStored - 1; // ≤ 16 bits: 32-bit colour is refused up front
  const shift = decoded.cells ? px.highBit + 1 - px.bitsStored : 0;
  const scale = OUT_MAX / mask;
  const isRgb = decoded.rgb || px.photometric === 'RGB';

  if (px.photometric === 'YBR_FULL_422' && !decoded.rgb) {
    if (ts.codec !== 'native') {
      throw new ImageRejected(
        'unsupported',
        `YBR_FULL_422 pixel data in ${ts.name} (${ts.uid}) is not supported`,
      );
    }
    // native 4:2:2: Y1 Y2 Cb Cr per pixel pair — luma is the Y samples
    for (let p = 0; p < n; p++) {
      const idx = (p >> 1) * 4 + (p & 1);
      out[p] = (((s[idx] as number) >>> shift) & mask) * scale;
    }
    return out;
  }
  // planar: R plane, G plane, B plane; interleaved: R G B per pixel
  const second = decoded.planar ? n : 1;
  const third = decoded.planar ? 2 * n : 2;
  for (let p = 0; p < n; p++) {
    const base = decoded.planar ? p : p * 3;
    const a = ((s[base] as number) >>> shift) & mask;
    if (!isRgb) {
      out[p] = a * scale;
      continue;
    }
    const g = ((s[base + second] as number) >>> shift) & mask;
    const b = ((s[base + third] as number) >>> shift) & mask;
    out[p] = (LUMA_R * a + LUMA_G * g + LUMA_B * b) * scale;
  }
  return out;
}

interface PaletteLut {
  entries: number;
  firstMapped: number;
  data: Float32Array;
}

/** PALETTE COLOR (PS3.3 C.7.6.3.1.5): index → R, G, B via the LUTs → luma, 16-bit scale. */
function paletteToGray(ds: DataSet, px: PixelModule, decoded: DecodedFrame): Float32Array {
  if (ds.elements.x00281221 || ds.elements.x00281222 || ds.elements.x00281223) {
    if (!ds.elements.x00281201) {
      throw new ImageRejected(
        'unsupported',
        'Segmented Palette Color LUT Data (0028,1221-1223) is not supported',
      );
    }
  }
  const red = paletteLut(ds, 'x00281101', 'x00281201', 'Red', px.signed);
  const green = paletteLut(ds, 'x00281102', 'x00281202', 'Green', px.signed);
  const blue = paletteLut(ds, 'x00281103', 'x00281203', 'Blue', px.signed);
  if (red.entries !== green.entries || red.entries !== blue.entries) {
    throw new ImageRejected('corrupt', 'Palette Color LUT descriptors disagree on the entry count');
  }
  // Per-index luma table: one multiply-add per LUT entry rather than per pixel.
  const entries = red.entries;
  const luma = new Float32Array(entries);
  for (let i = 0; i < entries; i++) {
    luma[i] =
      LUMA_R * (red.data[i] as number) +
      LUMA_G * (green.data[i] as number) +
      LUMA_B * (blue.data[i] as number);
  }
  const n = px.rows * px.columns;
  const out = new Float32Array(n);
  const s = decoded.samples;
  const bits = px.bitsStored;
  const mask = 2 ** bits - 1;
  const half = 2 ** (bits - 1);
  const shift = decoded.cells ? px.highBit + 1 - bits : 0;
  const first = red.firstMapped;
  const last = entries - 1;
  for (let p = 0; p < n; p++) {
    let v = ((s[p] as number) >>> shift) & mask;
    if (px.signed && v >= half) v -= 2 * half;
    // PS3.3: values below the first mapped value use entry 0, above the last use the last
    let idx = v - first;
    idx = idx < 0 ? 0 : idx > last ? last : idx;
    out[p] = luma[idx] as number;
  }
  return out;
}

/** One Palette Color LUT (descriptor + data), entries scaled to 0..65535. */
function paletteLut(
  ds: DataSet,
  descriptorTag: string,
  dataTag: string,
  colour: string,
  signed: boolean,
): PaletteLut {
  const desc = ds.elements[descriptorTag];
  const dataEl = ds.elements[dataTag];
  if (!desc || desc.length < 6 || !dataEl) {
    throw new ImageRejected(
      'corrupt',
      `PALETTE COLOR without ${colour} Palette Color LUT Descriptor/Data ` +
        `(${formatTag(descriptorTag)}/${formatTag(dataTag)})`,
    );
  }
  const entries = ds.uint16(descriptorTag, 0) || 65536; // 0 means 2^16 (PS3.3 C.7.6.3.1.5)
  const firstMapped = signed
    ? (ds.int16(descriptorTag, 1) as number)
    : (ds.uint16(descriptorTag, 1) as number);
  const declaredBits = ds.uint16(descriptorTag, 2) ?? 16;
  // Some writers declare 16 bits but store one byte per entry: trust the data length.
  const bytesPerEntry = dataEl.length >= entries * 2 ? 2 : dataEl.length >= entries ? 1 : 0;
  if (bytesPerEntry === 0) {
    throw new ImageRejected(
      'corrupt',
      `${colour} Palette Color LUT Data (${formatTag(dataTag)}) holds ${dataEl.length} bytes ` +
        `for ${entries} entries`,
    );
  }
  const bits = bytesPerEntry === 1 ? 8 : declaredBits === 8 ? 8 : 16;
  const data = new Float32Array(entries);
  const scale = OUT_MAX / (2 ** bits - 1);
  for (let i = 0; i < entries; i++) {
    const v =
      bytesPerEntry === 1 ? (ds.byteArray[dataEl.dataOffset + i] as number) : ds.uint16(dataTag, i);
    data[i] = (v as number) * scale;
  }
  return { entries, firstMapped, data };
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function formatTag(tag: string): string {
  const hex = tag.replace(/^x/, '').toUpperCase();
  return `${hex.slice(0, 4)},${hex.slice(4)}`;
}

/** A readable message from whatever a library threw (strings, Errors, wrapper objects). */
function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  if (err && typeof err === 'object' && 'exception' in err) {
    return describe((err as { exception: unknown }).exception);
  }
  return String(err);
}
