/**
 * Synthetic DICOM Part-10 test instances, written with dcmjs: no real patient data (patient
 * "TEST^PHANTOM"), random UIDs under 2.25 (UUID-derived, PS3.5 B.2), Explicit VR Little Endian.
 *
 * Images are DX (Digital X-Ray For Presentation) or CR by default, 16-bit words with BitsStored
 * 12 or 16 (or 8-bit, for codecs that need it), MONOCHROME2 or MONOCHROME1, with optional
 * RescaleSlope/Intercept, Window Center/Width and several frames. Pixels come from the caller
 * (raw stored words, written as given) or are generated: a chest-like phantom
 * (models/training/phantom.ts), a gradient, or simple shapes. Non-image instances (a Basic Text
 * SR) and images with the Pixel Data element removed are there for the rejection paths.
 *
 * Transcode the result to other transfer syntaxes with dcmtk (dcmcrle, dcmcjpeg, dcmcjpls,
 * dcmconv) in tests.
 */
import { randomUUID } from 'node:crypto';
import { createRng, generatePhantom } from '../../models/training/phantom';

/** Minimal typing of the parts of dcmjs used here (the package ships no types). */
interface DcmjsDicomDict {
  dict: Record<string, unknown>;
  write(): ArrayBuffer;
}
interface Dcmjs {
  data: {
    DicomDict: new (meta: Record<string, unknown>) => DcmjsDicomDict;
    DicomMetaDictionary: {
      denaturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown>;
    };
  };
}
const dcmjs = require('dcmjs') as Dcmjs;

export const SOP_CLASS = {
  CR: '1.2.840.10008.5.1.4.1.1.1',
  DX: '1.2.840.10008.5.1.4.1.1.1.1',
  /** DX and CR are single-frame IODs: multi-frame fixtures use this one instead. */
  MULTIFRAME_WORD_SC: '1.2.840.10008.5.1.4.1.1.7.3',
  MULTIFRAME_BYTE_SC: '1.2.840.10008.5.1.4.1.1.7.2',
  BASIC_TEXT_SR: '1.2.840.10008.5.1.4.1.1.88.11',
} as const;

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

/** A fresh UID under 2.25: the decimal value of a random UUID (≤ 44 characters). */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}

export interface DicomFixtureOptions {
  /** 'DX' (default) or 'CR'; frames > 1 switch to Multi-frame Grayscale SC. */
  kind?: 'DX' | 'CR';
  /** Overrides (0008,0060); defaults to the kind ('DX', 'CR'; 'OT' for multi-frame SC). */
  modality?: string;
  rows?: number;
  columns?: number;
  /** 16 (default) or 8. */
  bitsAllocated?: 8 | 16;
  /** 12 (default for 16-bit), 16, or 8 (8-bit only). */
  bitsStored?: 8 | 12 | 16;
  /** PixelRepresentation 1 (two's complement); generated content is then centred on 0. */
  signed?: boolean;
  photometric?: 'MONOCHROME2' | 'MONOCHROME1';
  rescale?: { slope: number; intercept: number };
  /** Window Center/Width (0028,1050/1051); arrays write multi-valued elements. */
  window?: {
    center: number | number[];
    width: number | number[];
    function?: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
  };
  frames?: number;
  /**
   * Raw stored words, rows × columns × frames, written exactly as given (so out-of-range high
   * bits can be tested). Without it, `content` is generated.
   */
  pixels?: Uint16Array | Int16Array | Uint8Array;
  /**
   * Generated content: 'phantom' (default; a chest-like radiograph), 'gradient' (left → right,
   * plus 1/16 of the range per frame), 'shapes' (dark background, bright disc and square).
   * Brightness is what the picture shows: MONOCHROME1 stores it inverted, so a MONOCHROME1
   * fixture displays like the MONOCHROME2 one.
   */
  content?: 'phantom' | 'gradient' | 'shapes';
  /** Seed for the phantom (default 1). */
  seed?: number;
  patientId?: string;
  patientName?: string;
  accessionNumber?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
  /** An image instance whose Pixel Data (7FE0,0010) element is left out. */
  omitPixelData?: boolean;
  /**
   * TransferSyntaxUID for the file meta information (default Explicit VR Little Endian). dcmjs
   * encodes the data set in Implicit VR LE / Explicit VR BE when named; any other UID gets an
   * Explicit VR LE data set (a mislabelled file, for rejection tests).
   */
  transferSyntaxUid?: string;
}

/** The UIDs and identifiers a fixture was written with, for assertions on routing. */
export interface DicomFixtureIds {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
  patientId: string;
  accessionNumber: string;
}

