/**
 * Faster 'cpu'-backend kernels for NHWC 2-D convolution and its two gradients, used only while
 * training the demo model.
 *
 * tfjs 4.22's pure-JS 'cpu' backend computes Conv2DBackpropFilter with one TensorBuffer.get()
 * per multiply-add (measured ~85 s for one 3×3 16→32 conv on a 32×64×64 batch on this machine),
 * which makes training a small CNN take hours. These replacements are plain loops over the
 * flat Float32Arrays, accumulate in float64 where sums are long, and visit elements in a fixed
 * order, so results are deterministic from run to run. Anything they do not handle (NCHW,
 * dilation > 1, activations other than linear/relu, PReLU weights, odd bias shapes) falls back
 * to the original kernel.
 */
import * as tf from '@tensorflow/tfjs';

interface CpuBackendLike {
  data: { get(dataId: unknown): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo;
}

type KernelArgs = {
  inputs: Record<string, tf.TensorInfo | undefined>;
  backend: unknown;
  attrs?: Record<string, unknown>;
};

type ConvInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

function values(backend: unknown, t: tf.TensorInfo): Float32Array {
  const v = (backend as CpuBackendLike).data.get(t.dataId).values;
  if (!(v instanceof Float32Array)) throw new Error('fast conv kernels: expected float32 data');
  return v;
}

function isNhwc(dataFormat: unknown): boolean {
  return dataFormat === undefined || dataFormat === 'NHWC' || dataFormat === 'channelsLast';
}

function dilationsAreOne(d: unknown): boolean {
  if (d === undefined || d === null) return true;
  if (typeof d === 'number') return d === 1;
  return Array.isArray(d) && d.every((v) => v === 1);
}

function convInfoOf(
  xShape: number[],
  filterShape: number[],
  attrs: Record<string, unknown>,
): ConvInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
}

/** y = conv(x, w) (+ bias) (relu?), NHWC, w HWIO. Input channels are taken four at a time. */
function convForward(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  relu: boolean,
  c: ConvInfo,
): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels: ci, outHeight, outWidth, outChannels: co } = c;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = c;
  const top = c.padInfo.top;
  const left = c.padInfo.left;
  const out = new Float32Array(batchSize * outHeight * outWidth * co);
  const acc = new Float64Array(co);
  const ci4 = ci - (ci % 4);
  for (let n = 0; n < batchSize; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        if (bias) for (let k = 0; k < co; k++) acc[k] = bias[k]!;
        else acc.fill(0);
        for (let ky = 0; ky < fh; ky++) {
          const iy = oy * sh - top + ky;
          if (iy < 0 || iy >= inHeight) continue;
          for (let kx = 0; kx < fw; kx++) {
            const ix = ox * sw - left + kx;
            if (ix < 0 || ix >= inWidth) continue;
            const xOff = ((n * inHeight + iy) * inWidth + ix) * ci;
            const wBase = (ky * fw + kx) * ci * co;
            let i = 0;
            for (; i < ci4; i += 4) {
              const x0 = x[xOff + i]!;
              const x1 = x[xOff + i + 1]!;
              const x2 = x[xOff + i + 2]!;
              const x3 = x[xOff + i + 3]!;
              if (x0 === 0 && x1 === 0 && x2 === 0 && x3 === 0) continue;
              const w0 = wBase + i * co;
              const w1 = w0 + co;
              const w2 = w1 + co;
              const w3 = w2 + co;
              for (let k = 0; k < co; k++)
                acc[k] =
                  acc[k]! + x0 * w[w0 + k]! + x1 * w[w1 + k]! + x2 * w[w2 + k]! + x3 * w[w3 + k]!;
            }
            for (; i < ci; i++) {
              const xv = x[xOff + i]!;
              if (xv === 0) continue;
              const wOff = wBase + i * co;
              for (let k = 0; k < co; k++) acc[k] = acc[k]! + xv * w[wOff + k]!;
            }
          }
        }
        const oOff = ((n * outHeight + oy) * outWidth + ox) * co;
        for (let k = 0; k < co; k++) {
          const v = acc[k]!;
          out[oOff + k] = relu && v < 0 ? 0 : v;
        }
      }
    }
  }
  return out;
}

