import { type ChildProcess, spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { inflateRawSync } from 'node:zlib';
import { basename, join } from 'node:path';
import { datasetOffset, readInstanceHeader } from '../../dicom/part10';
import type { RunningEngine } from '../../engine/runtime';
import { dcmtk, dicomEvents, freePort, packagedDicomFiles, scpAddress } from '../helpers/dicom';
import { makeDicomInstance } from '../helpers/dicom-fixtures';
import { createTestSettings, startTestEngine } from '../helpers/test-env';
import { waitFor } from '../helpers/wait-for';

const CALLING = 'TESTSCU';
const DEFLATED = '1.2.840.10008.1.2.1.99';

describe('[REQ-DCM-01] DICOM C-ECHO / C-STORE SCP against dcmtk', () => {
  let engine: RunningEngine;
  let cleanup: () => Promise<void>;
  let scp: { host: string; port: number; aet: string };
  const work = mkdtempSync(join(tmpdir(), 'medstream-dimse-'));
  const sockets: Socket[] = [];
  const children: ChildProcess[] = [];
  const peer = () => ['-aet', CALLING, '-aec', scp.aet, scp.host, String(scp.port)];

  beforeAll(async () => {
    const fixture = await createTestSettings('pglite', {
      components: {
        'dicom-dimse': {
          port: 0,
          aeTitle: 'MEDSTREAM',
          allowedCallingAeTitles: [CALLING],
          maxAssociations: 3,
          associationTimeoutMs: 500,
          maxInstanceBytes: 1_800_000, // above every packaged test file (≤ 1.7 MB)
        },
      },
    });
    cleanup = fixture.cleanup;
    engine = await startTestEngine(['ingest'], fixture.settings);
    scp = scpAddress(engine);
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await engine?.stop();
    await cleanup?.();
    rmSync(work, { recursive: true, force: true });
  });

  it('[REQ-DCM-01a] binds the configured address only and answers C-ECHO', async () => {
    expect(scp.host).toBe('127.0.0.1');
    const echo = await dcmtk('echoscu', ['-v', ...peer()]);
    expect(echo.code).toBe(0);
    expect(echo.output).toMatch(/Received Echo Response \(Success\)/);
  });

  it('[REQ-DCM-02] rejects a wrong called AE and an unknown calling AE with the PS3.8 reasons', async () => {
    const wrongCalled = await dcmtk('echoscu', [
      '-aet',
      CALLING,
      '-aec',
      'NOT_MEDSTREAM',
      scp.host,
      String(scp.port),
    ]);
    expect(wrongCalled.code).not.toBe(0);
    expect(wrongCalled.output).toMatch(/Rejected Permanent.*Service User/s);
    expect(wrongCalled.output).toMatch(/Called AE Title Not Recognized/);
    const unknownCalling = await dcmtk('echoscu', [
      '-aet',
      'INTRUDER',
      '-aec',
      scp.aet,
      scp.host,
      String(scp.port),
    ]);
    expect(unknownCalling.code).not.toBe(0);
    expect(unknownCalling.output).toMatch(/Calling AE Title Not Recognized/);
    // and the SCP keeps serving
    expect((await dcmtk('echoscu', peer())).code).toBe(0);
  });

  it('[REQ-DCM-03] dcmsend pushes every packaged test file → one event each, stored byte for byte as dcmtk storescp receives it', async () => {
    const files = packagedDicomFiles();
    expect(files.length).toBeGreaterThanOrEqual(10);
    // The reference: dcmtk's own SCP in bit-preserving mode writes the dataset exactly as
    // received, so medstream's copy can be compared with what was actually sent.
    const refDir = join(work, 'storescp');
    mkdirSync(refDir);
    const refPort = await freePort();
    const storescp = spawn(
      'storescp',
      ['+xa', '-B', '-aet', 'REF', '-od', refDir, String(refPort)],
      {
        stdio: 'ignore',
      },
    );
    children.push(storescp);
    await waitFor(
      async () =>
        (await dcmtk('echoscu', ['-aec', 'REF', '127.0.0.1', String(refPort)])).code === 0
          ? true
          : undefined,
      {
        timeoutMs: 15000,
        what: 'storescp to answer',
      },
    );
    const toRef = await dcmtk(
      'dcmsend',
      ['-aet', CALLING, '-aec', 'REF', '127.0.0.1', String(refPort), ...files],
      120000,
    );
    expect(toRef.code).toBe(0);
    const sent = await dcmtk('dcmsend', ['-v', ...peer(), ...files], 120000);
    expect(sent.output).toMatch(new RegExp(`with status SUCCESS\\s*:\\s*${files.length}`));

    const events = await waitFor(
      async () => {
        const all = await dicomEvents(engine);
        return all.length >= files.length ? all : undefined;
      },
      { timeoutMs: 30000, what: `${files.length} DicomInstanceReceived events` },
    );
    const received = readdirSync(refDir);
    let compared = 0;
    const deflatedLengths: string[] = [];
    for (const file of files) {
      const header = readInstanceHeader(readFileSync(file));
      const event = events.find((e) => e.sopInstanceUid === header.sopInstanceUid);
      expect(event).toBeDefined();
      expect(event).toMatchObject({
        source: 'dimse',
        callingAe: CALLING,
        calledAe: 'MEDSTREAM',
        remoteHost: '127.0.0.1',
        sopClassUid: header.sopClassUid,
        studyInstanceUid: header.studyInstanceUid,
        modality: header.modality,
        hasPixelData: header.hasPixelData,
      });
      const stored = await engine.blobs.get(event!.blob.uri);
      expect(readInstanceHeader(stored)).toMatchObject({
        sopInstanceUid: header.sopInstanceUid,
        transferSyntaxUid: event!.transferSyntaxUid,
      });
      const refName = received.find((n) => n.endsWith(`.${header.sopInstanceUid}`));
      expect(refName).toBeDefined();
      const reference = readFileSync(join(refDir, refName!));
      if (readInstanceHeader(reference).transferSyntaxUid !== event!.transferSyntaxUid) continue;
      let ours = stored.subarray(datasetOffset(stored));
      let theirs = reference.subarray(datasetOffset(reference));
      // A deflated dataset travels padded to even length; storescp -B drops that pad byte,
      // medstream keeps the bytes as received. The inflated content must be the same.
      if (event!.transferSyntaxUid === DEFLATED) {
        deflatedLengths.push(`${ours.length}/${theirs.length}`);
        [ours, theirs] = [inflateRawSync(ours), inflateRawSync(theirs)];
      }
      const same = ours.equals(theirs);
      expect({ file: basename(file), same }).toEqual({ file: basename(file), same: true });
      compared++;
    }
    // Both SCPs take the sender's preferred syntax, so nearly every file is compared.
    expect(compared).toBeGreaterThanOrEqual(files.length - 2);
    process.stdout.write(
      `[dimse] ${files.length} files → ${events.length} events; ${compared} compared with storescp -B, all identical (deflated: inflated content compared; deflate stream bytes ours/storescp ${deflatedLengths.join(', ')})\n`,
    );
  });

  it('[REQ-DCM-04] an instance without a Study Instance UID gets 0xC000 and nothing is published', async () => {
    const before = (await dicomEvents(engine)).length;
    const broken = join(work, 'no-study-uid.dcm');
    copyFileSync(
      packagedDicomFiles().find((f) => f.endsWith('explicit_little.dcm'))!,
      broken,
    );
    expect((await dcmtk('dcmodify', ['-nb', '-e', '(0020,000d)', broken])).code).toBe(0);
    const store = await dcmtk('storescu', ['-v', ...peer(), broken]);
    expect(store.output).toMatch(/Received Store Response \(Error: CannotUnderstand\)/);
    expect((await dicomEvents(engine)).length).toBe(before);
  });

  it('[REQ-DCM-04b] an instance over maxInstanceBytes gets 0xA700 and nothing is published; the association goes on', async () => {
    const before = (await dicomEvents(engine)).length;
    const big = join(work, 'big.dcm');
    writeFileSync(
      big,
      makeDicomInstance({ kind: 'DX', rows: 1024, columns: 1024, content: 'gradient' }),
    ); // 2 MB
    const small = packagedDicomFiles().find((f) => f.endsWith('explicit_little.dcm'))!;
    const store = await dcmtk('storescu', ['-v', '--no-halt', ...peer(), big, small]);
    expect(store.output).toMatch(/Received Store Response \(Refused: OutOfResources\)/);
    expect(store.output).toMatch(/Received Store Response \(Success\)/);
    expect((await dicomEvents(engine)).length).toBe(before + 1);
  });

  it('[REQ-DCM-05] over maxAssociations → rejected transient (local limit); idle connections are closed', async () => {
    // Connections that never send A-ASSOCIATE-RQ count against the limit until the
    // association timeout (500 ms here) closes them.
    const closed: Promise<void>[] = [];
    for (let i = 0; i < 3; i++) {
      const s = connect(scp.port, scp.host);
      sockets.push(s);
      closed.push(new Promise((resolve) => s.once('close', () => resolve())));
      await new Promise((resolve) => s.once('connect', resolve));
    }
    const refused = await dcmtk('echoscu', peer());
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/Rejected Transient/);
    expect(refused.output).toMatch(/Local Limit Exceeded/);
    await Promise.all(closed); // the SCP aborts the silent connections
    expect((await dcmtk('echoscu', peer())).code).toBe(0);
  });
});
