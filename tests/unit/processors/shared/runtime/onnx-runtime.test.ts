import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { ModelManifest } from '../../../../../processors/shared/model-manifest';
import {
  gapDenseAlpha,
  loadOnnxClassifier,
  tensorProtoToFloat32,
  weightedCam,
  withExtraGraphOutput,
  type DenseHead,
  type FeatureMapShape,
} from '../../../../../processors/shared/runtime/onnx-runtime';
import { seededRandom } from '../../../../helpers/seeded-random';
import { tinyInputs } from './tiny-model';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

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

/** α by tf.grad: logits = GAP(relu?(A)) · W + b, A given as [1, h, w, K] or [1, K, h, w]. */
function tfjsAlpha(
  a: Float32Array,
  shape: FeatureMapShape,
  head: DenseHead,
  classIndex: number,
): Float32Array {
  return tf.tidy(() => {
    const { k, h, w, layout } = shape;
    const at = layout === 'NCHW' ? tf.tensor4d(a, [1, k, h, w]) : tf.tensor4d(a, [1, h, w, k]);
    const wt =
      head.layout === 'KC'
        ? tf.tensor2d(head.weights, [k, head.c])
        : tf.tensor2d(head.weights, [head.c, k]).transpose();
    const spatial = layout === 'NCHW' ? [2, 3] : [1, 2];
    const logit = (x: tf.Tensor) =>
      tf
        .matMul(tf.mean(head.relu ? tf.relu(x) : x, spatial) as tf.Tensor2D, wt as tf.Tensor2D)
        .gather([classIndex], 1)
        .sum();
    return tf.mean(tf.grad(logit)(at), spatial).dataSync() as Float32Array;
  });
}

describe('[REQ-IMG-GRADCAM] analytic Grad-CAM for a GAP + dense head', () => {
  const random = seededRandom(21);
  const k = 6;
  const h = 5;
  const w = 7;
  const c = 4;
  // Negative values included, so the ReLU mask matters.
  const a = Float32Array.from({ length: k * h * w }, () => random());
  for (const layout of ['NCHW', 'NHWC'] as const)
    for (const weightsLayout of ['KC', 'CK'] as const)
      for (const relu of [false, true])
        it(`α equals the tfjs gradient (A ${layout}, W ${weightsLayout}, relu ${relu})`, () => {
          const head: DenseHead = {
            weights: Float32Array.from({ length: k * c }, () => random()),
            layout: weightsLayout,
            k,
            c,
            relu,
          };
          const shape: FeatureMapShape = { k, h, w, layout };
          for (let cls = 0; cls < c; cls++) {
            const analytic = gapDenseAlpha(a, shape, head, cls);
            const numeric = tfjsAlpha(a, shape, head, cls);
            expect(maxAbsDiff(analytic, numeric)).toBeLessThan(1e-7);
          }
          const alpha = gapDenseAlpha(a, shape, head, 1);
          const cam = weightedCam(a, shape, alpha);
          // cam(i,j) = ReLU(Σ_k α_k A_k(i,j)) on A itself
          const p = 2 * w + 3;
          let s = 0;
          for (let ch = 0; ch < k; ch++)
            s +=
              (alpha[ch] as number) *
              (a[layout === 'NCHW' ? ch * h * w + p : p * k + ch] as number);
          expect(cam[p]).toBeCloseTo(Math.max(0, s), 6);
        });
});

// ---------------------------------------------------------------------------------------------
// A hand-made ONNX classifier: Conv → 'features' → Relu → GlobalAveragePool → Flatten →
// Gemm(transB=1, 'classifier.weight' [C, K]) → 'logits' → Sigmoid → 'probs'. 'features' is
// not a graph output, so the runtime has to add it.
// ---------------------------------------------------------------------------------------------

const SIZE = 8;
const K = 3;
const C = 5;

interface HandMade {
  convW: Float32Array; // [K, 1, 3, 3]
  convB: Float32Array;
  fcW: Float32Array; // [C, K]
  fcB: Float32Array;
}

