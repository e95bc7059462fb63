/**
 * DICOM Part-10 files as medstream stores them, and the header fields its events carry.
 *
 * A received instance is stored as the sender's dataset bytes exactly as they arrived (in the
 * negotiated transfer syntax, compressed or deflated as sent) behind a File Meta Information
 * header of our own (PS3.10 §7.1). Re-encoding through a DICOM toolkit was measured to drop
 * elements and alter JPEG 2000 / JPEG-LS pixel data, so nothing is re-encoded.
 */
import dicomParser from 'dicom-parser';

/** medstream's Implementation Class UID (a UUID-derived 2.25 UID) and version name. */
export const IMPLEMENTATION_CLASS_UID = '2.25.40235562331193623856546113027825946897';
export const IMPLEMENTATION_VERSION = 'MEDSTREAM_010';

export const TRANSFER_SYNTAX = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  deflated: '1.2.840.10008.1.2.1.99',
  explicitBig: '1.2.840.10008.1.2.2',
} as const;

export interface FileMetaInput {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** The sending AE title, when known (C-STORE). */
  sourceAe?: string | null;
}

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

export class DicomHeaderError extends Error {}

const PIXEL_DATA = 'x7fe00010';

/**
 * Reads the header of a Part-10 file up to (not into) the pixel data. Throws DicomHeaderError
 * when the bytes are not a parseable DICOM dataset or lack the UIDs every instance must have.
 */
export function readInstanceHeader(part10: Uint8Array): InstanceHeader {
  let ds: dicomParser.DataSet;
  try {
    ds = dicomParser.parseDicom(part10, { untilTag: PIXEL_DATA });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new DicomHeaderError(`not a parseable DICOM dataset: ${message}`);
  }
  const str = (tag: string) => {
    const v = ds.string(tag)?.trim();
    return v ? v : null;
  };
  const int = (tag: string) => (ds.elements[tag] ? (ds.uint16(tag) ?? null) : null);
  const required = (tag: string, name: string) => {
    const v = str(tag);
    if (!v) throw new DicomHeaderError(`${name} ${tag.slice(1)} is missing`);
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
    hasPixelData: PIXEL_DATA in ds.elements,
  };
}