function allZero(a: Float32Array, off: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (a[off + k] !== 0) return false;
  return true;
}

/** dL/dx given dL/dy. Input channels are taken four at a time. */
function convBackpropInput(dy: Float32Array, w: Float32Array, c: ConvInfo): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels: ci, outHeight, outWidth, outChannels: co } = c;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = c;
  const top = c.padInfo.top;
  const left = c.padInfo.left;
  const dx = new Float64Array(batchSize * inHeight * inWidth * ci);
  const ci4 = ci - (ci % 4);
  for (let n = 0; n < batchSize; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        const dyOff = ((n * outHeight + oy) * outWidth + ox) * co;
        if (allZero(dy, dyOff, co)) continue;
        for (let ky = 0; ky < fh; ky++) {
          const iy = oy * sh - top + ky;
          if (iy < 0 || iy >= inHeight) continue;
          for (let kx = 0; kx < fw; kx++) {
            const ix = ox * sw - left + kx;
            if (ix < 0 || ix >= inWidth) continue;
            const xOff = ((n * inHeight + iy) * inWidth + ix) * ci;
            const wBase = (ky * fw + kx) * ci * co;
            let i = 0;
            for (; i < ci4; i += 4) {
              const w0 = wBase + i * co;
              const w1 = w0 + co;
              const w2 = w1 + co;
              const w3 = w2 + co;
              let s0 = 0;
              let s1 = 0;
              let s2 = 0;
              let s3 = 0;
              for (let k = 0; k < co; k++) {
                const g = dy[dyOff + k]!;
                s0 += g * w[w0 + k]!;
                s1 += g * w[w1 + k]!;
                s2 += g * w[w2 + k]!;
                s3 += g * w[w3 + k]!;
              }
              dx[xOff + i] = dx[xOff + i]! + s0;
              dx[xOff + i + 1] = dx[xOff + i + 1]! + s1;
              dx[xOff + i + 2] = dx[xOff + i + 2]! + s2;
              dx[xOff + i + 3] = dx[xOff + i + 3]! + s3;
            }
            for (; i < ci; i++) {
              const wOff = wBase + i * co;
              let s = 0;
              for (let k = 0; k < co; k++) s += dy[dyOff + k]! * w[wOff + k]!;
              dx[xOff + i] = dx[xOff + i]! + s;
            }
          }
        }
      }
    }
  }
  return Float32Array.from(dx);
}

/**
 * dL/dw given x and dL/dy. For each filter tap, output positions along a row are taken four at
 * a time so that each dw row is read and written once per four products.
 */