function handMadeWeights(): HandMade {
  const random = seededRandom(4);
  const take = (n: number, scale: number) =>
    Float32Array.from({ length: n }, () => random() * scale);
  return { convW: take(K * 9, 0.8), convB: take(K, 0.2), fcW: take(C * K, 1.5), fcB: take(C, 0.3) };
}

function rawFloats(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return bytes;
}

function handMadeOnnx(weights: HandMade, batch: number | 'N'): Uint8Array {
  const dim = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  const tensorType = (dims: (number | string)[]) => ({
    tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map(dim) } },
  });
  const graph = onnx.GraphProto.create({
    name: 'handmade',
    input: [{ name: 'input', type: tensorType([batch, 1, SIZE, SIZE]) }],
    output: [
      { name: 'logits', type: tensorType([batch, C]) },
      { name: 'probs', type: tensorType([batch, C]) },
    ],
    initializer: [
      // float_data for the conv, raw_data (little-endian) for the classifier
      {
        name: 'conv.weight',
        dims: [K, 1, 3, 3],
        dataType: 1,
        floatData: Array.from(weights.convW),
      },
      { name: 'conv.bias', dims: [K], dataType: 1, floatData: Array.from(weights.convB) },
      { name: 'classifier.weight', dims: [C, K], dataType: 1, rawData: rawFloats(weights.fcW) },
      { name: 'classifier.bias', dims: [C], dataType: 1, rawData: rawFloats(weights.fcB) },
    ],
    node: [
      {
        opType: 'Conv',
        input: ['input', 'conv.weight', 'conv.bias'],
        output: ['features'],
        attribute: [
          { name: 'pads', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 1, 1, 1] },
          { name: 'kernel_shape', type: onnx.AttributeProto.AttributeType.INTS, ints: [3, 3] },
        ],
      },
      { opType: 'Relu', input: ['features'], output: ['relu'] },
      { opType: 'GlobalAveragePool', input: ['relu'], output: ['pooled'] },
      {
        opType: 'Flatten',
        input: ['pooled'],
        output: ['flat'],
        attribute: [{ name: 'axis', type: 2, i: 1 }],
      },
      {
        opType: 'Gemm',
        input: ['flat', 'classifier.weight', 'classifier.bias'],
        output: ['logits'],
        attribute: [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
      },
      { opType: 'Sigmoid', input: ['logits'], output: ['probs'] },
    ],
  });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      producerName: 'medstream-test',
      graph,
    }),
  ).finish();
}

function handMadeManifest(overrides: Partial<ModelManifest> = {}): ModelManifest {
  return {
    name: 'handmade',
    version: '1.0.0',
    task: 'image-classification',
    multiLabel: true,
    input: { height: SIZE, width: SIZE, channels: 1 },
    preprocessing: {
      resize: 'stretch',
      window: { mode: 'none' },
      normalization: { mean: 0, std: 1 },
    },
    labels: Array.from({ length: C }, (_, i) => `finding${i}`),
    gradcam: {
      targetLayer: 'features',
      onnxTensor: 'features',
      head: { type: 'gap-dense', weights: 'classifier.weight', weightsLayout: 'CK', relu: true },
    },
    batching: { maxBatchSize: 4, maxQueueDelayMs: 5 },
    artifacts: { onnx: 'model.onnx' },
    onnx: { inputName: 'input', layout: 'NCHW', outputName: 'logits', outputIs: 'logits' },
    syntheticTrainingData: true,
    ...overrides,
  };
}

function writeHandMade(batch: number | 'N'): { dir: string; weights: HandMade } {
  const dir = mkdtempSync(join(tmpdir(), 'medstream-onnx-'));
  dirs.push(dir);
  const weights = handMadeWeights();
  writeFileSync(join(dir, 'model.onnx'), handMadeOnnx(weights, batch));
  return { dir, weights };
}

