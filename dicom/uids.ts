/**
 * The DICOM identifiers medstream knows, one table each: its own implementation identity, the
 * transfer syntaxes (PS3.5 §10, PS3.6 Table A-1) with how their data sets and pixel data are
 * encoded and which pixel decoder of dicom/pixels handles them, and the SOP classes (PS3.4
 * Annex B) with whether their instances are images. Pure data and lookups, no I/O.
 */
import { createHash } from 'node:crypto';

// ---------------------------------------------------------------------------------------------
// medstream's identity
// ---------------------------------------------------------------------------------------------

/** medstream's Implementation Class UID (a UUID-derived 2.25 UID) and version name. */
export const IMPLEMENTATION_CLASS_UID = '2.25.40235562331193623856546113027825946897';
export const IMPLEMENTATION_VERSION = 'MEDSTREAM_010';

/** A 2.25 UID (PS3.5 B.2) from 128 bits of SHA-256 over `seed`: stable for the same seed. */
export function uidFrom(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex').slice(0, 32);
  return `2.25.${BigInt(`0x${hex}`).toString()}`;
}

// ---------------------------------------------------------------------------------------------
// Transfer syntaxes
// ---------------------------------------------------------------------------------------------

/** Which decoder of dicom/pixels a transfer syntax's pixel data goes to. */
export type DicomCodec = 'native' | 'rle' | 'jpeg' | 'jpeg-lossless' | 'jpeg-ls' | 'jpeg2000';

export interface DicomTransferSyntax {
  /** The name used in messages and in DicomPixelInfo.transferSyntaxName. */
  name: string;
  /** Pixel Data is encapsulated in fragments (PS3.5 A.4), compressed or not. */
  encapsulated: boolean;
  /** The data set after the File Meta group is deflated (PS3.5 A.5). */
  deflated?: true;
  /** Explicit VR Big Endian (PS3.5 A.3, retired). */
  bigEndian?: true;
  /** The pixel decoder; absent when medstream cannot decode this syntax's pixel data. */
  codec?: DicomCodec;
  /** Why there is no decoder, when worth telling the sender (shown after the name). */
  notDecodable?: string;
}