function convBackpropFilter(x: Float32Array, dy: Float32Array, c: ConvInfo): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels: ci, outHeight, outWidth, outChannels: co } = c;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = c;
  const top = c.padInfo.top;
  const left = c.padInfo.left;
  const dw = new Float64Array(fh * fw * ci * co);
  for (let n = 0; n < batchSize; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ky = 0; ky < fh; ky++) {
        const iy = oy * sh - top + ky;
        if (iy < 0 || iy >= inHeight) continue;
        for (let kx = 0; kx < fw; kx++) {
          // output columns whose input column ox*sw - left + kx is inside the image
          const oxLo = Math.max(0, Math.ceil((left - kx) / sw));
          const oxHi = Math.min(outWidth, Math.floor((inWidth - 1 + left - kx) / sw) + 1);
          const wBase = (ky * fw + kx) * ci * co;
          const rowX = (n * inHeight + iy) * inWidth;
          const rowDy = (n * outHeight + oy) * outWidth;
          let ox = oxLo;
          for (; ox + 4 <= oxHi; ox += 4) {
            const xa = (rowX + ox * sw - left + kx) * ci;
            const xb = xa + sw * ci;
            const xc = xb + sw * ci;
            const xd = xc + sw * ci;
            const ga = (rowDy + ox) * co;
            const gb = ga + co;
            const gc = gb + co;
            const gd = gc + co;
            for (let i = 0; i < ci; i++) {
              const va = x[xa + i]!;
              const vb = x[xb + i]!;
              const vc = x[xc + i]!;
              const vd = x[xd + i]!;
              if (va === 0 && vb === 0 && vc === 0 && vd === 0) continue;
              const wOff = wBase + i * co;
              for (let k = 0; k < co; k++)
                dw[wOff + k] =
                  dw[wOff + k]! +
                  va * dy[ga + k]! +
                  vb * dy[gb + k]! +
                  vc * dy[gc + k]! +
                  vd * dy[gd + k]!;
            }
          }
          for (; ox < oxHi; ox++) {
            const xa = (rowX + ox * sw - left + kx) * ci;
            const ga = (rowDy + ox) * co;
            for (let i = 0; i < ci; i++) {
              const va = x[xa + i]!;
              if (va === 0) continue;
              const wOff = wBase + i * co;
              for (let k = 0; k < co; k++) dw[wOff + k] = dw[wOff + k]! + va * dy[ga + k]!;
            }
          }
        }
      }
    }
  }
  return Float32Array.from(dw);
}

/** Max-pool gradient (NHWC, no dilation): dy goes to the first maximum of each window. */
function maxPoolGrad(
  x: Float32Array,
  dy: Float32Array,
  p: ReturnType<typeof tf.backend_util.computePool2DInfo>,
): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth } = p;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = p;
  const top = p.padInfo.top;
  const left = p.padInfo.left;
  const dx = new Float32Array(batchSize * inHeight * inWidth * ch);
  for (let n = 0; n < batchSize; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = oy * sh - top;
      const yLo = Math.max(0, y0);
      const yHi = Math.min(inHeight, y0 + fh);
      for (let ox = 0; ox < outWidth; ox++) {
        const x0 = ox * sw - left;
        const xLo = Math.max(0, x0);
        const xHi = Math.min(inWidth, x0 + fw);
        const dyOff = ((n * outHeight + oy) * outWidth + ox) * ch;
        for (let d = 0; d < ch; d++) {
          let best = -Infinity;
          let at = -1;
          for (let yy = yLo; yy < yHi; yy++) {
            for (let xx = xLo; xx < xHi; xx++) {
              const idx = ((n * inHeight + yy) * inWidth + xx) * ch + d;
              const v = x[idx]!;
              if (v > best) {
                best = v;
                at = idx;
              }
            }
          }
          if (at >= 0) dx[at] = dx[at]! + dy[dyOff + d]!;
        }
      }
    }
  }
  return dx;
}

/** Sum of a [rows, cols] view over its rows (axes = all but the last), in float64. */
function sumLeading(x: Float32Array, cols: number): Float32Array {
  const acc = new Float64Array(cols);
  for (let off = 0; off < x.length; off += cols)
    for (let k = 0; k < cols; k++) acc[k] = acc[k]! + x[off + k]!;
  return Float32Array.from(acc);
}

let installed = false;

/**
 * Replace the 'cpu' backend's Conv2D, FusedConv2D, Conv2DBackpropInput, Conv2DBackpropFilter and
 * MaxPoolGrad kernels, and Sum over all-but-the-last axis (a conv bias gradient), with the loops
 * above (idempotent). Call after tf.setBackend('cpu').
 */