/**
 * A Part-10 image instance (Buffer), Explicit VR Little Endian. Values are checked: sizes ≥ 1,
 * `pixels` of the right length, BitsStored fitting BitsAllocated.
 */
export function makeDicomInstance(options: DicomFixtureOptions = {}): Buffer {
  return makeDicomInstanceWithIds(options).bytes;
}

/** makeDicomInstance, also returning the identifiers it used. */
export function makeDicomInstanceWithIds(options: DicomFixtureOptions = {}): {
  bytes: Buffer;
  ids: DicomFixtureIds;
} {
  const rows = options.rows ?? 128;
  const columns = options.columns ?? 128;
  const frames = options.frames ?? 1;
  const bitsAllocated = options.bitsAllocated ?? 16;
  const bitsStored = options.bitsStored ?? (bitsAllocated === 8 ? 8 : 12);
  const photometric = options.photometric ?? 'MONOCHROME2';
  if (!(rows >= 1 && columns >= 1 && frames >= 1)) throw new Error('rows/columns/frames ≥ 1');
  if (bitsStored > bitsAllocated) throw new Error('bitsStored exceeds bitsAllocated');
  const multiFrame = frames > 1;
  const kind = options.kind ?? 'DX';
  const sopClassUid = multiFrame
    ? bitsAllocated === 8
      ? SOP_CLASS.MULTIFRAME_BYTE_SC
      : SOP_CLASS.MULTIFRAME_WORD_SC
    : SOP_CLASS[kind];
  const ids = baseIds(options, sopClassUid);

  const dataset: Record<string, unknown> = {
    ...commonAttributes(options, ids),
    Modality: options.modality ?? (multiFrame ? 'OT' : kind),
    SeriesNumber: '1',
    InstanceNumber: '1',
    ImageType: ['ORIGINAL', 'PRIMARY'],
    ...(kind === 'DX' && !multiFrame
      ? { PresentationIntentType: 'FOR PRESENTATION', PresentationLUTShape: lutShape(photometric) }
      : {}),
    SamplesPerPixel: 1,
    PhotometricInterpretation: photometric,
    Rows: rows,
    Columns: columns,
    BitsAllocated: bitsAllocated,
    BitsStored: bitsStored,
    HighBit: bitsStored - 1,
    PixelRepresentation: options.signed ? 1 : 0,
    ...(multiFrame ? { NumberOfFrames: String(frames) } : {}),
    _vrMap: { PixelData: bitsAllocated === 8 ? 'OB' : 'OW' },
  };
  if (options.rescale) {
    dataset.RescaleSlope = String(options.rescale.slope);
    dataset.RescaleIntercept = String(options.rescale.intercept);
    dataset.RescaleType = 'US';
  }
  if (options.window) {
    const { center, width } = options.window;
    dataset.WindowCenter = Array.isArray(center) ? center.map(String) : String(center);
    dataset.WindowWidth = Array.isArray(width) ? width.map(String) : String(width);
    if (options.window.function) dataset.VOILUTFunction = options.window.function;
  }
  if (!options.omitPixelData) {
    const pixels = options.pixels ?? generate(options, rows, columns, frames, bitsStored);
    if (pixels.length !== rows * columns * frames) {
      throw new Error(`pixels: ${pixels.length} values for ${rows}×${columns}×${frames}`);
    }
    const bytes = new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);
    if (bitsAllocated === 8 && pixels.BYTES_PER_ELEMENT !== 1) {
      throw new Error('8-bit fixtures take Uint8Array pixels');
    }
    // dcmjs writes the ArrayBuffer as is: a copy the right size (views may share a larger one);
    // pad to even length as DICOM requires
    const padded = new Uint8Array(bytes.length + (bytes.length % 2));
    padded.set(bytes);
    dataset.PixelData = [padded.buffer];
  }
  return { bytes: write(dataset, ids, options.transferSyntaxUid), ids };
}

/**
 * A non-image instance: a Basic Text SR with one TEXT content item and no pixel data.
 * Identifier options as for makeDicomInstance.
 */
export function makeBasicTextSr(options: DicomFixtureOptions = {}): Buffer {
  const ids = baseIds(options, SOP_CLASS.BASIC_TEXT_SR);
  const code = (value: string, meaning: string) => [
    { CodeValue: value, CodingSchemeDesignator: 'DCM', CodeMeaning: meaning },
  ];
  const dataset: Record<string, unknown> = {
    ...commonAttributes(options, ids),
    Modality: 'SR',
    SeriesNumber: '1',
    InstanceNumber: '1',
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: code('121144', 'Document Title'),
    ContinuityOfContent: 'SEPARATE',
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    ContentSequence: [
      {
        RelationshipType: 'CONTAINS',
        ValueType: 'TEXT',
        ConceptNameCodeSequence: code('121071', 'Finding'),
        TextValue: 'Synthetic test report; no real patient.',
      },
    ],
  };
  return write(dataset, ids);
}

