import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { TOPICS } from '../../engine/kafka/topics';
import { projectRoot } from '../../engine/paths';
import type { RunningEngine } from '../../engine/runtime';
import { createTestSettings, startTestEngine } from '../helpers/test-env';
import { getJson, postJson } from '../helpers/vitals';
import { waitFor } from '../helpers/wait-for';

const MODEL_DIR = join(projectRoot(), 'models', 'cxr-demo', '1.0.0');
const sample = (label: string) => readFileSync(join(MODEL_DIR, 'samples', `${label}.png`));

/** The fields of GET /api/v1/results/{id} (an imaging result) that these tests read. */
interface ImagingResultView {
  id: string;
  status: 'pending' | 'done' | 'failed';
  label: string;
  probabilities: Record<string, number>;
  input: { image: string; contentType: string };
  heatmap: { overlay: string; map: string } | null;
  timingsMs: Record<string, number>;
  error?: { code: string; message: string };
}

/** The 2020 demo's response (../shared/SEED_API.md), key spellings as its clients read them. */
interface SeedResponse {
  Input_Image: string;
  Output_Heatmap?: string;
  'X-Ray_Classfication_Raw_Result': number[][];
  'X-Ray_Classification_Covid19_Probability': number;
  'X-Ray_Classification_Result': string;
  model_name: string;
}

async function doneResult(engine: RunningEngine, id: string) {
  return waitFor(
    async () => {
      // 404 until the sink has stored something (a record produced straight to Kafka has no
      // pending row), then pending until the result is in.
      const r = await getJson(`${engine.url}/api/v1/results/${id}`);
      return r.status === 200 && r.json.status !== 'pending'
        ? (r.json as unknown as ImagingResultView)
        : undefined;
    },
    { timeoutMs: 60000, what: `result ${id}` },
  );
}

async function pngSize(buffer: ArrayBuffer | Buffer) {
  const meta = await sharp(Buffer.from(buffer as ArrayBuffer)).metadata();
  return { format: meta.format, width: meta.width, height: meta.height };
}

