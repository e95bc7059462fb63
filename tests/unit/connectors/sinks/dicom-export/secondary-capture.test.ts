import { retriableStoreStatus } from '../../../../../connectors/sinks/dicom-export';
import { secondaryCaptureDataset } from '../../../../../connectors/sinks/dicom-export/secondary-capture';
import { SECONDARY_CAPTURE_SOP_CLASS, uidFrom } from '../../../../../dicom/uids';
import { makeDicomInstanceWithIds } from '../../../../helpers/dicom-fixtures';

describe('[REQ-DCM-11] the heatmap as a Secondary Capture of the same study', () => {
  const source = makeDicomInstanceWithIds({ kind: 'CR', patientName: 'MÜLLER^ANNA' });
  const input = {
    source: source.bytes,
    resultId: 'r-1',
    model: 'cxr-demo@1.0.0',
    label: 'covid19',
    probability: 0.934,
    syntheticModel: true,
    rgb: new Uint8Array(4 * 3 * 3),
    width: 4,
    height: 3,
    seriesNumber: 9901,
    now: new Date('2026-11-25T10:11:12Z'),
  };

  it('copies the patient and study, takes new series/instance UIDs stable per result', () => {
    const ds = secondaryCaptureDataset(input);
    expect(ds).toMatchObject({
      SOPClassUID: SECONDARY_CAPTURE_SOP_CLASS,
      StudyInstanceUID: source.ids.studyInstanceUid,
      PatientID: source.ids.patientId,
      AccessionNumber: source.ids.accessionNumber,
      Modality: 'OT',
      SeriesNumber: '9901',
      ImageType: ['DERIVED', 'SECONDARY'],
      SamplesPerPixel: 3,
      PhotometricInterpretation: 'RGB',
      Rows: 3,
      Columns: 4,
      ContentDate: '20261125',
      ContentTime: '101112',
      SpecificCharacterSet: 'ISO_IR 192',
      SourceImageSequence: [
        {
          ReferencedSOPClassUID: source.ids.sopClassUid,
          ReferencedSOPInstanceUID: source.ids.sopInstanceUid,
        },
      ],
    });
    expect(ds.SeriesInstanceUID).not.toBe(source.ids.seriesInstanceUid);
    expect(ds.SOPInstanceUID).toBe(secondaryCaptureDataset(input).SOPInstanceUID);
    expect(ds.SOPInstanceUID).not.toBe(
      secondaryCaptureDataset({ ...input, resultId: 'r-2' }).SOPInstanceUID,
    );
    expect(String(ds.DerivationDescription)).toBe(
      'Grad-CAM heatmap of "covid19" (p=93.4 %) by cxr-demo@1.0.0; synthetic-data model — not for clinical use',
    );
    expect((ds.PixelData as ArrayBuffer[])[0]!.byteLength).toBe(36);
  });

  it('Type 2 attributes are present (empty) even when the source lacks them', () => {
    const ds = secondaryCaptureDataset(input);
    for (const k of ['StudyID', 'ReferringPhysicianName', 'PatientBirthDate', 'PatientOrientation'])
      expect(ds).toHaveProperty(k);
  });

  it('UIDs are valid 2.25 UIDs of at most 64 characters', () => {
    for (const seed of ['a', 'r-1:sc-series', 'x'.repeat(500)]) {
      const uid = uidFrom(seed);
      expect(uid).toMatch(/^2\.25\.(0|[1-9][0-9]*)$/);
      expect(uid.length).toBeLessThanOrEqual(64);
    }
  });

  it('C-STORE failure statuses: out of resources (0xA7xx) and processing failure (0x0110) are retried; 0xA9xx, 0xCxxx, 0x0122 are not', () => {
    for (const status of [0xa700, 0xa701, 0xa7ff, 0x0110])
      expect(retriableStoreStatus(status)).toBe(true);
    for (const status of [0xa900, 0xc000, 0xcfff, 0x0122, 0x0211])
      expect(retriableStoreStatus(status)).toBe(false);
  });
});