// ---------------------------------------------------------------------------------------------

function lutShape(photometric: string): string {
  return photometric === 'MONOCHROME1' ? 'INVERSE' : 'IDENTITY';
}

function baseIds(options: DicomFixtureOptions, sopClassUid: string): DicomFixtureIds {
  return {
    studyInstanceUid: options.studyInstanceUid ?? newUid(),
    seriesInstanceUid: options.seriesInstanceUid ?? newUid(),
    sopInstanceUid: options.sopInstanceUid ?? newUid(),
    sopClassUid,
    patientId: options.patientId ?? 'TEST-0001',
    accessionNumber: options.accessionNumber ?? 'ACC0001',
  };
}

function commonAttributes(options: DicomFixtureOptions, ids: DicomFixtureIds) {
  return {
    SpecificCharacterSet: 'ISO_IR 100',
    SOPClassUID: ids.sopClassUid,
    SOPInstanceUID: ids.sopInstanceUid,
    StudyDate: '20240101',
    StudyTime: '120000',
    ContentDate: '20240101',
    ContentTime: '120000',
    AccessionNumber: ids.accessionNumber,
    Manufacturer: 'medstream test fixtures',
    ReferringPhysicianName: '',
    PatientName: options.patientName ?? 'TEST^PHANTOM',
    PatientID: ids.patientId,
    PatientBirthDate: '',
    PatientSex: 'O',
    StudyInstanceUID: ids.studyInstanceUid,
    SeriesInstanceUID: ids.seriesInstanceUid,
    StudyID: '1',
  };
}

function write(
  dataset: Record<string, unknown>,
  ids: DicomFixtureIds,
  transferSyntaxUid: string = EXPLICIT_VR_LITTLE_ENDIAN,
): Buffer {
  const { DicomDict, DicomMetaDictionary } = dcmjs.data;
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: ids.sopClassUid,
    MediaStorageSOPInstanceUID: ids.sopInstanceUid,
    TransferSyntaxUID: transferSyntaxUid,
    ImplementationClassUID: '2.25.309178235960462211386545870380302530542',
    ImplementationVersionName: 'MEDSTREAM_TEST',
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return Buffer.from(dict.write());
}

/** Generated stored values for every frame (brightness → stored, per photometric/sign). */
function generate(
  options: DicomFixtureOptions,
  rows: number,
  columns: number,
  frames: number,
  bitsStored: number,
): Uint16Array | Int16Array | Uint8Array {
  const max = 2 ** bitsStored - 1;
  const n = rows * columns;
  const content = options.content ?? 'phantom';
  const brightness = new Float32Array(n); // 0..1, one frame
  if (content === 'phantom') {
    const size = Math.max(16, rows, columns);
    const phantom = generatePhantom(createRng(options.seed ?? 1), { size, label: 'normal' });
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < columns; x++) brightness[y * columns + x] = phantom.image[y * size + x]!;
    }
  } else if (content === 'gradient') {
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < columns; x++) {
        brightness[y * columns + x] = columns > 1 ? (x / (columns - 1)) * 0.75 : 0;
      }
    }
  } else {
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < columns; x++) {
        const dx = x / columns - 0.35;
        const dy = y / rows - 0.5;
        const inDisc = dx * dx + dy * dy < 0.04;
        const inSquare =
          x > columns * 0.6 && x < columns * 0.85 && y > rows * 0.3 && y < rows * 0.7;
        brightness[y * columns + x] = inDisc ? 0.8 : inSquare ? 0.5 : 0.1;
      }
    }
  }
  const invert = (options.photometric ?? 'MONOCHROME2') === 'MONOCHROME1';
  const offset = options.signed ? 2 ** (bitsStored - 1) : 0;
  const out =
    (options.bitsAllocated ?? 16) === 8
      ? new Uint8Array(n * frames)
      : options.signed
        ? new Int16Array(n * frames)
        : new Uint16Array(n * frames);
  for (let f = 0; f < frames; f++) {
    // gradient frames step up by 1/16 of the range, so frames are told apart
    const lift = content === 'gradient' ? f / 16 : f * 0.02;
    for (let i = 0; i < n; i++) {
      let b = Math.min(1, brightness[i]! + lift);
      if (invert) b = 1 - b;
      out[f * n + i] = Math.round(b * max) - offset;
    }
  }
  return out;
}
