/** The demo classifier's architecture and manifest (shared by training and tests). */
import * as tf from '@tensorflow/tfjs';
import type { ModelManifest } from '../../processors/shared/model-manifest';
import { PHANTOM_LABELS } from './phantom';

export const DISCLAIMER = 'synthetic training data — not for clinical use';
/** Seed of the first layer's Glorot initializer; later layers use the following integers. */
export const WEIGHT_SEED = 20200505;

export function cxrManifest(size: number): ModelManifest {
  return {
    name: 'cxr-demo',
    version: '1.0.0',
    task: 'image-classification',
    multiLabel: false,
    input: { height: size, width: size, channels: 1 },
    preprocessing: {
      resize: 'stretch',
      window: { mode: 'percentile', low: 0.5, high: 99.5 },
      normalization: { mean: 0.5, std: 0.5 },
    },
    labels: [...PHANTOM_LABELS],
    positiveLabel: 'covid19',
    gradcam: {
      targetLayer: 'gradcam_target',
      onnxTensor: 'gradcam_target',
      head: { type: 'gap-dense', weights: 'logits/kernel', weightsLayout: 'KC', relu: false },
    },
    batching: { maxBatchSize: 16, maxQueueDelayMs: 10 },
    artifacts: { tfjs: 'model.json', onnx: 'model.onnx' },
    onnx: { inputName: 'image', layout: 'NCHW', outputName: 'logits', outputIs: 'logits' },
    syntheticTrainingData: true,
    disclaimer: DISCLAIMER,
  };
}

/**
 * conv1 (3×3, 16) → pool1 → conv2 (3×3, 32) → pool2 → conv3 (3×3, 32) → pool3 →
 * gradcam_target (5×5, 64) → gap → logits (Dense 3) → probabilities (softmax); all convs 'same'
 * padding with ReLU. Weights are initialised from fixed seeds (Glorot uniform kernels, zero
 * biases).
 *
 * Compared with the first sketch (two pools, 3×3 target), the third conv + pool and the 5×5
 * target widen the receptive field of a Grad-CAM cell to 54 px: with 3×3 only (18 or 38 px) the
 * net did not get past chance within the time budget, because at that scale a consolidation's
 * edge looks like any lung border (measured; see MODEL_CARD.md).
 */
export function buildModel(size: number): tf.LayersModel {
  let seed = WEIGHT_SEED;
  const conv = (name: string, filters: number, kernelSize = 3) =>
    tf.layers.conv2d({
      name,
      filters,
      kernelSize,
      strides: 1,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }),
      biasInitializer: 'zeros',
    });
  const pool = (name: string) => tf.layers.maxPooling2d({ name, poolSize: 2, strides: 2 });
  const input = tf.input({ shape: [size, size, 1], name: 'image' });
  let x = conv('conv1', 16).apply(input) as tf.SymbolicTensor;
  x = pool('pool1').apply(x) as tf.SymbolicTensor;
  x = conv('conv2', 32).apply(x) as tf.SymbolicTensor;
  x = pool('pool2').apply(x) as tf.SymbolicTensor;
  x = conv('conv3', 32).apply(x) as tf.SymbolicTensor;
  x = pool('pool3').apply(x) as tf.SymbolicTensor;
  x = conv('gradcam_target', 64, 5).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .dense({
      name: 'logits',
      units: PHANTOM_LABELS.length,
      activation: 'linear',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }),
      biasInitializer: 'zeros',
    })
    .apply(x) as tf.SymbolicTensor;
  const out = tf.layers
    .activation({ name: 'probabilities', activation: 'softmax' })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ name: 'cxr_demo', inputs: input, outputs: out });
}
