import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import {
  exportLayersModelToOnnx,
  samePadding,
} from '../../../../../models/training/onnx/export-layers-model';
import { seededRandom } from '../../../../helpers/seeded-random';

/** Seeded weights; BatchNormalization variances kept positive. */
function setSeededWeights(model: tf.LayersModel, seed: number, scale = 0.5): void {
  const random = seededRandom(seed);
  const names = model.weights.map((w) => w.name);
  model.setWeights(
    model.getWeights().map((w, i) => {
      const variance = /moving_variance/.test(names[i]!);
      const values = Float32Array.from({ length: w.size }, () =>
        variance ? 0.5 + Math.abs(random()) : random() * scale,
      );
      return tf.tensor(values, w.shape);
    }),
  );
}

function nhwcToNchw(data: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n!; b++)
    for (let y = 0; y < h!; y++)
      for (let x = 0; x < w!; x++)
        for (let k = 0; k < c!; k++)
          out[((b * c! + k) * h! + y) * w! + x] = data[((b * h! + y) * w! + x) * c! + k]!;
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

interface Reference {
  probabilities?: Float32Array;
  logits: Float32Array;
  /** extra layer outputs as ONNX lays them out (NCHW for rank 4) */
  extras: Record<string, { data: Float32Array; dims: number[] }>;
}

/** What the tfjs model says: output, pre-activation of the last Dense, extra layer outputs. */
function tfjsReference(
  model: tf.LayersModel,
  x: tf.Tensor4D,
  lastDense: string,
  extraOutputs: string[],
  withProbabilities: boolean,
): Reference {
  tf.engine().startScope();
  try {
    const dense = model.getLayer(lastDense);
    const denseInput = dense.input as tf.SymbolicTensor;
    const extras = extraOutputs.map((n) => model.getLayer(n).output as tf.SymbolicTensor);
    // a probe model cannot list one tensor twice: fetch each once, then pick
    const wanted = [denseInput, model.outputs[0]!, ...extras];
    const unique = [...new Set(wanted)];
    const fetched = tf.model({ inputs: model.inputs, outputs: unique }).predict(x) as
      tf.Tensor | tf.Tensor[];
    const values = Array.isArray(fetched) ? fetched : [fetched];
    const [features, output, ...extraValues] = wanted.map((t) => values[unique.indexOf(t)]!);
    const [kernel, bias] = dense.getWeights();
    let logits = tf.matMul(features as tf.Tensor2D, kernel as tf.Tensor2D);
    if (bias) logits = logits.add(bias);
    const ref: Reference = { logits: logits.dataSync() as Float32Array, extras: {} };
    if (withProbabilities) ref.probabilities = output!.dataSync() as Float32Array;
    extraOutputs.forEach((name, i) => {
      const t = extraValues[i]!;
      const data = t.dataSync() as Float32Array;
      ref.extras[name] =
        t.rank === 4
          ? {
              data: nhwcToNchw(data, t.shape),
              dims: [t.shape[0]!, t.shape[3]!, t.shape[1]!, t.shape[2]!],
            }
          : { data, dims: t.shape };
    });
    return ref;
  } finally {
    tf.engine().endScope();
  }
}

async function runOnnx(
  bytes: Uint8Array,
  inputName: string,
  x: tf.Tensor4D,
): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  const nchw = nhwcToNchw(x.dataSync() as Float32Array, x.shape);
  const [n, h, w, c] = x.shape;
  const out = await session.run({ [inputName]: new ort.Tensor('float32', nchw, [n, c, h, w]) });
  await session.release();
  return out;
}

