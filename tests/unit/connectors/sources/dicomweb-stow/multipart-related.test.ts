import { EngineError } from '../../../../../engine/errors';
import {
  parseMultipartRelated,
  parseMultipartRelatedType,
} from '../../../../../connectors/sources/dicomweb-stow/multipart-related';
import {
  stowResponse,
  stowStatus,
} from '../../../../../connectors/sources/dicomweb-stow/stow-response';

const body = (text: string) => Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1');

describe('[REQ-DCM-06] multipart/related parsing (RFC 2387)', () => {
  it('reads the boundary and type, quoted or not', () => {
    expect(
      parseMultipartRelatedType('Multipart/Related; type="application/dicom"; boundary="a b"'),
    ).toEqual({ boundary: 'a b', type: 'application/dicom' });
    expect(parseMultipartRelatedType('multipart/related; boundary=xyz')).toEqual({
      boundary: 'xyz',
      type: undefined,
    });
    // Orthanc's DICOMweb plugin uses 73-character boundaries (RFC 2046 says at most 70)
    const orthanc = `${'a'.repeat(36)}-${'b'.repeat(36)}`;
    expect(parseMultipartRelatedType(`multipart/related; boundary=${orthanc}`).boundary).toBe(
      orthanc,
    );
    expect(() => parseMultipartRelatedType('application/dicom')).toThrow(
      expect.objectContaining({ code: 'MEDIA_TYPE_UNSUPPORTED' }),
    );
    expect(() => parseMultipartRelatedType('multipart/related; type=x')).toThrow(/boundary/);
  });

  it('splits parts, keeps binary bodies intact (CRLF and "--" inside a body included)', () => {
    const binary = Buffer.from([0, 13, 10, 45, 45, 255, 13, 10]);
    const raw = Buffer.concat([
      body('preamble\n--B\nContent-Type: application/dicom\n\n'),
      binary,
      body('\n--B \nContent-Type: application/dicom\nX-Extra: 1\n\nsecond\n--B--\nepilogue'),
    ]);
    const parts = parseMultipartRelated(raw, 'B');
    expect(parts).toHaveLength(2);
    expect(parts[0]!.body.equals(binary)).toBe(true);
    expect(parts[1]!.headers).toEqual({ 'content-type': 'application/dicom', 'x-extra': '1' });
    expect(parts[1]!.body.toString()).toBe('second');
  });

  it('refuses truncated and empty bodies', () => {
    expect(() => parseMultipartRelated(body('--B\n\nabc'), 'B')).toThrow(/closing delimiter/);
    expect(() => parseMultipartRelated(body('--B--\n'), 'B')).toThrow(/no parts/);
    expect(() => parseMultipartRelated(body('nothing here'), 'B')).toThrow(EngineError);
    expect(() => parseMultipartRelated(body('nothing here'), 'B')).toThrow(
      expect.objectContaining({ code: 'MULTIPART_INVALID', retriable: false }),
    );
  });
});

describe('[REQ-DCM-06] STOW-RS response', () => {
  it('always has ReferencedSOPSequence; FailedSOPSequence only with failures', () => {
    const ok = stowResponse([{ sopClassUid: '1.2', sopInstanceUid: '1.2.3' }], []);
    expect(ok['00081199']).toEqual({
      vr: 'SQ',
      Value: [
        { '00081150': { vr: 'UI', Value: ['1.2'] }, '00081155': { vr: 'UI', Value: ['1.2.3'] } },
      ],
    });
    expect(ok['00081198']).toBeUndefined();
    const none = stowResponse([], [{ sopClassUid: null, sopInstanceUid: null, reason: 0xc000 }]);
    expect(none['00081199']).toEqual({ vr: 'SQ', Value: [] });
    expect(none['00081198']!.Value![0]).toEqual({
      '00081150': { vr: 'UI' },
      '00081155': { vr: 'UI' },
      '00081197': { vr: 'US', Value: [0xc000] },
    });
    expect(none['00081190']).toBeUndefined();
    expect([stowStatus(2, 0), stowStatus(1, 1), stowStatus(0, 2)]).toEqual([200, 202, 409]);
  });
});
