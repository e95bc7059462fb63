import * as tf from '@tensorflow/tfjs';
import { installFastConvKernels } from '../../../models/training/fast-conv-kernels';

/**
 * The training-only replacements of the tfjs 'cpu' convolution kernels must compute what the
 * originals compute: forward (plain and fused), both gradients, max-pool gradient, bias sum.
 */
function run(): Float32Array[] {
  const out: Float32Array[] = [];
  for (const ci of [1, 5, 8])
    for (const [h, w] of [
      [9, 7],
      [12, 13],
    ] as const) {
      const x = tf.randomNormal([2, h, w, ci], 0, 1, 'float32', 1) as tf.Tensor4D;
      const f = tf.randomNormal([3, 3, ci, 6], 0, 1, 'float32', 2) as tf.Tensor4D;
      const b = tf.randomNormal([6], 0, 1, 'float32', 3) as tf.Tensor1D;
      for (const pad of ['same', 'valid'] as const)
        for (const s of [1, 2] as const) {
          const fn = (xx: tf.Tensor4D, ff: tf.Tensor4D, bb: tf.Tensor1D) =>
            tf.maxPool(tf.relu(tf.add(tf.conv2d(xx, ff, s, pad), bb)) as tf.Tensor4D, 2, 2, pad);
          const y = fn(x, f, b);
          const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 5);
          const grads = tf.grads((xx, ff, bb) =>
            fn(xx as tf.Tensor4D, ff as tf.Tensor4D, bb as tf.Tensor1D)
              .mul(dy)
              .sum(),
          )([x, f, b]);
          out.push(
            y.dataSync() as Float32Array,
            ...grads.map((g) => g.dataSync() as Float32Array),
            tf.fused
              .conv2d({ x, filter: f, bias: b, strides: s, pad, activation: 'relu' })
              .dataSync() as Float32Array,
            tf.sum(x, [0, 1, 2]).dataSync() as Float32Array,
            tf.sum(x, [0, 1, 2], true).dataSync() as Float32Array,
          );
        }
    }
  return out;
}

describe('fast conv kernels (training only)', () => {
  it('match the original cpu kernels', async () => {
    tf.env().set('PROD', true);
    await tf.setBackend('cpu');
    await tf.ready();
    const reference = run();
    installFastConvKernels();
    installFastConvKernels(); // idempotent
    const fast = run();
    expect(fast).toHaveLength(reference.length);
    let worst = 0;
    reference.forEach((r, i) => {
      expect(fast[i]).toHaveLength(r.length);
      r.forEach((v, j) => {
        worst = Math.max(worst, Math.abs(v - fast[i]![j]!) / Math.max(1, Math.abs(v)));
      });
    });
    expect(worst).toBeLessThan(1e-5);
  });
});
