/**
 * A bring-your-own-model fixture: a small, randomly initialised ONNX classifier shaped like a
 * PyTorch (torchvision) DenseNet-121 chest-X-ray export, written with onnx-proto directly.
 *
 *   input 'input' [N, 1, 224, 224]
 *   → Conv 7×7/2 → BatchNorm → Relu → MaxPool 3×3/2            (112 → 56)
 *   → Conv 3×3/2 → Relu → Conv 3×3/2 → Relu → Conv 3×3/2        (28 → 14 → 7)
 *   → BatchNorm (norm5) = 'features' [N, K, 7, 7]               (intermediate, NOT a graph output)
 *   → Relu → GlobalAveragePool → Flatten
 *   → Gemm transB=1 ('classifier.weight' [18, K], 'classifier.bias' [18]) → 'logits' [N, 18]
 *
 * No sigmoid in the graph (like DenseNet exports): the manifest says outputIs 'logits' and
 * multiLabel true. The runtime must add 'features' as an output itself for Grad-CAM.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import type { ModelManifest } from '../../processors/shared/model-manifest';
import { seededRandom } from './seeded-random';

/** NIH ChestX-ray14 findings plus four CheXpert-style ones: 18 labels. */
export const BYOM_LABELS = [
  'Atelectasis',
  'Cardiomegaly',
  'Effusion',
  'Infiltration',
  'Mass',
  'Nodule',
  'Pneumonia',
  'Pneumothorax',
  'Consolidation',
  'Edema',
  'Emphysema',
  'Fibrosis',
  'Pleural_Thickening',
  'Hernia',
  'Lung Lesion',
  'Fracture',
  'Lung Opacity',
  'Enlarged Cardiomediastinum',
];

/** Channels of the 'features' tensor. */
export const BYOM_FEATURES = 32;

export function byomManifest(): ModelManifest {
  return {
    name: 'byom-densenet',
    version: '1',
    task: 'image-classification',
    multiLabel: true,
    input: { height: 224, width: 224, channels: 1 },
    preprocessing: {
      resize: 'stretch',
      window: { mode: 'none' },
      normalization: { mean: 0.5, std: 0.25 },
    },
    labels: [...BYOM_LABELS],
    gradcam: {
      targetLayer: 'features',
      onnxTensor: 'features',
      head: { type: 'gap-dense', weights: 'classifier.weight', weightsLayout: 'CK', relu: true },
    },
    batching: { maxBatchSize: 4, maxQueueDelayMs: 5 },
    artifacts: { onnx: 'model.onnx' },
    onnx: { inputName: 'input', layout: 'NCHW', outputName: 'logits', outputIs: 'logits' },
    syntheticTrainingData: true,
    disclaimer: 'randomly initialised test model — not for clinical use',
  };
}

function floatTensor(name: string, dims: number[], data: Float32Array): onnx.ITensorProto {
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { name, dataType: onnx.TensorProto.DataType.FLOAT, dims, rawData: raw };
}

const T = onnx.AttributeProto.AttributeType;
const ints = (name: string, v: number[]): onnx.IAttributeProto => ({ name, type: T.INTS, ints: v });
const int = (name: string, v: number): onnx.IAttributeProto => ({ name, type: T.INT, i: v });
const float = (name: string, v: number): onnx.IAttributeProto => ({ name, type: T.FLOAT, f: v });

