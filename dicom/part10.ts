/**
 * DICOM Part-10 files (PS3.10 §7.1): writing the File Meta header medstream stores instances
 * behind, and the one reader of Part-10 files — used by the DIMSE and STOW-RS sources (the event
 * fields), the imaging processor's pixel reader (dicom/pixels) and the DICOM export sink (the
 * source instance's patient and study).
 *
 * A received instance is stored as the sender's dataset bytes exactly as they arrived (in the
 * negotiated transfer syntax, compressed or deflated as sent) behind a File Meta Information
 * header of our own. Re-encoding through a DICOM toolkit was measured to drop elements and alter
 * JPEG 2000 / JPEG-LS pixel data, so nothing is re-encoded.
 *
 * Reading never decodes pixel data: it parses the element structure (for Pixel Data: where the
 * values or fragments lie), and the header reader stops before Pixel Data altogether.
 */
import { parseDicom, type DataSet } from 'dicom-parser';
import { EngineError } from '../engine/errors';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION } from './uids';

// ---------------------------------------------------------------------------------------------
// Writing: the File Meta Information group
// ---------------------------------------------------------------------------------------------

export interface FileMetaInput {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** The sending AE title, when known (C-STORE). */
  sourceAe?: string | null;
}

/** One explicit VR little endian element (the encoding of the File Meta group, PS3.10 §7.1). */
function element(group: number, elem: number, vr: string, value: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(elem, 2);
  header.write(vr, 4, 'latin1');
  if (vr === 'OB') {
    // OB uses the long form: 2 reserved bytes + 32-bit length.
    const long = Buffer.alloc(12);
    header.copy(long, 0, 0, 6);
    long.writeUInt32LE(value.length, 8);
    return Buffer.concat([long, value]);
  }
  header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

/** A UI value padded to even length with NUL, other text with a space (PS3.5 §6.2). */
function text(value: string, vr: 'UI' | 'SH' | 'AE'): Buffer {
  const padded = value.length % 2 === 1 ? value + (vr === 'UI' ? '\0' : ' ') : value;
  return Buffer.from(padded, 'latin1');
}

/** 128-byte preamble + "DICM" + File Meta Information group (explicit VR little endian). */
export function fileMetaHeader(meta: FileMetaInput): Buffer {
  const elements = [
    element(0x0002, 0x0001, 'OB', Buffer.from([0x00, 0x01])),
    element(0x0002, 0x0002, 'UI', text(meta.sopClassUid, 'UI')),
    element(0x0002, 0x0003, 'UI', text(meta.sopInstanceUid, 'UI')),
    element(0x0002, 0x0010, 'UI', text(meta.transferSyntaxUid, 'UI')),
    element(0x0002, 0x0012, 'UI', text(IMPLEMENTATION_CLASS_UID, 'UI')),
    element(0x0002, 0x0013, 'SH', text(IMPLEMENTATION_VERSION, 'SH')),
  ];
  const ae = meta.sourceAe?.trim();
  if (ae) elements.push(element(0x0002, 0x0016, 'AE', text(ae.slice(0, 16), 'AE')));
  const body = Buffer.concat(elements);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length, 0);
  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM', 'latin1'),
    element(0x0002, 0x0000, 'UL', length),
    body,
  ]);
}

/** The Part-10 file for a dataset received over the network: our header + the bytes as received. */
export function toPart10(meta: FileMetaInput, dataset: Buffer): Buffer {
  return Buffer.concat([fileMetaHeader(meta), dataset]);
}