/** Every transfer syntax medstream knows: the decodable ones first, then those it refuses. */
export const TRANSFER_SYNTAXES: Readonly<Record<string, DicomTransferSyntax>> = {
  '1.2.840.10008.1.2': { name: 'Implicit VR Little Endian', encapsulated: false, codec: 'native' },
  '1.2.840.10008.1.2.1': {
    name: 'Explicit VR Little Endian',
    encapsulated: false,
    codec: 'native',
  },
  '1.2.840.10008.1.2.2': {
    name: 'Explicit VR Big Endian',
    encapsulated: false,
    bigEndian: true,
    codec: 'native',
  },
  '1.2.840.10008.1.2.1.99': {
    name: 'Deflated Explicit VR Little Endian',
    encapsulated: false,
    deflated: true,
    codec: 'native',
  },
  '1.2.840.10008.1.2.5': { name: 'RLE Lossless', encapsulated: true, codec: 'rle' },
  '1.2.840.10008.1.2.4.50': {
    name: 'JPEG Baseline (Process 1)',
    encapsulated: true,
    codec: 'jpeg',
  },
  '1.2.840.10008.1.2.4.51': {
    name: 'JPEG Extended (Process 2 & 4)',
    encapsulated: true,
    codec: 'jpeg',
  },
  '1.2.840.10008.1.2.4.57': {
    name: 'JPEG Lossless (Process 14)',
    encapsulated: true,
    codec: 'jpeg-lossless',
  },
  '1.2.840.10008.1.2.4.70': {
    name: 'JPEG Lossless SV1 (Process 14)',
    encapsulated: true,
    codec: 'jpeg-lossless',
  },
  '1.2.840.10008.1.2.4.80': { name: 'JPEG-LS Lossless', encapsulated: true, codec: 'jpeg-ls' },
  '1.2.840.10008.1.2.4.81': { name: 'JPEG-LS Near-Lossless', encapsulated: true, codec: 'jpeg-ls' },
  '1.2.840.10008.1.2.4.90': {
    name: 'JPEG 2000 (Lossless Only)',
    encapsulated: true,
    codec: 'jpeg2000',
  },
  '1.2.840.10008.1.2.4.91': { name: 'JPEG 2000', encapsulated: true, codec: 'jpeg2000' },

  '1.2.840.10008.1.2.1.98': {
    name: 'Encapsulated Uncompressed Explicit VR Little Endian',
    encapsulated: true,
    notDecodable: 'not implemented',
  },
  '1.2.840.10008.1.2.4.53': {
    name: 'JPEG Extended, hierarchical',
    encapsulated: true,
    notDecodable: 'retired',
  },
  '1.2.840.10008.1.2.4.55': {
    name: 'JPEG Full Progression',
    encapsulated: true,
    notDecodable: 'retired',
  },
  '1.2.840.10008.1.2.4.92': {
    name: 'JPEG 2000 Part 2 Multi-component (Lossless Only)',
    encapsulated: true,
    notDecodable: 'no codec',
  },
  '1.2.840.10008.1.2.4.93': {
    name: 'JPEG 2000 Part 2 Multi-component',
    encapsulated: true,
    notDecodable: 'no codec',
  },
  '1.2.840.10008.1.2.4.94': {
    name: 'JPIP Referenced',
    encapsulated: false,
    notDecodable: 'pixel data held elsewhere',
  },
  '1.2.840.10008.1.2.4.95': {
    name: 'JPIP Referenced Deflate',
    encapsulated: false,
    deflated: true,
    notDecodable: 'pixel data held elsewhere',
  },
  '1.2.840.10008.1.2.4.100': { name: 'MPEG2 video', encapsulated: true },
  '1.2.840.10008.1.2.4.100.1': { name: 'MPEG2 video (fragmentable)', encapsulated: true },
  '1.2.840.10008.1.2.4.101': { name: 'MPEG2 video', encapsulated: true },
  '1.2.840.10008.1.2.4.101.1': { name: 'MPEG2 video (fragmentable)', encapsulated: true },
  '1.2.840.10008.1.2.4.102': { name: 'MPEG-4 AVC/H.264 video', encapsulated: true },
  '1.2.840.10008.1.2.4.102.1': {
    name: 'MPEG-4 AVC/H.264 video (fragmentable)',
    encapsulated: true,
  },
  '1.2.840.10008.1.2.4.103': { name: 'MPEG-4 AVC/H.264 video', encapsulated: true },
  '1.2.840.10008.1.2.4.103.1': {
    name: 'MPEG-4 AVC/H.264 video (fragmentable)',
    encapsulated: true,
  },
  '1.2.840.10008.1.2.4.104': { name: 'MPEG-4 AVC/H.264 stereo video', encapsulated: true },
  '1.2.840.10008.1.2.4.104.1': {
    name: 'MPEG-4 AVC/H.264 stereo video (fragmentable)',
    encapsulated: true,
  },
  '1.2.840.10008.1.2.4.105': { name: 'MPEG-4 AVC/H.264 stereo video', encapsulated: true },
  '1.2.840.10008.1.2.4.105.1': {
    name: 'MPEG-4 AVC/H.264 stereo video (fragmentable)',
    encapsulated: true,
  },
  '1.2.840.10008.1.2.4.106': { name: 'MPEG-4 AVC/H.264 stereo video', encapsulated: true },
  '1.2.840.10008.1.2.4.106.1': {
    name: 'MPEG-4 AVC/H.264 stereo video (fragmentable)',
    encapsulated: true,
  },
  '1.2.840.10008.1.2.4.107': { name: 'HEVC/H.265 video', encapsulated: true },
  '1.2.840.10008.1.2.4.108': { name: 'HEVC/H.265 video', encapsulated: true },
  '1.2.840.10008.1.2.4.201': {
    name: 'High-Throughput JPEG 2000',
    encapsulated: true,
    notDecodable: 'no HTJ2K codec',
  },
  '1.2.840.10008.1.2.4.202': {
    name: 'High-Throughput JPEG 2000 with RPCL',
    encapsulated: true,
    notDecodable: 'no HTJ2K codec',
  },
  '1.2.840.10008.1.2.4.203': {
    name: 'High-Throughput JPEG 2000',
    encapsulated: true,
    notDecodable: 'no HTJ2K codec',
  },
  '1.2.840.10008.1.2.6.1': {
    name: 'RFC 2557 MIME encapsulation',
    encapsulated: false,
    notDecodable: 'retired',
  },
  '1.2.840.10008.1.2.6.2': { name: 'XML encoding', encapsulated: false, notDecodable: 'retired' },
};

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

