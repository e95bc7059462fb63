import { readFileSync } from 'node:fs';
import { readInstanceHeader } from '../../dicom/part10';
import type { RunningEngine } from '../../engine/runtime';
import { dicomEvents, freePort, packagedDicomFiles, scpAddress } from '../helpers/dicom';
import { makeDicomInstanceWithIds } from '../helpers/dicom-fixtures';
import { getJson } from '../helpers/vitals';
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
    // Orthanc's DICOM port is chosen first: medstream sends its Secondary Captures there.
    const orthancDicomPort = await freePort();
    const fixture = await createTestSettings('pglite', {
      components: {
        'dicom-dimse': { port: 0 },
        'dicom-export': {
          enabled: true,
          destination: { aeTitle: 'ORTHANC', host: '127.0.0.1', port: orthancDicomPort },
          retry: { initialBackoffMs: 200 },
        },
      },
    });
    cleanup = fixture.cleanup;
    engine = await startTestEngine(['ingest', 'process', 'sink', 'api'], fixture.settings);
    const scp = scpAddress(engine);
    orthanc = await startOrthanc({
      dicom: scp,
      dicomweb: `${engine.url}/dicomweb/`,
      dicomPort: orthancDicomPort,
    });
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

  it('[REQ-DCM-07c] a chest DX pushed by Orthanc → result in medstream → Grad-CAM Secondary Capture back in the same study in Orthanc', async () => {
    const dx = makeDicomInstanceWithIds({ kind: 'DX', rows: 384, columns: 320 });
    const uploaded = await orthanc!.rest<{ ParentStudy: string }>('POST', '/instances', dx.bytes);
    const job = await orthanc!.rest<{ Failures?: number }>('POST', '/modalities/medstream/store', {
      Resources: [uploaded.ParentStudy],
      Synchronous: true,
    });
    expect(job.Failures ?? 0).toBe(0);
    const results = await waitFor(
      async () => {
        const r = await getJson(`${engine.url}/api/v1/studies/${dx.ids.studyInstanceUid}/results`);
        const items = (r.json.items ?? []) as Array<{ status: string }>;
        return items.length > 0 && items[0]!.status === 'done' ? items : undefined;
      },
      { timeoutMs: 60000, intervalMs: 200, what: 'the result of the Orthanc-pushed study' },
    );
    expect(results).toHaveLength(1);
    const series = await waitFor(
      async () => {
        const s = await orthanc!.rest<
          Array<{ MainDicomTags: Record<string, string>; Instances: string[] }>
        >('GET', `/studies/${uploaded.ParentStudy}/series`);
        return s.length >= 2 ? s : undefined;
      },
      { timeoutMs: 60000, intervalMs: 300, what: 'the Secondary Capture series in Orthanc' },
    );
    const sc = series.find((s) => s.MainDicomTags.Modality === 'OT')!;
    expect(sc).toBeDefined();
    expect(sc.MainDicomTags.SeriesDescription).toMatch(/medstream cxr-demo@1\.0\.0 Grad-CAM/);
    const tags = await orthanc!.rest<Record<string, string>>(
      'GET',
      `/instances/${sc.Instances[0]}/simplified-tags`,
    );
    expect(tags).toMatchObject({
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.7',
      StudyInstanceUID: dx.ids.studyInstanceUid,
      PatientID: dx.ids.patientId,
      AccessionNumber: dx.ids.accessionNumber,
      Rows: '384',
      Columns: '320',
      PhotometricInterpretation: 'RGB',
    });
    expect(tags.DerivationDescription).toMatch(/synthetic-data model — not for clinical use/);
    expect(tags.SeriesInstanceUID).not.toBe(dx.ids.seriesInstanceUid);
  });
});
