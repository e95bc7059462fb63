import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  loadTfjsClassifier,
  selectTfjsBackend,
} from '../../../../../processors/shared/runtime/tfjs-runtime';
import {
  buildTinyModel,
  tinyInputs,
  tinyManifest,
  writeTinyModelDir,
  type TinyModelOptions,
} from './tiny-model';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function tinyDir(options: TinyModelOptions = {}, targetLayer?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'medstream-tfjs-'));
  dirs.push(dir);
  const model = buildTinyModel(options);
  const manifest = tinyManifest('tiny', '1.0.0', options);
  if (targetLayer) manifest.gradcam = { targetLayer };
  await writeTinyModelDir(dir, model, manifest);
  return { dir, model, manifest };
}

/**
 * The reference Grad-CAM, without tfjs gradients: A from the model's own layers, then the head
 * after `target` (optionally 'target_conv': 3x3 conv, stride 2, 'same', ReLU; then GAP → Dense)
 * re-implemented in float64, and α_k = mean_ij dlogit_c/dA_k(i,j) as the central difference of
 * logit_c along "add t to all of channel k", divided by hw. The head is piecewise linear, so a
 * tiny step in float64 gives the derivative to ~1e-9.
 */
function finiteDifferenceCam(
  model: tf.LayersModel,
  target: 'conv_a' | 'target_conv',
  x: tf.Tensor4D,
  classIndex: number,
): { cam: Float32Array; h: number; w: number } {
  const a = tf.tidy(() =>
    tf
      .model({ inputs: model.inputs, outputs: model.getLayer(target).output as tf.SymbolicTensor })
      .predict(x),
  ) as tf.Tensor4D;
  const [, h, w, k] = a.shape;
  const av = Float64Array.from(a.dataSync());
  a.dispose();
  const [dk, db] = model
    .getLayer('head_dense')
    .getWeights()
    .map((t) => t.dataSync()) as [Float32Array, Float32Array];
  const classes = db.length;
  const conv =
    target === 'conv_a'
      ? (model
          .getLayer('target_conv')
          .getWeights()
          .map((t) => t.dataSync()) as [Float32Array, Float32Array])
      : undefined;
  const logit = (features: Float64Array): number => {
    let pooled: Float64Array;
    if (conv) {
      const [kernel, bias] = conv;
      const filters = bias.length;
      const oh = Math.ceil(h / 2);
      const ow = Math.ceil(w / 2);
      const padTop = Math.floor(Math.max((oh - 1) * 2 + 3 - h, 0) / 2);
      const padLeft = Math.floor(Math.max((ow - 1) * 2 + 3 - w, 0) / 2);
      pooled = new Float64Array(filters);
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++)
          for (let f = 0; f < filters; f++) {
            let z = bias[f] as number;
            for (let ky = 0; ky < 3; ky++)
              for (let kx = 0; kx < 3; kx++) {
                const iy = oy * 2 + ky - padTop;
                const ix = ox * 2 + kx - padLeft;
                if (iy < 0 || ix < 0 || iy >= h || ix >= w) continue;
                for (let c = 0; c < k; c++)
                  z +=
                    (features[(iy * w + ix) * k + c] as number) *
                    (kernel[((ky * 3 + kx) * k + c) * filters + f] as number);
              }
            pooled[f] = (pooled[f] as number) + Math.max(0, z) / (oh * ow);
          }
    } else {
      pooled = new Float64Array(k);
      for (let p = 0; p < h * w; p++)
        for (let c = 0; c < k; c++)
          pooled[c] = (pooled[c] as number) + (features[p * k + c] as number) / (h * w);
    }
    let out = db[classIndex] as number;
    for (let f = 0; f < pooled.length; f++)
      out += (pooled[f] as number) * (dk[f * classes + classIndex] as number);
    return out;
  };
  const eps = 1e-7;
  const alpha = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    const up = av.slice();
    const down = av.slice();
    for (let p = 0; p < h * w; p++) {
      up[p * k + c] = (up[p * k + c] as number) + eps;
      down[p * k + c] = (down[p * k + c] as number) - eps;
    }
    alpha[c] = (logit(up) - logit(down)) / (2 * eps) / (h * w);
  }
  const cam = new Float32Array(h * w);
  for (let p = 0; p < h * w; p++) {
    let s = 0;
    for (let c = 0; c < k; c++) s += (alpha[c] as number) * (av[p * k + c] as number);
    cam[p] = Math.max(0, s);
  }
  return { cam, h, w };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

function maxOf(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, a[i] as number);
  return m;
}

