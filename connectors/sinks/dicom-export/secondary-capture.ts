/**
 * The heatmap overlay of a result as a DICOM Secondary Capture instance in a new series of the
 * same study (PS3.3 A.8.1 SC Image IOD) — pure: the source instance's header and the overlay's
 * RGB pixels in, a dcmjs naturalised dataset out.
 *
 * UIDs are derived from the result id, so a redelivered result produces the same Series and SOP
 * Instance UIDs and the PACS replaces the instance instead of storing a duplicate.
 */
import { readPart10, textReader } from '../../../dicom/part10';
import { SECONDARY_CAPTURE_SOP_CLASS, uidFrom } from '../../../dicom/uids';

/** The Patient and General Study module attributes copied from the source instance. */
const COPIED = {
  PatientName: 'x00100010',
  PatientID: 'x00100020',
  IssuerOfPatientID: 'x00100021',
  PatientBirthDate: 'x00100030',
  PatientSex: 'x00100040',
  StudyInstanceUID: 'x0020000d',
  StudyDate: 'x00080020',
  StudyTime: 'x00080030',
  ReferringPhysicianName: 'x00080090',
  StudyID: 'x00200010',
  AccessionNumber: 'x00080050',
  StudyDescription: 'x00081030',
} as const;

/** The Type 2 ones among them: present in the SC even when empty (PS3.3 C.7.1.1, C.7.2.1). */
const TYPE_2 = [
  'PatientName',
  'PatientID',
  'PatientBirthDate',
  'PatientSex',
  'StudyDate',
  'StudyTime',
  'ReferringPhysicianName',
  'StudyID',
  'AccessionNumber',
] as const;

export interface SecondaryCaptureInput {
  /** The source instance as stored (Part-10). */
  source: Uint8Array;
  resultId: string;
  /** name@version */
  model: string;
  /** The class the heatmap explains. */
  label: string;
  probability: number;
  syntheticModel: boolean;
  /** RGB, 8 bits per sample, row-major. */
  rgb: Uint8Array;
  width: number;
  height: number;
  seriesNumber: number;
  now?: Date;
}

const da = (d: Date) => d.toISOString().slice(0, 10).replace(/-/g, '');
const tm = (d: Date) => d.toISOString().slice(11, 19).replace(/:/g, '');

export function secondaryCaptureDataset(input: SecondaryCaptureInput): Record<string, unknown> {
  const src = readPart10(input.source, { untilPixelData: true });
  // Text is written as UTF-8 (SpecificCharacterSet ISO_IR 192); the source's is read in its own.
  const text = textReader(src);
  const copied: Record<string, string> = {};
  for (const [keyword, tag] of Object.entries(COPIED)) {
    const v = text(tag);
    if (v !== undefined) copied[keyword] = v;
  }
  for (const keyword of TYPE_2) copied[keyword] ??= '';
  if (!copied.StudyInstanceUID) throw new Error('the source instance has no Study Instance UID');
  const now = input.now ?? new Date();
  const percent = (input.probability * 100).toFixed(1);
  const description = [
    `Grad-CAM heatmap of "${input.label}" (p=${percent} %) by ${input.model}`,
    input.syntheticModel
      ? 'synthetic-data model — not for clinical use'
      : 'AI output — not a diagnosis',
  ].join('; ');
  return {
    SpecificCharacterSet: 'ISO_IR 192',
    ...copied,
    SOPClassUID: SECONDARY_CAPTURE_SOP_CLASS,
    SOPInstanceUID: uidFrom(`${input.resultId}:sc-instance`),
    SeriesInstanceUID: uidFrom(`${input.resultId}:sc-series`),
    Modality: 'OT',
    ConversionType: 'WSD',
    SeriesNumber: String(input.seriesNumber),
    InstanceNumber: '1',
    // Type 2C in the SC Image IOD: present, empty (a capture has no patient orientation)
    PatientOrientation: '',
    SeriesDescription: `medstream ${input.model} Grad-CAM`.slice(0, 64),
    ImageType: ['DERIVED', 'SECONDARY'],
    DerivationDescription: description.slice(0, 1024),
    ContentDate: da(now),
    ContentTime: tm(now),
    SeriesDate: da(now),
    SeriesTime: tm(now),
    Manufacturer: 'medstream',
    SoftwareVersions: input.model,
    BurnedInAnnotation: 'NO',
    SourceImageSequence: [
      {
        ReferencedSOPClassUID: src.string('x00080016') ?? src.string('x00020002'),
        ReferencedSOPInstanceUID: src.string('x00080018') ?? src.string('x00020003'),
      },
    ],
    SamplesPerPixel: 3,
    PhotometricInterpretation: 'RGB',
    PlanarConfiguration: 0,
    Rows: input.height,
    Columns: input.width,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    // 8-bit samples: Pixel Data is OB (dcmjs cannot tell OB from OW on its own)
    _vrMap: { PixelData: 'OB' },
    PixelData: [
      input.rgb.buffer.slice(input.rgb.byteOffset, input.rgb.byteOffset + input.rgb.byteLength),
    ],
  };
}