async function expectSame(
  model: tf.LayersModel,
  opts: {
    lastDense: string;
    extraOutputs?: string[];
    inputName?: string;
    probabilities?: boolean;
    opset?: number;
  },
  batch = 3,
  seed = 5,
): Promise<{ bytes: Uint8Array; outputs: Record<string, ort.Tensor> }> {
  const extraOutputs = opts.extraOutputs ?? [];
  const withProbabilities = opts.probabilities ?? true;
  const inputName = opts.inputName ?? 'image';
  const bytes = exportLayersModelToOnnx(model, {
    extraOutputs,
    ...(opts.inputName ? { inputName: opts.inputName } : {}),
    ...(opts.opset ? { opset: opts.opset } : {}),
  });
  const shape = model.inputs[0]!.shape.slice(1) as number[];
  const random = seededRandom(seed);
  const x = tf.tensor4d(
    Float32Array.from({ length: batch * shape.reduce((a, b) => a * b, 1) }, () => random() * 2),
    [batch, ...shape] as [number, number, number, number],
  );
  const ref = tfjsReference(model, x, opts.lastDense, extraOutputs, withProbabilities);
  const outputs = await runOnnx(bytes, inputName, x);
  expect(outputs.logits!.dims).toEqual([batch, ref.logits.length / batch]);
  expect(maxAbsDiff(outputs.logits!.data as Float32Array, ref.logits)).toBeLessThan(1e-4);
  if (withProbabilities) {
    expect(
      maxAbsDiff(outputs.probabilities!.data as Float32Array, ref.probabilities!),
    ).toBeLessThan(1e-4);
  } else {
    expect(outputs.probabilities).toBeUndefined();
  }
  for (const name of extraOutputs) {
    expect(outputs[name]!.dims).toEqual(ref.extras[name]!.dims);
    expect(maxAbsDiff(outputs[name]!.data as Float32Array, ref.extras[name]!.data)).toBeLessThan(
      1e-4,
    );
  }
  x.dispose();
  return { bytes, outputs };
}

const seedOf = (() => {
  let s = 100;
  return () => s++;
})();