describe('[REQ-IMG-GRADCAM] tfjs runtime', () => {
  it('reports the backend it chose (auto falls back to wasm without tfjs-node)', async () => {
    const choice = await selectTfjsBackend('auto');
    expect(['tensorflow', 'wasm', 'cpu']).toContain(choice.backend);
    expect(choice.detail).toMatch(/tfjs-node/); // the skipped native backends are named
    await expect(selectTfjsBackend('tensorflow')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`[${backend}] Grad-CAM equals a float64 finite-difference reference within 1e-5 of its max (target mid-network and last conv)`, async () => {
      for (const target of ['conv_a', 'target_conv'] as const) {
        const { dir, model, manifest } = await tinyDir({ seed: 11 }, target);
        const runtime = await loadTfjsClassifier(dir, manifest, { backend });
        expect(runtime.backend).toBe(backend);
        const inputs = tinyInputs(3, 16 * 16, 5);
        const outputs = await runtime.classify(inputs, {
          gradcam: true,
          classIndex: [undefined, 0, 2],
        });
        for (let i = 0; i < inputs.length; i++) {
          const out = outputs[i]!;
          const x = tf.tensor4d(inputs[i]!, [1, 16, 16, 1]);
          const expectedProbs = (model.predict(x) as tf.Tensor).dataSync();
          expect(maxAbsDiff(out.probabilities, expectedProbs)).toBeLessThan(1e-6);
          const classIndex =
            i === 0 ? Array.from(out.logits).indexOf(Math.max(...out.logits)) : i === 1 ? 0 : 2;
          expect(out.cam?.classIndex).toBe(classIndex);
          const fd = finiteDifferenceCam(model, target, x, classIndex);
          expect([out.cam?.height, out.cam?.width]).toEqual([fd.h, fd.w]);
          expect(maxOf(fd.cam)).toBeGreaterThan(0);
          expect(maxAbsDiff(out.cam!.data, fd.cam) / maxOf(fd.cam)).toBeLessThan(1e-5);
          x.dispose();
        }
        await runtime.dispose();
      }
    });
  }

  it('finds the logits behind a separate softmax Activation and of a sigmoid multi-label Dense', async () => {
    for (const head of ['activation-softmax', 'dense-sigmoid', 'linear'] as const) {
      const { dir, model, manifest } = await tinyDir({ seed: 3, head });
      const runtime = await loadTfjsClassifier(dir, manifest, { backend: 'cpu' });
      const [input] = tinyInputs(1, 256, 8);
      const [out] = await runtime.classify([input!], { gradcam: true });
      const x = tf.tensor4d(input!, [1, 16, 16, 1]);
      const modelOut = (model.predict(x) as tf.Tensor).dataSync();
      if (head === 'linear') expect(maxAbsDiff(out!.logits, modelOut)).toBeLessThan(1e-6);
      else expect(maxAbsDiff(out!.probabilities, modelOut)).toBeLessThan(1e-6);
      const sum = out!.probabilities.reduce((a, b) => a + b, 0);
      if (head === 'dense-sigmoid') expect(sum).not.toBeCloseTo(1, 3);
      else expect(sum).toBeCloseTo(1, 5);
      expect(out!.cam!.data.length).toBe(64);
      x.dispose();
      await runtime.dispose();
    }
  });

  it('frees every tensor it made on dispose, and rejects bad batches with PROCESSING_FAILED', async () => {
    const { dir, manifest } = await tinyDir({ seed: 5 });
    const before = tf.memory().numTensors;
    const runtime = await loadTfjsClassifier(dir, manifest, { backend: 'cpu' });
    await runtime.classify(tinyInputs(4, 256), { gradcam: true });
    await expect(runtime.classify([new Float32Array(10)])).rejects.toMatchObject({
      code: 'PROCESSING_FAILED',
      message: expect.stringContaining('batch item 0 has 10 values, expected 16x16x1'),
    });
    await expect(
      runtime.classify(tinyInputs(1, 256), { gradcam: true, classIndex: [7] }),
    ).rejects.toMatchObject({
      code: 'PROCESSING_FAILED',
    });
    await runtime.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await expect(runtime.classify(tinyInputs(1, 256))).rejects.toMatchObject({
      code: 'PROCESSING_FAILED',
    });
  });

  it('refuses a manifest that contradicts the model (label count, multiLabel, target layer)', async () => {
    const { dir, manifest } = await tinyDir({ seed: 5 });
    await expect(
      loadTfjsClassifier(dir, { ...manifest, labels: ['a', 'b'] }, { backend: 'cpu' }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('expected [N, 2]'),
    });
    await expect(
      loadTfjsClassifier(dir, { ...manifest, multiLabel: true }, { backend: 'cpu' }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('softmax'),
    });
    await expect(
      loadTfjsClassifier(
        dir,
        { ...manifest, gradcam: { targetLayer: 'nope' } },
        { backend: 'cpu' },
      ),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining("'nope'") });
  });
});