describe('[REQ-IMG-01] image → Kafka → classification + Grad-CAM → REST (shipped cxr-demo model)', () => {
  let engine: RunningEngine;
  let cleanup: () => Promise<void>;
  const modelsDir = mkdtempSync(join(tmpdir(), 'medstream-models-'));

  beforeAll(async () => {
    cpSync(MODEL_DIR, join(modelsDir, 'cxr-demo', '1.0.0'), { recursive: true });
    const fixture = await createTestSettings('pglite', {
      components: {
        imaging: { modelsDir, reloadIntervalMs: 200 },
        'http-image': { maxImageBytes: 2_000_000 },
      },
    });
    cleanup = fixture.cleanup;
    engine = await startTestEngine(['ingest', 'process', 'sink', 'api'], fixture.settings);
  });

  afterAll(async () => {
    await engine?.stop();
    await cleanup?.();
    rmSync(modelsDir, { recursive: true, force: true });
  });

  it('[REQ-IMG-01a] base64 JSON with ?wait: probabilities sum to 1, heatmap and input PNGs of the input size', async () => {
    const png = sample('covid19');
    const r = await postJson(`${engine.url}/api/v1/images?wait=60s`, {
      b64: png.toString('base64'),
      patientId: 'pat-img',
    });
    expect(r.status).toBe(200);
    const result = r.json as unknown as ImagingResultView;
    expect(result).toMatchObject({
      status: 'done',
      kind: 'imaging',
      model: 'cxr-demo@1.0.0',
      syntheticModel: true,
      disclaimer: 'synthetic training data — not for clinical use',
    });
    const probs = Object.values(result.probabilities);
    expect(Object.keys(result.probabilities)).toEqual(['covid19', 'normal', 'pneumonia']);
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(result.label).toBe('covid19'); // the shipped model recognises its own phantom classes
    const input = await pngSize(
      await (await fetch(`${engine.url}${result.input.image}`)).arrayBuffer(),
    );
    const original = await pngSize(png);
    expect(input).toEqual(original);
    const overlay = await fetch(`${engine.url}${result.heatmap!.overlay}`);
    expect(overlay.headers.get('content-type')).toBe('image/png');
    expect(await pngSize(await overlay.arrayBuffer())).toEqual(original);
    expect(
      await pngSize(await (await fetch(`${engine.url}${result.heatmap!.map}`)).arrayBuffer()),
    ).toEqual(original);
    expect(result.heatmap).toMatchObject({ method: 'grad-cam', label: 'covid19', classIndex: 0 });
    expect(result.timingsMs).toEqual(
      expect.objectContaining({
        decode: expect.any(Number),
        inference: expect.any(Number),
        total: expect.any(Number),
      }),
    );
    const history = await getJson(`${engine.url}/api/v1/patients/pat-img/results`);
    expect((history.json.items as Array<{ id: string }>)[0]!.id).toBe(result.id);
  });

  it('[REQ-IMG-01b] raw JPEG body, multipart form and a 16-bit PNG are all accepted and classified', async () => {
    const jpeg = await sharp(sample('pneumonia')).jpeg({ quality: 92 }).toBuffer();
    const raw = await fetch(`${engine.url}/api/v1/images?classIndex=2&colormap=inferno`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: jpeg,
    });
    expect(raw.status).toBe(202);
    const rawId = ((await raw.json()) as { id: string }).id;

    const form = new FormData();
    form.append('patientId', 'pat-form');
    form.append('gradcam', 'false');
    form.append('file', new Blob([sample('normal')], { type: 'image/png' }), 'normal.png');
    const multi = await fetch(`${engine.url}/api/v1/images`, { method: 'POST', body: form });
    expect(multi.status).toBe(202);
    const multiId = ((await multi.json()) as { id: string }).id;

    const { data, info } = await sharp(sample('normal'))
      .toColourspace('b-w')
      .raw()
      .toBuffer({ resolveWithObject: true });
    const sixteen = new Uint16Array(info.width * info.height);
    for (let i = 0; i < sixteen.length; i++) sixteen[i] = (data[i * info.channels] as number) * 257;
    const png16 = await sharp(sixteen, {
      raw: { width: info.width, height: info.height, channels: 1 },
    })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    const deep = await fetch(`${engine.url}/api/v1/images`, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: png16,
    });
    const deepId = ((await deep.json()) as { id: string }).id;

    const fromJpeg = await doneResult(engine, rawId);
    expect(fromJpeg).toMatchObject({
      status: 'done',
      input: { contentType: 'image/jpeg' },
      heatmap: { classIndex: 2, colormap: 'inferno' },
    });
    const fromForm = await doneResult(engine, multiId);
    expect(fromForm).toMatchObject({ status: 'done', patientId: 'pat-form', heatmap: null });
    const fromDeep = await doneResult(engine, deepId);
    expect(fromDeep.status).toBe('done');
    expect(fromDeep.label).toBe((await doneResult(engine, multiId)).label);
  });

  it('[REQ-IMG-02] bad images get a clear 4xx; an undecodable image already on Kafka is dead-lettered and marked failed', async () => {
    const url = `${engine.url}/api/v1/images`;
    expect((await postJson(url, { b64: '***not base64***' })).status).toBe(400);
    expect(
      (await postJson(url, { b64: Buffer.from('hello, not an image').toString('base64') })).status,
    ).toBe(400);
    const gif = Buffer.from(
      'R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==',
      'base64',
    );
    const asGif = await postJson(url, { b64: gif.toString('base64') });
    expect(asGif.status).toBe(415);
    expect(asGif.json.type).toBe('urn:medstream:problem:image-unsupported');
    expect(
      (await fetch(url, { method: 'POST', headers: { 'content-type': 'image/gif' }, body: gif }))
        .status,
    ).toBe(415);
    const tiny = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#777' } })
      .png()
      .toBuffer();
    expect((await postJson(url, { b64: tiny.toString('base64') })).status).toBe(422);
    const noise = await sharp(Buffer.alloc(1200 * 1200, 7), {
      raw: { width: 1200, height: 1200, channels: 1 },
    })
      .png({ compressionLevel: 0 })
      .toBuffer();
    expect(noise.length).toBeGreaterThan(2_000_000);
    expect(
      (await fetch(url, { method: 'POST', headers: { 'content-type': 'image/png' }, body: noise }))
        .status,
    ).toBe(413);
    const unknownField = await postJson(url, {
      b64: sample('normal').toString('base64'),
      surprise: 1,
    });
    expect(unknownField.status).toBe(422);

    // A PNG header on truncated data passes the intake probe but not the decoder.
    const png = sample('normal');
    const truncated = png.subarray(0, Math.floor(png.length / 3));
    const ref = await engine.blobs.put(truncated);
    const id = '00000000-0000-4000-8000-00000000dead';
    await engine.producer.send(
      [
        {
          topic: TOPICS.ingestImage,
          key: id,
          value: {
            id,
            receivedAt: Date.now(),
            contentType: 'image/png',
            blob: ref,
            width: 256,
            height: 256,
            patientId: null,
            studyRef: null,
            model: null,
            gradcam: true,
            classIndex: null,
            colormap: 'jet',
            opacity: 0.45,
            source: 'test',
          },
          headers: { 'correlation-id': id },
        },
      ],
      'test',
    );
    const failed = await doneResult(engine, id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'DECODE_FAILED' });
    // and the pipeline goes on
    const after = await postJson(`${url}?wait=60s`, { b64: sample('normal').toString('base64') });
    expect(after.json.status).toBe('done');
  });

  it('[REQ-IMG-03] the seed routes answer in the 2020 demo’s shape, with fetchable image URLs', async () => {
    const health = await fetch(`${engine.url}/covid19/api/v1/healthcheck`);
    expect(await health.text()).toBe('Covid19 detector API is live!');
    const form = new URLSearchParams({ b64: sample('covid19').toString('base64') });
    const res = await fetch(`${engine.url}/covid19/api/v1/predict/heatmap`, {
      method: 'POST',
      body: form,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as SeedResponse;
    expect(body).toMatchObject({
      'X-Ray_Classification_Result': 'Covid-19 POSITIVE',
      model_name: 'cxr-demo@1.0.0 (synthetic training data — not for clinical use)',
    });
    expect(body['X-Ray_Classfication_Raw_Result']).toHaveLength(1);
    expect(body['X-Ray_Classfication_Raw_Result'][0]).toHaveLength(3);
    expect(body['X-Ray_Classification_Covid19_Probability']).toBe(
      Math.round(body['X-Ray_Classfication_Raw_Result'][0]![0]! * 100) / 100,
    );
    expect(body.Input_Image).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:\\d+/static/source/[0-9a-f-]{36}\\.png$`),
    );
    expect(body.Output_Heatmap).toMatch(/\/static\/result\/Covid19_\d+_[0-9a-f-]{36}\.png\.png$/);
    for (const link of [body.Input_Image, body.Output_Heatmap]) {
      const img = await fetch(link!);
      expect(img.status).toBe(200);
      expect((await pngSize(await img.arrayBuffer())).format).toBe('png');
    }
    const plain = await fetch(`${engine.url}/covid19/api/v1/predict`, {
      method: 'POST',
      body: new URLSearchParams({ b64: sample('normal').toString('base64') }),
    });
    const plainBody = (await plain.json()) as SeedResponse;
    expect(plainBody['X-Ray_Classification_Result']).toBe('Covid-19 NEGATIVE');
    expect(plainBody.Output_Heatmap).toBeUndefined();
    const bad = await fetch(`${engine.url}/covid19/api/v1/predict`, {
      method: 'POST',
      body: new URLSearchParams({ b64: '%%%' }),
    });
    expect(bad.status).toBe(400);
  });

  it('[REQ-IMG-04] a new model version directory is served without restart', async () => {
    const next = join(modelsDir, 'cxr-demo', '1.1.0');
    cpSync(join(modelsDir, 'cxr-demo', '1.0.0'), next, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(next, 'manifest.json'), 'utf8'));
    writeFileSync(join(next, 'manifest.json'), JSON.stringify({ ...manifest, version: '1.1.0' }));
    const served = await waitFor(
      async () => {
        const r = await postJson(`${engine.url}/api/v1/images?wait=60s`, {
          b64: sample('normal').toString('base64'),
          gradcam: false,
        });
        return r.json.model === 'cxr-demo@1.1.0' ? r.json : undefined;
      },
      { timeoutMs: 60000, intervalMs: 300, what: 'cxr-demo@1.1.0 to be served' },
    );
    expect(served.status).toBe('done');
  });
});