/** Glorot-uniform kernels from fixed seeds so every run builds the same model. */
function init() {
  return { kernelInitializer: tf.initializers.glorotUniform({ seed: seedOf() }) };
}

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('exportLayersModelToOnnx', () => {
  it('samePadding follows TF (the odd pixel goes at the end)', () => {
    expect(samePadding(5, 3, 1)).toEqual([1, 1]);
    expect(samePadding(5, 3, 2)).toEqual([1, 1]);
    expect(samePadding(4, 3, 2)).toEqual([0, 1]);
    expect(samePadding(6, 2, 2)).toEqual([0, 0]);
    expect(samePadding(7, 2, 2)).toEqual([0, 1]);
    expect(samePadding(8, 4, 1)).toEqual([1, 2]);
    expect(samePadding(9, 3, 1, 2)).toEqual([2, 2]);
  });

  it('conv/pool/batchnorm/GAP/dense/dropout/softmax chain: probabilities, logits and NCHW feature maps match tfjs', async () => {
    const input = tf.input({ shape: [19, 17, 1], name: 'image' });
    let x = tf.layers
      .conv2d({
        name: 'c1',
        filters: 6,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        ...init(),
      })
      .apply(input) as tf.SymbolicTensor;
    x = tf.layers.maxPooling2d({ name: 'mp', poolSize: 2 }).apply(x) as tf.SymbolicTensor; // 9×8
    x = tf.layers
      .conv2d({ name: 'c2', filters: 8, kernelSize: 3, strides: 2, padding: 'valid', ...init() })
      .apply(x) as tf.SymbolicTensor; // 4×3
    x = tf.layers
      .activation({ name: 'act_relu', activation: 'relu' })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .conv2d({
        name: 'c3',
        filters: 8,
        kernelSize: [3, 2],
        strides: [2, 1],
        padding: 'same',
        activation: 'sigmoid',
        ...init(),
      })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .averagePooling2d({ name: 'ap', poolSize: 3, strides: 1, padding: 'same' })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ name: 'bn', epsilon: 0.01 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .conv2d({ name: 'target', filters: 5, kernelSize: 1, activation: 'relu', ...init() })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .dense({ name: 'hidden', units: 7, activation: 'relu', ...init() })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.dropout({ name: 'drop', rate: 0.5 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.dense({ name: 'head', units: 4, ...init() }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .activation({ name: 'probs', activation: 'softmax' })
      .apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: x });
    setSeededWeights(model, 1);
    const { bytes, outputs } = await expectSame(model, {
      lastDense: 'head',
      extraOutputs: ['target', 'bn', 'gap'],
    });
    expect(outputs.target!.dims).toEqual([3, 5, 2, 3]);

    // the graph: NCHW input with a symbolic batch, OIHW conv weights, Keras-layout Dense kernel
    const proto = onnx.ModelProto.decode(bytes);
    expect(Number(proto.opsetImport[0]!.version)).toBe(13);
    const graph = proto.graph as onnx.GraphProto;
    expect(graph.input.map((i) => i.name)).toEqual(['image']);
    const dims = graph.input[0]!.type!.tensorType!.shape!.dim!.map(
      (d) => d.dimParam || Number(d.dimValue),
    );
    expect(dims).toEqual(['N', 1, 19, 17]);
    expect(graph.output.map((o) => o.name)).toEqual([
      'logits',
      'probabilities',
      'target',
      'bn',
      'gap',
    ]);
    const init_ = new Map(graph.initializer.map((t) => [t.name, t.dims!.map(Number)]));
    expect(init_.get('c3/kernel')).toEqual([8, 8, 3, 2]);
    expect(init_.get('head/kernel')).toEqual([7, 4]);
    expect(init_.get('head/bias')).toEqual([4]);
    const gemm = graph.node.find((n) => n.opType === 'Gemm' && n.input!.includes('head/kernel'))!;
    expect(gemm.output).toEqual(['logits']);
    expect(Number(gemm.attribute!.find((a) => a.name === 'transB')!.i)).toBe(0);
    // explicit 'same' pads for c3 on a 4×3 input: rows (k 3, stride 2) [0, 1], cols (k 2, stride 1) [0, 1]
    const conv3 = graph.node.find((n) => n.opType === 'Conv' && n.input!.includes('c3/kernel'))!;
    expect(conv3.attribute!.find((a) => a.name === 'pads')!.ints!.map(Number)).toEqual([
      0, 0, 1, 1,
    ]);
  });

  it('Flatten follows Keras NHWC order; Dense with softmax inside; 3 channels; custom input name; opset 17', async () => {
    const input = tf.input({ shape: [9, 11, 3] });
    let x = tf.layers
      .conv2d({
        name: 'conv',
        filters: 4,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        ...init(),
      })
      .apply(input) as tf.SymbolicTensor; // 5×6
    x = tf.layers
      .maxPooling2d({ name: 'pool', poolSize: 2, strides: 2, padding: 'same' })
      .apply(x) as tf.SymbolicTensor; // 3×3
    x = tf.layers.flatten({ name: 'flat' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .dense({ name: 'fc', units: 5, activation: 'softmax', ...init() })
      .apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: x });
    setSeededWeights(model, 2);
    const { bytes } = await expectSame(
      model,
      { lastDense: 'fc', inputName: 'input', extraOutputs: ['flat', 'pool'], opset: 17 },
      2,
    );
    const graph = onnx.ModelProto.decode(bytes).graph as onnx.GraphProto;
    expect(graph.node.some((n) => n.opType === 'Transpose')).toBe(true);
    expect(graph.output.map((o) => o.name)).toEqual(['logits', 'probabilities', 'flat', 'pool']);
  });

  it('sigmoid head, GlobalMaxPooling, dilated conv, ReLU layer, tanh/elu/relu6, valid average pooling, rank-2 batchnorm', async () => {
    const input = tf.input({ shape: [16, 16, 2] });
    let x = tf.layers
      .conv2d({
        name: 'dil',
        filters: 4,
        kernelSize: 3,
        dilationRate: 2,
        padding: 'same',
        activation: 'tanh',
        ...init(),
      })
      .apply(input) as tf.SymbolicTensor;
    x = tf.layers.averagePooling2d({ name: 'avg', poolSize: 2 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .conv2d({
        name: 'c',
        filters: 6,
        kernelSize: 3,
        padding: 'valid',
        activation: 'elu',
        ...init(),
      })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU({ name: 'relu_layer' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.globalMaxPooling2d({ name: 'gmp' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .dense({ name: 'd1', units: 8, activation: 'relu6', ...init() })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ name: 'bn1d', center: false }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .dense({ name: 'multi', units: 6, activation: 'sigmoid', ...init() })
      .apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: x });
    setSeededWeights(model, 3, 1.5);
    await expectSame(model, { lastDense: 'multi', extraOutputs: ['relu_layer'] }, 4);
  });

  it('a Sequential model ending in a linear Dense exports logits only (no probabilities output)', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [8, 8, 1],
          filters: 3,
          kernelSize: 3,
          activation: 'relu',
          ...init(),
        }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, ...init() }),
      ],
    });
    setSeededWeights(model, 4);
    const denseName = model.layers[2]!.name;
    const { outputs } = await expectSame(model, { lastDense: denseName, probabilities: false });
    expect(Object.keys(outputs)).toEqual(['logits']);
  });

  it('the batch dimension is symbolic: one graph serves batch 1 and batch 5', async () => {
    const input = tf.input({ shape: [8, 8, 1] });
    let x = tf.layers
      .conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', ...init() })
      .apply(input) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .dense({ name: 'out', units: 3, activation: 'softmax', ...init() })
      .apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: x });
    setSeededWeights(model, 6);
    await expectSame(model, { lastDense: 'out' }, 1);
    await expectSame(model, { lastDense: 'out' }, 5);
  });

  it('throws naming unsupported layers and options', () => {
    const withLayer = (layer: tf.layers.Layer, shape = [8, 8, 1]) => {
      const input = tf.input({ shape });
      let x = layer.apply(input) as tf.SymbolicTensor;
      x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
      x = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: x });
    };
    expect(() =>
      exportLayersModelToOnnx(withLayer(tf.layers.depthwiseConv2d({ name: 'dw', kernelSize: 3 }))),
    ).toThrow(/layer 'dw' \(DepthwiseConv2D\).*not supported/);
    expect(() =>
      exportLayersModelToOnnx(
        withLayer(tf.layers.conv2d({ name: 'sw', filters: 2, kernelSize: 3, activation: 'swish' })),
      ),
    ).toThrow(/layer 'sw' \(Conv2D\): activation "swish" is not supported/);
    expect(() =>
      exportLayersModelToOnnx(
        withLayer(
          tf.layers.conv2d({ name: 'causal', filters: 2, kernelSize: 3, padding: 'causal' }),
        ),
      ),
    ).toThrow(/layer 'causal' \(Conv2D\): padding 'causal'/);
    expect(() =>
      exportLayersModelToOnnx(
        withLayer(
          tf.layers.conv2d({ name: 'cf', filters: 2, kernelSize: 3, dataFormat: 'channelsFirst' }),
          [1, 8, 8],
        ),
      ),
    ).toThrow(/layer 'cf' \(Conv2D\): dataFormat 'channelsFirst'/);
    const ok = withLayer(tf.layers.conv2d({ name: 'fine', filters: 2, kernelSize: 3 }));
    expect(() => exportLayersModelToOnnx(ok, { extraOutputs: ['nope'] })).toThrow(
      /no layer named 'nope'/,
    );
    expect(() => exportLayersModelToOnnx(ok, { opset: 9 })).toThrow(/opset 9/);
    const noDense = tf.sequential({
      layers: [tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 1, kernelSize: 1 })],
    });
    expect(() => exportLayersModelToOnnx(noDense)).toThrow(/no Dense layer/);
  });
});