/**
 * The transfer syntaxes whose pixel data dicom/pixels decodes — also the ones the C-STORE SCP
 * accepts, so that every instance it takes can be classified.
 */
export const DECODABLE_TRANSFER_SYNTAX_UIDS: readonly string[] = Object.keys(
  TRANSFER_SYNTAXES,
).filter((uid) => TRANSFER_SYNTAXES[uid]?.codec !== undefined);

/** The name of a known transfer syntax with the reason it is not decodable, if any. */
export function describeTransferSyntax(ts: DicomTransferSyntax): string {
  return ts.notDecodable ? `${ts.name} (${ts.notDecodable})` : ts.name;
}

// ---------------------------------------------------------------------------------------------
// SOP classes
// ---------------------------------------------------------------------------------------------

export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';

/** Nearly every Storage SOP Class lives under this root (PS3.4 Annex B / PS3.6 Annex A). */
export const STORAGE_SOP_CLASS_ROOT = '1.2.840.10008.5.1.4.1.1.';

/** The storage SOP classes that do not: Hanging Protocol, Color Palette, implant templates. */
export const OTHER_STORAGE_SOP_CLASSES: readonly string[] = [
  '1.2.840.10008.5.1.4.38.1', // Hanging Protocol Storage
  '1.2.840.10008.5.1.4.39.1', // Color Palette Storage
  '1.2.840.10008.5.1.4.43.1', // Generic Implant Template Storage
  '1.2.840.10008.5.1.4.44.1', // Implant Assembly Template Storage
  '1.2.840.10008.5.1.4.45.1', // Implant Template Group Storage
];

export const SECONDARY_CAPTURE_SOP_CLASS = `${STORAGE_SOP_CLASS_ROOT}7`;

/** Exact storage SOP classes (suffix after STORAGE_SOP_CLASS_ROOT) → [image?, kind]. */
const STORAGE_SOP_CLASSES: Readonly<Record<string, readonly [boolean, string]>> = {
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

/** Families (prefix after STORAGE_SOP_CLASS_ROOT) of non-image storage classes. */
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

/** Any Storage SOP Class, known to the table above or not (C-STORE accepts them all). */
export function isStorageSopClass(sopClassUid: string): boolean {
  return (
    sopClassUid.startsWith(STORAGE_SOP_CLASS_ROOT) ||
    OTHER_STORAGE_SOP_CLASSES.includes(sopClassUid)
  );
}

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
  if (!uid.startsWith(STORAGE_SOP_CLASS_ROOT)) {
    return { image: false, kind: 'unknown (not a storage SOP class)' };
  }
  const suffix = uid.slice(STORAGE_SOP_CLASS_ROOT.length);
  const exact = STORAGE_SOP_CLASSES[suffix];
  if (exact) return { image: exact[0], kind: exact[1] };
  for (const [prefix, kind] of NON_IMAGE_FAMILIES) {
    if (suffix.startsWith(prefix)) return { image: false, kind };
  }
  return { image: false, kind: 'unknown storage SOP class' };
}
