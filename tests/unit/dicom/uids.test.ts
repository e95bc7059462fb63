import {
  DECODABLE_TRANSFER_SYNTAX_UIDS,
  TRANSFER_SYNTAXES,
  classifyDicomSopClass,
  isStorageSopClass,
} from '../../../dicom/uids';

describe('[REQ-IMG-DICOM] classifyDicomSopClass', () => {
  it.each([
    ['1.2.840.10008.5.1.4.1.1.1', true, 'computed radiography'],
    ['1.2.840.10008.5.1.4.1.1.1.1', true, 'digital X-ray (for presentation)'],
    ['1.2.840.10008.5.1.4.1.1.1.1.1', true, 'digital X-ray (for processing)'],
    ['1.2.840.10008.5.1.4.1.1.2', true, 'CT'],
    ['1.2.840.10008.5.1.4.1.1.4', true, 'MR'],
    ['1.2.840.10008.5.1.4.1.1.7', true, 'secondary capture'],
    ['1.2.840.10008.5.1.4.1.1.88.11', false, 'structured report'],
    ['1.2.840.10008.5.1.4.1.1.88.22', false, 'structured report'],
    ['1.2.840.10008.5.1.4.1.1.88.33', false, 'structured report'],
    ['1.2.840.10008.5.1.4.1.1.88.59', false, 'key object selection'],
    ['1.2.840.10008.5.1.4.1.1.104.1', false, 'encapsulated PDF'],
    ['1.2.840.10008.5.1.4.1.1.104.2', false, 'encapsulated CDA'],
    ['1.2.840.10008.5.1.4.1.1.11.1', false, 'presentation state'],
    ['1.2.840.10008.5.1.4.1.1.9.1.1', false, 'waveform'],
    ['1.2.840.10008.5.1.4.1.1.66', false, 'raw data'],
    ['1.2.840.10008.5.1.4.1.1.481.3', false, 'RT structure set'],
    ['1.2.840.10008.5.1.4.1.1.481.5', false, 'RT plan'],
    ['1.2.840.10008.5.1.4.1.1.481.1', true, 'RT image'],
    ['1.2.840.10008.5.1.4.1.1.66.4', false, 'segmentation'],
    ['1.2.840.10008.5.1.4.1.1.999', false, 'unknown storage SOP class'],
    ['1.2.3.4', false, 'unknown (not a storage SOP class)'],
  ])('%s → image %p, %s', (uid, image, kind) => {
    expect(classifyDicomSopClass(uid)).toEqual({ image, kind });
  });

  it('tolerates UI padding (trailing NUL / space)', () => {
    expect(classifyDicomSopClass('1.2.840.10008.5.1.4.1.1.1\0')).toEqual({
      image: true,
      kind: 'computed radiography',
    });
  });
});

describe('[REQ-DCM-01] transfer syntaxes and storage SOP classes', () => {
  it('decodes (and so the SCP accepts) exactly the native, RLE, JPEG, JPEG-LS and J2K syntaxes', () => {
    expect([...DECODABLE_TRANSFER_SYNTAX_UIDS].sort()).toEqual(
      [
        '1.2.840.10008.1.2', // Implicit VR Little Endian
        '1.2.840.10008.1.2.1', // Explicit VR Little Endian
        '1.2.840.10008.1.2.1.99', // Deflated Explicit VR Little Endian
        '1.2.840.10008.1.2.2', // Explicit VR Big Endian
        '1.2.840.10008.1.2.4.50', // JPEG Baseline (Process 1)
        '1.2.840.10008.1.2.4.51', // JPEG Extended (Process 2 & 4)
        '1.2.840.10008.1.2.4.57', // JPEG Lossless (Process 14)
        '1.2.840.10008.1.2.4.70', // JPEG Lossless SV1
        '1.2.840.10008.1.2.4.80', // JPEG-LS Lossless
        '1.2.840.10008.1.2.4.81', // JPEG-LS Near-Lossless
        '1.2.840.10008.1.2.4.90', // JPEG 2000 Lossless Only
        '1.2.840.10008.1.2.4.91', // JPEG 2000
        '1.2.840.10008.1.2.5', // RLE Lossless
      ].sort(),
    );
  });

  it('flags encapsulation, deflate and big endian consistently with the decoder', () => {
    for (const [uid, ts] of Object.entries(TRANSFER_SYNTAXES)) {
      const row = { uid, ...ts };
      if (ts.codec) {
        // native pixel data ⇔ not encapsulated; a decodable syntax gives no reason not to be
        expect(row).toMatchObject({ encapsulated: ts.codec !== 'native' });
        expect(row.notDecodable).toBeUndefined();
      }
    }
    expect(TRANSFER_SYNTAXES['1.2.840.10008.1.2.1.99']).toMatchObject({ deflated: true });
    expect(TRANSFER_SYNTAXES['1.2.840.10008.1.2.2']).toMatchObject({ bigEndian: true });
    const flagged = (flag: 'deflated' | 'bigEndian') =>
      Object.keys(TRANSFER_SYNTAXES).filter((uid) => TRANSFER_SYNTAXES[uid]![flag]);
    expect(flagged('deflated')).toEqual(['1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.4.95']);
    expect(flagged('bigEndian')).toEqual(['1.2.840.10008.1.2.2']);
  });

  it('knows the storage SOP classes outside the usual root; verification is not storage', () => {
    expect(isStorageSopClass('1.2.840.10008.5.1.4.1.1.1')).toBe(true);
    expect(isStorageSopClass('1.2.840.10008.5.1.4.1.1.999')).toBe(true);
    expect(isStorageSopClass('1.2.840.10008.5.1.4.38.1')).toBe(true);
    expect(isStorageSopClass('1.2.840.10008.1.1')).toBe(false);
    expect(isStorageSopClass('1.2.840.10008.5.1.4.1.2.2.1')).toBe(false); // Study Root Q/R FIND
  });
});
