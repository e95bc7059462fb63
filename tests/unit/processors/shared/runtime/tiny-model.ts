import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ModelManifest } from '../../../../../processors/shared/model-manifest';
import { fileSystemSaveHandler } from '../../../../../processors/shared/runtime/tfjs-fs-io';
import { seededRandom } from '../../../../helpers/seeded-random';

export interface TinyModelOptions {
  seed?: number;
  height?: number;
  width?: number;
  channels?: 1 | 3;
  classes?: number;
  /** softmax / sigmoid inside the Dense, 'activation-softmax' as a separate Activation layer, or linear. */
  head?: 'dense-softmax' | 'dense-sigmoid' | 'activation-softmax' | 'linear';
}

export const TINY = { target: 'target_conv', dense: 'head_dense' };

/**
 * input [H, W, C] → conv 3x3 (4, relu) → conv 3x3 stride 2 (6, relu) 'target_conv' → GAP →
 * Dense(classes) 'head_dense' [→ Activation]. Weights from a seeded PRNG.
 */
export function buildTinyModel(options: TinyModelOptions = {}): tf.LayersModel {
  const {
    seed = 7,
    height = 16,
    width = 16,
    channels = 1,
    classes = 3,
    head = 'dense-softmax',
  } = options;
  tf.env().set('PROD', true); // no console advice to install tfjs-node
  const input = tf.input({ shape: [height, width, channels], name: 'image' });
  let x = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv_a' })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({
      filters: 6,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      name: TINY.target,
    })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const denseActivation =
    head === 'dense-softmax' ? 'softmax' : head === 'dense-sigmoid' ? 'sigmoid' : 'linear';
  x = tf.layers
    .dense({ units: classes, activation: denseActivation, name: TINY.dense })
    .apply(x) as tf.SymbolicTensor;
  if (head === 'activation-softmax')
    x = tf.layers
      .activation({ activation: 'softmax', name: 'probs' })
      .apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x, name: 'tiny' });
  const random = seededRandom(seed);
  model.setWeights(
    model.getWeights().map((w) => {
      const values = Float32Array.from(
        { length: w.size },
        () => random() * 0.6 + (w.rank === 1 ? 0.05 : 0),
      );
      return tf.tensor(values, w.shape);
    }),
  );
  return model;
}

export function tinyManifest(
  name: string,
  version: string,
  options: TinyModelOptions & { onnx?: boolean } = {},
): ModelManifest {
  const { height = 16, width = 16, channels = 1, classes = 3, head = 'dense-softmax' } = options;
  return {
    name,
    version,
    task: 'image-classification',
    multiLabel: head === 'dense-sigmoid',
    input: { height, width, channels },
    preprocessing: {
      resize: 'stretch',
      window: { mode: 'none' },
      normalization: { mean: 0, std: 1 },
    },
    labels: Array.from({ length: classes }, (_, i) => `class${i}`),
    gradcam: {
      targetLayer: TINY.target,
      ...(options.onnx
        ? {
            onnxTensor: TINY.target,
            head: {
              type: 'gap-dense' as const,
              weights: `${TINY.dense}/kernel`,
              weightsLayout: 'KC' as const,
            },
          }
        : {}),
    },
    batching: { maxBatchSize: 8, maxQueueDelayMs: 5 },
    artifacts: { tfjs: 'model.json', ...(options.onnx ? { onnx: 'model.onnx' } : {}) },
    ...(options.onnx
      ? {
          onnx: {
            inputName: 'input',
            layout: 'NCHW' as const,
            outputName: 'logits',
            outputIs: 'logits' as const,
          },
        }
      : {}),
    syntheticTrainingData: true,
  };
}

/** Saves `model` as model.json + shard into `dir` and writes `manifest`. */
export async function writeTinyModelDir(
  dir: string,
  model: tf.LayersModel,
  manifest: ModelManifest,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(fileSystemSaveHandler(dir));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
}

/** `n` seeded NHWC inputs. */
export function tinyInputs(n: number, size: number, seed = 99): Float32Array[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: size }, () => random()));
}