/** Where the dataset starts in a Part-10 file (after the File Meta group), by its group length. */
export function datasetOffset(part10: Uint8Array): number {
  const view = Buffer.from(part10.buffer, part10.byteOffset, part10.byteLength);
  if (view.length < 144 || view.toString('latin1', 128, 132) !== 'DICM')
    throw new Error('not a DICOM Part-10 file (no DICM prefix)');
  if (view.readUInt16LE(132) !== 0x0002 || view.readUInt16LE(134) !== 0x0000)
    throw new Error('File Meta Information Group Length (0002,0000) missing');
  return 144 + view.readUInt32LE(140);
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/** Pixel Data (7FE0,0010) in dicom-parser's tag notation. */
export const PIXEL_DATA_TAG = 'x7fe00010';

export interface ReadPart10Options {
  /** Stop before Pixel Data (7FE0,0010): the header alone, cheaper on large instances. */
  untilPixelData?: boolean;
}

/**
 * Parses a Part-10 file (preamble, "DICM", File Meta group, data set in any transfer syntax the
 * parser knows, deflated included) into dicom-parser's element index. Pixel data is located, not
 * decoded. Throws EngineError DECODE_FAILED (non-retriable) when the bytes are not Part-10 or
 * cannot be parsed; the message says which and never contains patient data.
 */
export function readPart10(part10: Uint8Array, options: ReadPart10Options = {}): DataSet {
  // dicom-parser inflates the deflated transfer syntax with Node's zlib only when handed a
  // Buffer (it calls Buffer#copy); a Buffer view over the same memory costs nothing.
  const bytes = Buffer.isBuffer(part10)
    ? part10
    : Buffer.from(part10.buffer, part10.byteOffset, part10.byteLength);
  if (bytes.length < 132 || bytes.toString('latin1', 128, 132) !== 'DICM') {
    throw new EngineError(
      'DECODE_FAILED',
      'not a DICOM Part-10 file: no "DICM" prefix at offset 128 (or shorter than 132 bytes)',
    );
  }
  try {
    return parseDicom(bytes, options.untilPixelData ? { untilTag: PIXEL_DATA_TAG } : undefined);
  } catch (err) {
    // dicom-parser throws strings, Errors, or { exception, dataSet } objects
    throw new EngineError(
      'DECODE_FAILED',
      `DICOM data set cannot be parsed (truncated or damaged): ${describeThrown(err)}`,
      { cause: err },
    );
  }
}

/** A readable message from whatever a library threw (strings, Errors, wrapper objects). */
export function describeThrown(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  if (err && typeof err === 'object' && 'exception' in err) {
    return describeThrown((err as { exception: unknown }).exception);
  }
  return String(err);
}

/**
 * A reader of text attributes in their character set: UTF-8 when Specific Character Set
 * (0008,0005) names ISO_IR 192, else ISO 8859-1 (which covers the default repertoire). Trailing
 * padding (NUL, space) is dropped; an absent or empty attribute reads as undefined.
 */
export function textReader(ds: DataSet): (tag: string) => string | undefined {
  const utf8 = (ds.string('x00080005') ?? '').includes('ISO_IR 192');
  const decoder = new TextDecoder(utf8 ? 'utf-8' : 'latin1');
  return (tag) => {
    const el = ds.elements[tag];
    if (!el || el.length === 0) return undefined;
    const bytes = ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length);
    return decoder.decode(bytes).replace(/[\0 ]+$/, '');
  };
}

/** The fields of an instance that medstream's events and routing use. */
export interface InstanceHeader {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string | null;
  transferSyntaxUid: string;
  modality: string | null;
  bodyPartExamined: string | null;
  patientId: string | null;
  accessionNumber: string | null;
  rows: number | null;
  columns: number | null;
  bitsAllocated: number | null;
  numberOfFrames: number | null;
  photometricInterpretation: string | null;
  hasPixelData: boolean;
}

/**
 * Reads the header of a Part-10 file up to (not into) the pixel data. Throws EngineError
 * DECODE_FAILED when the bytes are not a parseable DICOM dataset or lack the UIDs every
 * instance must have (the message names the missing attribute).
 */
export function readInstanceHeader(part10: Uint8Array): InstanceHeader {
  const ds = readPart10(part10, { untilPixelData: true });
  const str = (tag: string) => {
    const v = ds.string(tag)?.trim();
    return v ? v : null;
  };
  const int = (tag: string) => (ds.elements[tag] ? (ds.uint16(tag) ?? null) : null);
  const required = (tag: string, name: string) => {
    const v = str(tag);
    if (!v) throw new EngineError('DECODE_FAILED', `${name} ${tag.slice(1)} is missing`);
    return v;
  };
  const frames = str('x00280008');
  return {
    sopClassUid: str('x00080016') ?? required('x00020002', 'SOP Class UID'),
    sopInstanceUid: str('x00080018') ?? required('x00020003', 'SOP Instance UID'),
    studyInstanceUid: required('x0020000d', 'Study Instance UID'),
    seriesInstanceUid: str('x0020000e'),
    transferSyntaxUid: required('x00020010', 'Transfer Syntax UID'),
    modality: str('x00080060'),
    bodyPartExamined: str('x00180015'),
    patientId: str('x00100020'),
    accessionNumber: str('x00080050'),
    rows: int('x00280010'),
    columns: int('x00280011'),
    bitsAllocated: int('x00280100'),
    numberOfFrames: frames && Number.isFinite(Number(frames)) ? Number(frames) : null,
    photometricInterpretation: str('x00280004'),
    hasPixelData: PIXEL_DATA_TAG in ds.elements,
  };
}

/** True for the EngineError readPart10 / readInstanceHeader throw for unreadable input. */
export function isUnreadableDicom(err: unknown): err is EngineError {
  return err instanceof EngineError && err.code === 'DECODE_FAILED';
}
