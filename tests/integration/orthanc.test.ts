import { readFileSync } from 'node:fs';
import { readInstanceHeader } from '../../connectors/shared/dicom/part10';
import type { RunningEngine } from '../../engine/runtime';
import { dicomEvents, packagedDicomFiles, scpAddress } from '../helpers/dicom';
import { type RunningOrthanc, startOrthanc } from '../helpers/orthanc';
import { createTestSettings, startTestEngine } from '../helpers/test-env';
import { waitFor } from '../helpers/wait-for';

// Orthanc (Debian), a real PACS, pushes to medstream by C-STORE and by STOW-RS.
describe('[REQ-DCM-07] a real PACS (Orthanc) pushes studies to medstream', () => {
  let engine: RunningEngine;
  let orthanc: RunningOrthanc | undefined;
  let cleanup: () => Promise<void>;
  const orthancStudy = new Map<string, string>();
  const files = packagedDicomFiles().filter((f) => /explicit_little|jpeg_2000|rle|jpeg_ls/.test(f));

  beforeAll(async () => {
    const fixture = await createTestSettings('pglite');
    cleanup = fixture.cleanup;
    engine = await startTestEngine(['ingest'], fixture.settings);
    const scp = scpAddress(engine);
    orthanc = await startOrthanc({ dicom: scp, dicomweb: `${engine.url}/dicomweb/` });
    for (const f of files) {
      const uploaded = await orthanc.rest<{ ParentStudy: string }>(
        'POST',
        '/instances',
        readFileSync(f),
      );
      orthancStudy.set(f, uploaded.ParentStudy);
    }
  });

  afterAll(async () => {
    await orthanc?.stop();
    await engine?.stop();
    await cleanup?.();
  });

  const studyOf = (file: string) => ({
    uid: readInstanceHeader(readFileSync(file)).studyInstanceUid,
    id: orthancStudy.get(file)!,
  });

  it('[REQ-DCM-07a] C-STORE: /modalities/medstream/store → one event per instance, from AE ORTHANC', async () => {
    const study = studyOf(files[0]!);
    const job = await orthanc!.rest<{ Failures?: number; Instances?: number }>(
      'POST',
      '/modalities/medstream/store',
      { Resources: [study.id], Synchronous: true },
    );
    expect(job.Failures ?? 0).toBe(0);
    const events = await waitFor(
      async () => {
        const mine = (await dicomEvents(engine)).filter(
          (e) => e.source === 'dimse' && e.studyInstanceUid === study.uid,
        );
        return mine.length > 0 ? mine : undefined;
      },
      { timeoutMs: 30000, what: 'events of the C-STOREd study' },
    );
    expect(events[0]).toMatchObject({
      callingAe: 'ORTHANC',
      calledAe: 'MEDSTREAM',
      studyInstanceUid: study.uid,
    });
  });

  it('[REQ-DCM-07b] STOW-RS: /dicom-web/servers/medstream/stow → stored, Orthanc reports success', async () => {
    const studies = files.map((f) => studyOf(f));
    const ids = [...new Set(studies.map((s) => s.id))];
    const answer = await orthanc!.rest<Record<string, unknown>>(
      'POST',
      '/dicom-web/servers/medstream/stow',
      {
        Resources: ids,
        Synchronous: true,
      },
    );
    expect(answer).toBeDefined();
    const uids = new Set(files.map((f) => readInstanceHeader(readFileSync(f)).sopInstanceUid));
    const events = await waitFor(
      async () => {
        const mine = (await dicomEvents(engine)).filter(
          (e) => e.source === 'stow' && uids.has(e.sopInstanceUid),
        );
        return mine.length >= uids.size ? mine : undefined;
      },
      { timeoutMs: 30000, what: `${uids.size} STOW-RS events` },
    );
    expect(new Set(events.map((e) => e.sopInstanceUid))).toEqual(uids);
  });
});