export function installFastConvKernels(): void {
  if (installed) return;
  installed = true;
  const replace = (name: string, make: (orig: tf.KernelFunc) => tf.KernelFunc) => {
    const orig = tf.getKernel(name, 'cpu');
    if (!orig) throw new Error(`fast conv kernels: no cpu kernel ${name} to replace`);
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({ kernelName: name, backendName: 'cpu', kernelFunc: make(orig.kernelFunc) });
  };

  replace('Conv2D', (orig) => (args) => {
    const { inputs, backend, attrs = {} } = args as unknown as KernelArgs;
    const x = inputs.x!;
    const filter = inputs.filter!;
    if (!isNhwc(attrs.dataFormat) || !dilationsAreOne(attrs.dilations)) return orig(args);
    const c = convInfoOf(x.shape, filter.shape, attrs);
    const out = convForward(values(backend, x), values(backend, filter), null, false, c);
    return (backend as CpuBackendLike).makeTensorInfo(c.outShape, 'float32', out);
  });

  replace('FusedConv2D', (orig) => (args) => {
    const { inputs, backend, attrs = {} } = args as unknown as KernelArgs;
    const x = inputs.x!;
    const filter = inputs.filter!;
    const bias = inputs.bias;
    const activation = (attrs.activation as string | undefined) ?? 'linear';
    const outChannels = filter.shape[3]!;
    const biasOk = !bias || bias.shape.reduce((a, b) => a * b, 1) === outChannels;
    if (
      !isNhwc(attrs.dataFormat) ||
      !dilationsAreOne(attrs.dilations) ||
      inputs.preluActivationWeights ||
      (activation !== 'linear' && activation !== 'relu') ||
      !biasOk
    )
      return orig(args);
    const c = convInfoOf(x.shape, filter.shape, attrs);
    const out = convForward(
      values(backend, x),
      values(backend, filter),
      bias ? values(backend, bias) : null,
      activation === 'relu',
      c,
    );
    return (backend as CpuBackendLike).makeTensorInfo(c.outShape, 'float32', out);
  });

  replace('Conv2DBackpropInput', (orig) => (args) => {
    const { inputs, backend, attrs = {} } = args as unknown as KernelArgs;
    const dy = inputs.dy!;
    const filter = inputs.filter!;
    if (!isNhwc(attrs.dataFormat)) return orig(args);
    const inputShape = attrs.inputShape as number[];
    const c = convInfoOf(inputShape, filter.shape, attrs);
    const dx = convBackpropInput(values(backend, dy), values(backend, filter), c);
    return (backend as CpuBackendLike).makeTensorInfo(inputShape, 'float32', dx);
  });

  replace('Conv2DBackpropFilter', (orig) => (args) => {
    const { inputs, backend, attrs = {} } = args as unknown as KernelArgs;
    const x = inputs.x!;
    const dy = inputs.dy!;
    if (!isNhwc(attrs.dataFormat)) return orig(args);
    const filterShape = attrs.filterShape as number[];
    const c = convInfoOf(x.shape, filterShape, attrs);
    const dw = convBackpropFilter(values(backend, x), values(backend, dy), c);
    return (backend as CpuBackendLike).makeTensorInfo(filterShape, 'float32', dw);
  });

  replace('MaxPoolGrad', (orig) => (args) => {
    const { inputs, backend, attrs = {} } = args as unknown as KernelArgs;
    const dy = inputs.dy!;
    const x = inputs.input!;
    if (x.dtype !== 'float32') return orig(args);
    const p = tf.backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterSize as [number, number] | number,
      attrs.strides as [number, number] | number,
      1,
      attrs.pad as 'same' | 'valid' | number,
      attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    );
    const dx = maxPoolGrad(values(backend, x), values(backend, dy), p);
    return (backend as CpuBackendLike).makeTensorInfo(x.shape, 'float32', dx);
  });

  replace('Sum', (orig) => (args) => {
    const { inputs, backend, attrs = {} } = args as unknown as KernelArgs;
    const x = inputs.x!;
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
    const leading = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32') return orig(args);
    const cols = x.shape[rank - 1]!;
    const out = sumLeading(values(backend, x), cols);
    const shape = attrs.keepDims ? [...x.shape.slice(0, -1).map(() => 1), cols] : [cols];
    return (backend as CpuBackendLike).makeTensorInfo(shape, 'float32', out);
  });
}