/** The model bytes (seeded, so the same every call). */
export function buildDenseNetLikeOnnx(seed = 121): Uint8Array {
  const random = seededRandom(seed);
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  const uniform = (n: number, scale: number) =>
    Float32Array.from({ length: n }, () => random() * scale);

  let current = 'input';
  let channels = 1;
  const node = (
    opType: string,
    scope: string,
    inputs: string[],
    attribute: onnx.IAttributeProto[] = [],
    output = `/${scope}/${opType}_output_0`,
  ) => {
    nodes.push({ opType, name: `/${scope}/${opType}`, input: inputs, output: [output], attribute });
    current = output;
    return output;
  };
  const conv = (scope: string, out: number, k: number, stride: number, pad: number) => {
    const weight = `${scope}.weight`;
    // He-uniform: keeps activations of the random network in a sane range through the stack
    const fanIn = channels * k * k;
    inits.push(
      floatTensor(weight, [out, channels, k, k], uniform(out * fanIn, Math.sqrt(6 / fanIn))),
    );
    node(
      'Conv',
      scope.replace(/\./g, '/'),
      [current, weight],
      [
        ints('kernel_shape', [k, k]),
        ints('strides', [stride, stride]),
        ints('pads', [pad, pad, pad, pad]),
        ints('dilations', [1, 1]),
        int('group', 1),
      ],
    );
    channels = out;
  };
  const batchNorm = (scope: string, output?: string) => {
    const names = ['weight', 'bias', 'running_mean', 'running_var'].map((p) => `${scope}.${p}`);
    inits.push(
      floatTensor(
        names[0]!,
        [channels],
        uniform(channels, 0.2).map((v) => 1 + v),
      ),
    );
    inits.push(floatTensor(names[1]!, [channels], uniform(channels, 0.1)));
    inits.push(floatTensor(names[2]!, [channels], uniform(channels, 0.1)));
    inits.push(
      floatTensor(
        names[3]!,
        [channels],
        uniform(channels, 0.3).map((v) => 1 + v),
      ),
    );
    node(
      'BatchNormalization',
      scope.replace(/\./g, '/'),
      [current, ...names],
      [float('epsilon', 1e-5)],
      output,
    );
  };

  conv('features.conv0', 8, 7, 2, 3); // 112
  batchNorm('features.norm0');
  node('Relu', 'features/relu0', [current]);
  node(
    'MaxPool',
    'features/pool0',
    [current],
    [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), ints('pads', [1, 1, 1, 1])],
  ); // 56
  conv('features.transition1.conv', 16, 3, 2, 1); // 28
  node('Relu', 'features/transition1/relu', [current]);
  conv('features.transition2.conv', 24, 3, 2, 1); // 14
  node('Relu', 'features/transition2/relu', [current]);
  conv('features.transition3.conv', BYOM_FEATURES, 3, 2, 1); // 7
  batchNorm('features.norm5', 'features');
  node('Relu', 'relu', ['features']);
  node('GlobalAveragePool', 'pool', [current]);
  node('Flatten', 'flatten', [current], [int('axis', 1)]);
  const classes = BYOM_LABELS.length;
  inits.push(
    floatTensor(
      'classifier.weight',
      [classes, BYOM_FEATURES],
      uniform(classes * BYOM_FEATURES, 0.4),
    ),
  );
  inits.push(floatTensor('classifier.bias', [classes], uniform(classes, 0.5)));
  node(
    'Gemm',
    'classifier',
    [current, 'classifier.weight', 'classifier.bias'],
    [float('alpha', 1), float('beta', 1), int('transB', 1)],
    'logits',
  );

  const tensorType = (dims: (number | string)[]): onnx.ITypeProto => ({
    tensorType: {
      elemType: onnx.TensorProto.DataType.FLOAT,
      shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
    },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'pytorch',
    producerVersion: '2.1.0',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'main_graph',
      node: nodes,
      initializer: inits,
      input: [{ name: 'input', type: tensorType(['batch_size', 1, 224, 224]) }],
      output: [{ name: 'logits', type: tensorType(['batch_size', classes]) }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Writes model.onnx and manifest.json into `dir` (created if needed). */
export function writeDenseNetLikeOnnx(dir: string): { manifestPath: string; onnxPath: string } {
  mkdirSync(dir, { recursive: true });
  const onnxPath = join(dir, 'model.onnx');
  const manifestPath = join(dir, 'manifest.json');
  writeFileSync(onnxPath, buildDenseNetLikeOnnx());
  writeFileSync(manifestPath, JSON.stringify(byomManifest(), null, 2) + '\n');
  return { manifestPath, onnxPath };
}