/** The reference: A by direct convolution, logits, and the Grad-CAM from tf.grad. */
function reference(x: Float32Array, weights: HandMade, classIndex?: number) {
  const a = new Float32Array(K * SIZE * SIZE);
  for (let ch = 0; ch < K; ch++)
    for (let y = 0; y < SIZE; y++)
      for (let xx = 0; xx < SIZE; xx++) {
        let z = weights.convB[ch] as number;
        for (let ky = 0; ky < 3; ky++)
          for (let kx = 0; kx < 3; kx++) {
            const iy = y + ky - 1;
            const ix = xx + kx - 1;
            if (iy >= 0 && ix >= 0 && iy < SIZE && ix < SIZE)
              z += (x[iy * SIZE + ix] as number) * (weights.convW[ch * 9 + ky * 3 + kx] as number);
          }
        a[ch * SIZE * SIZE + y * SIZE + xx] = z;
      }
  return tf.tidy(() => {
    const at = tf.tensor4d(a, [1, K, SIZE, SIZE]);
    const wt = tf.tensor2d(weights.fcW, [C, K]).transpose() as tf.Tensor2D;
    const logitsOf = (t: tf.Tensor) =>
      tf.add(tf.matMul(tf.mean(tf.relu(t), [2, 3]) as tf.Tensor2D, wt), tf.tensor1d(weights.fcB));
    const logits = logitsOf(at).dataSync() as Float32Array;
    const cls = classIndex ?? logits.indexOf(Math.max(...logits));
    const grad = tf.grad((t: tf.Tensor) => logitsOf(t).gather([cls], 1).sum())(at);
    const alpha = tf.mean(grad, [2, 3], true);
    const cam = tf.relu(tf.sum(tf.mul(at, alpha), 1)).dataSync() as Float32Array;
    return { logits, cam, classIndex: cls };
  });
}

