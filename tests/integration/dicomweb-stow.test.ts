import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readInstanceHeader } from '../../dicom/part10';
import type { RunningEngine } from '../../engine/runtime';
import { dicomEvents, packagedDicomFiles } from '../helpers/dicom';
import { createTestSettings, startTestEngine } from '../helpers/test-env';

/** A STOW-RS request body: one application/dicom part per buffer. */
function multipart(parts: Buffer[], boundary = `b-${randomUUID()}`, type = 'application/dicom') {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Type: ${type}\r\n\r\n`, 'latin1'),
      p,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return {
    body: Buffer.concat(chunks),
    contentType: `multipart/related; type="${type}"; boundary=${boundary}`,
  };
}

type DicomJson = Record<
  string,
  { vr: string; Value?: Array<Record<string, { Value?: unknown[] }>> }
>;

const refs = (json: DicomJson, tag: '00081199' | '00081198') =>
  (json[tag]?.Value ?? []).map((item) => ({
    sopInstanceUid: item['00081155']?.Value?.[0] ?? null,
    reason: item['00081197']?.Value?.[0],
  }));

describe('[REQ-DCM-06] STOW-RS: POST /dicomweb/studies', () => {
  let engine: RunningEngine;
  let cleanup: () => Promise<void>;
  const files = packagedDicomFiles().map((f) => readFileSync(f));

  beforeAll(async () => {
    const fixture = await createTestSettings('pglite', {
      components: {
        'dicom-dimse': { enabled: false },
        'dicomweb-stow': { maxBodyBytes: 4_000_000 },
      },
    });
    cleanup = fixture.cleanup;
    engine = await startTestEngine(['ingest'], fixture.settings);
  });
  afterAll(async () => {
    await engine?.stop();
    await cleanup?.();
  });

  const post = async (path: string, m: { body: Buffer; contentType: string }) => {
    const res = await fetch(`${engine.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': m.contentType, accept: 'application/dicom+json' },
      body: m.body,
    });
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      json: (await res.json()) as DicomJson,
    };
  };

  it('[REQ-DCM-06a] stores every part as received: 200 with ReferencedSOPSequence, one event each', async () => {
    // in two requests, to stay under this test's 4 MB body limit
    const half = Math.ceil(files.length / 2);
    const answers = [
      await post('/dicomweb/studies', multipart(files.slice(0, half))),
      await post('/dicomweb/studies', multipart(files.slice(half))),
    ];
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.type).toMatch(/^application\/dicom\+json/);
      expect(a.json['00081198']).toBeUndefined();
    }
    const referenced = answers
      .flatMap((a) => refs(a.json, '00081199'))
      .map((r) => r.sopInstanceUid);
    const headers = files.map((f) => readInstanceHeader(f));
    expect(referenced.sort()).toEqual(headers.map((h) => h.sopInstanceUid).sort());

    const events = (await dicomEvents(engine)).filter((e) => e.source === 'stow');
    for (const [i, h] of headers.entries()) {
      const event = events.find((e) => e.sopInstanceUid === h.sopInstanceUid);
      expect(event).toMatchObject({
        studyInstanceUid: h.studyInstanceUid,
        transferSyntaxUid: h.transferSyntaxUid,
      });
      expect((await engine.blobs.get(event!.blob.uri)).equals(files[i]!)).toBe(true);
    }
  });

  it('[REQ-DCM-06b] refuses parts one by one with FailureReason: garbage 0xC000, other study 0xC409', async () => {
    const good = files[0]!;
    const study = readInstanceHeader(good).studyInstanceUid;
    const other = files.find((f) => readInstanceHeader(f).studyInstanceUid !== study)!;
    const mixed = await post(
      `/dicomweb/studies/${study}`,
      multipart([good, Buffer.from('this is not DICOM at all'.repeat(10)), other]),
    );
    expect(mixed.status).toBe(202);
    expect(refs(mixed.json, '00081199').map((r) => r.sopInstanceUid)).toEqual([
      readInstanceHeader(good).sopInstanceUid,
    ]);
    expect(refs(mixed.json, '00081198')).toEqual([
      { sopInstanceUid: null, reason: 0xc000 },
      { sopInstanceUid: readInstanceHeader(other).sopInstanceUid, reason: 0xc409 },
    ]);
    const truncatedFile = good.subarray(0, 200);
    const none = await post('/dicomweb/studies', multipart([truncatedFile]));
    expect(none.status).toBe(409);
    expect(refs(none.json, '00081199')).toEqual([]);
  });

  it('[REQ-DCM-06c] whole-request errors are problem+json: 415, 400, 413', async () => {
    const wrongType = await fetch(`${engine.url}/dicomweb/studies`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(wrongType.status).toBe(415);
    const pdfParts = multipart([files[0]!], 'xyz', 'application/pdf');
    expect((await post('/dicomweb/studies', pdfParts)).status).toBe(415);
    const ok = multipart([files[0]!]);
    const truncated = await fetch(`${engine.url}/dicomweb/studies`, {
      method: 'POST',
      headers: { 'content-type': ok.contentType },
      body: ok.body.subarray(0, ok.body.length - 40),
    });
    expect(truncated.status).toBe(400);
    expect(await truncated.json()).toMatchObject({
      type: 'urn:medstream:problem:malformed-multipart',
    });
    const huge = multipart([Buffer.alloc(4_100_000)]);
    const tooLarge = await fetch(`${engine.url}/dicomweb/studies`, {
      method: 'POST',
      headers: { 'content-type': huge.contentType },
      body: huge.body,
    });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers.get('content-type')).toMatch(/problem\+json/);
  });
});