describe('[REQ-IMG-ONNX] ONNX runtime', () => {
  it('adds a Grad-CAM tensor that is not a graph output by appending it, leaving the rest of the file as it was', async () => {
    const bytes = handMadeOnnx(handMadeWeights(), 'N');
    const merged = withExtraGraphOutput(bytes, onnx.ModelProto.decode(bytes), 'features');
    expect(Buffer.from(merged.subarray(0, bytes.length)).equals(Buffer.from(bytes))).toBe(true);
    // Protobuf merges a repeated embedded message field: ONNX Runtime sees all three outputs.
    const session = await ort.InferenceSession.create(merged);
    expect(session.outputNames).toEqual(['logits', 'probs', 'features']);
    await session.release();
  });

  it('reads initializers from float_data, raw_data and float16', () => {
    expect(
      tensorProtoToFloat32({ dims: [2], dataType: 1, floatData: [1.5, -2] }, 'x').data,
    ).toEqual(Float32Array.from([1.5, -2]));
    expect(
      tensorProtoToFloat32(
        { dims: [2], dataType: 1, rawData: rawFloats(Float32Array.from([3, 4])) },
        'x',
      ).data,
    ).toEqual(Float32Array.from([3, 4]));
    // 0x3c00 = 1.0, 0xc000 = -2.0, 0x3555 ≈ 0.33325
    const half = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x55, 0x35]);
    const f16 = tensorProtoToFloat32({ dims: [3], dataType: 10, rawData: half }, 'x').data;
    expect(Array.from(f16.subarray(0, 2))).toEqual([1, -2]);
    expect(f16[2]).toBeCloseTo(0.33325, 5);
    expect(() =>
      tensorProtoToFloat32({ dims: [2], dataType: 7, int64Data: [1, 2] }, 'ints'),
    ).toThrow(/ints: element type 7/);
  });

  it('classifies with sigmoid probabilities and an exact Grad-CAM of an intermediate tensor, on CPU', async () => {
    const { dir, weights } = writeHandMade('N');
    const runtime = await loadOnnxClassifier(dir, handMadeManifest());
    expect([runtime.kind, runtime.backend, runtime.device, runtime.gradcamAvailable]).toEqual([
      'onnx',
      'cpu',
      'cpu',
      true,
    ]);
    const inputs = tinyInputs(3, SIZE * SIZE, 17);
    const outputs = await runtime.classify(inputs, {
      gradcam: true,
      classIndex: [undefined, 4, undefined],
    });
    outputs.forEach((out, i) => {
      const ref = reference(inputs[i]!, weights, i === 1 ? 4 : undefined);
      expect(maxAbsDiff(out.logits, ref.logits)).toBeLessThan(1e-5);
      const sigmoid = Array.from(ref.logits, (l) => 1 / (1 + Math.exp(-l)));
      expect(maxAbsDiff(out.probabilities, sigmoid)).toBeLessThan(1e-6);
      expect(out.cam).toMatchObject({ height: SIZE, width: SIZE, classIndex: ref.classIndex });
      expect(maxOf(ref.cam)).toBeGreaterThan(0);
      expect(maxAbsDiff(out.cam!.data, ref.cam) / maxOf(ref.cam)).toBeLessThan(1e-5);
    });
    // without Grad-CAM the feature map is not fetched and no cam is returned
    const [plain] = await runtime.classify([inputs[0]!]);
    expect(plain!.cam).toBeUndefined();
    expect(maxAbsDiff(plain!.logits, outputs[0]!.logits)).toBe(0);
    await runtime.dispose();
  });

  it('passes probabilities through when outputIs is probabilities, and runs a fixed batch-1 graph item by item', async () => {
    const { dir, weights } = writeHandMade(1);
    const manifest = handMadeManifest({
      onnx: { inputName: 'input', layout: 'NCHW', outputName: 'probs', outputIs: 'probabilities' },
    });
    const runtime = await loadOnnxClassifier(dir, manifest, { executionProviders: ['cpu'] });
    const inputs = tinyInputs(2, SIZE * SIZE, 3);
    const outputs = await runtime.classify(inputs, { gradcam: true });
    outputs.forEach((out, i) => {
      const ref = reference(inputs[i]!, weights);
      expect(
        maxAbsDiff(
          out.probabilities,
          Array.from(ref.logits, (l) => 1 / (1 + Math.exp(-l))),
        ),
      ).toBeLessThan(1e-6);
      expect(maxAbsDiff(out.logits, ref.logits)).toBeLessThan(1e-4); // logit(p) recovers the logits
      expect(maxAbsDiff(out.cam!.data, ref.cam) / maxOf(ref.cam)).toBeLessThan(1e-5);
    });
    await runtime.dispose();
  });

  it('names what is wrong when the manifest does not fit the graph', async () => {
    const { dir } = writeHandMade('N');
    await expect(
      loadOnnxClassifier(
        dir,
        handMadeManifest({
          onnx: { inputName: 'x', layout: 'NCHW', outputName: 'logits', outputIs: 'logits' },
        }),
      ),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining("onnx.inputName 'x' is not a graph input (inputs: input)"),
    });
    const gradcam = handMadeManifest().gradcam!;
    await expect(
      loadOnnxClassifier(dir, handMadeManifest({ gradcam: { ...gradcam, onnxTensor: 'nope' } })),
    ).rejects.toMatchObject({
      message: expect.stringContaining("gradcam.onnxTensor 'nope' is not produced by any node"),
    });
    await expect(
      loadOnnxClassifier(
        dir,
        handMadeManifest({
          gradcam: { ...gradcam, head: { ...gradcam.head!, weightsLayout: 'KC' } },
        }),
      ),
    ).rejects.toMatchObject({
      message: expect.stringContaining(
        'has dims [5, 3]; with weightsLayout KC and 5 labels it must be [K, 5]',
      ),
    });
    const runtime = await loadOnnxClassifier(dir, handMadeManifest());
    await expect(runtime.classify([new Float32Array(3)])).rejects.toMatchObject({
      code: 'PROCESSING_FAILED',
    });
    await runtime.dispose();
  });
});
