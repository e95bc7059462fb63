import { EngineError } from '../../../engine/errors';
import type { ModelManifest } from '../model-manifest';

// The runtime-neutral half of the classifier contract: what every runtime returns and the checks
// every runtime makes. onnx-runtime.ts and tfjs-runtime.ts import this file; classifier.ts chooses
// between them, so the runtimes never import the file that loads them.

/**
 * One loaded model version, ready to classify preprocessed images.
 *
 * Lifecycle: `loadClassifier` (reads artifacts, builds sessions/graphs) → any number of
 * `classify` calls, concurrently allowed → `dispose` once (no call may be in flight; the model
 * repository guarantees that for the runtimes it hands out).
 *
 * Failure: a batch either resolves with one output per input, in order, or rejects with an
 * EngineError `PROCESSING_FAILED` naming the model and the cause. Isolating the bad item of a
 * failed batch (re-running items one by one) is the caller's job (see DynamicBatcher).
 */
export interface ClassifierRuntime {
  readonly kind: 'onnx' | 'tfjs';
  /** What executes the model: 'cpu' | 'wasm' | 'tensorflow' (tfjs) or the ONNX execution provider. */
  readonly backend: string;
  readonly device: 'cpu' | 'gpu';
  /** Human-readable detail of the backend choice (e.g. "wasm simd", "tried cuda: …, using cpu"). */
  readonly backendDetail?: string;
  /** true when `classify(…, { gradcam: true })` is supported by this runtime and manifest. */
  readonly gradcamAvailable: boolean;
  classify(batch: Float32Array[], options?: ClassifyOptions): Promise<ClassifierOutput[]>;
  dispose(): Promise<void>;
}

export interface ClassifyOptions {
  gradcam?: boolean;
  /**
   * Per item, the class the Grad-CAM explains; undefined = the top class (highest logit) — for
   * softmax and multi-label models alike.
   */
  classIndex?: (number | undefined)[];
}

export interface ClassifierOutput {
  /**
   * Pre-activation class scores. When an ONNX model only outputs probabilities, these are the
   * inverse link of them (log p for softmax, up to a constant; logit(p) for sigmoid).
   */
  logits: Float32Array;
  /** softmax (multiLabel false) or sigmoid (true) of the logits; as given by an ONNX model whose outputIs is 'probabilities'. */
  probabilities: Float32Array;
  /** Present when Grad-CAM was requested. */
  cam?: GradCam;
}

export interface GradCam {
  /** h*w, row-major, ReLU'd raw Grad-CAM (Σ_k α_k A_k) — not normalised. */
  data: Float32Array;
  height: number;
  width: number;
  /** The class it explains. */
  classIndex: number;
}

/** Checks a batch against the manifest's input geometry; throws PROCESSING_FAILED naming the item. */
export function checkBatch(
  manifest: ModelManifest,
  batch: Float32Array[],
  options: ClassifyOptions | undefined,
): void {
  const ref = `${manifest.name}@${manifest.version}`;
  const { height, width, channels } = manifest.input;
  const expected = height * width * channels;
  if (batch.length === 0) throw new EngineError('PROCESSING_FAILED', `${ref}: empty batch`);
  batch.forEach((item, i) => {
    if (!(item instanceof Float32Array) || item.length !== expected)
      throw new EngineError(
        'PROCESSING_FAILED',
        `${ref}: batch item ${i} has ${item?.length ?? 'no'} values, expected ${height}x${width}x${channels} = ${expected} (NHWC float32)`,
      );
  });
  const classes = options?.classIndex;
  if (classes) {
    if (classes.length !== batch.length)
      throw new EngineError(
        'PROCESSING_FAILED',
        `${ref}: classIndex has ${classes.length} entries for a batch of ${batch.length}`,
      );
    classes.forEach((c, i) => {
      if (c !== undefined && !(Number.isInteger(c) && c >= 0 && c < manifest.labels.length))
        throw new EngineError(
          'PROCESSING_FAILED',
          `${ref}: classIndex[${i}] = ${c} is not a class index (0..${manifest.labels.length - 1})`,
        );
    });
  }
}

export function softmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp((logits[i] as number) - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / sum;
  return out;
}

export function sigmoid(logits: Float32Array): Float32Array {
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i] as number;
    // Two forms so that neither exp overflows.
    out[i] = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
  }
  return out;
}

/** The inverse link of softmax (log p, up to a constant) or sigmoid (logit p). */
export function logitsFromProbabilities(p: Float32Array, multiLabel: boolean): Float32Array {
  const out = new Float32Array(p.length);
  const eps = 1e-12;
  for (let i = 0; i < p.length; i++) {
    const v = Math.min(1 - eps, Math.max(eps, p[i] as number));
    out[i] = multiLabel ? Math.log(v / (1 - v)) : Math.log(v);
  }
  return out;
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++)
    if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}

/**
 * The contract checks every runtime's `classify` makes, around its own `run`: not disposed, a
 * batch that fits the manifest (checkBatch), Grad-CAM only where available; any error that is
 * not already an EngineError becomes PROCESSING_FAILED naming the model and the runtime.
 */
export async function guardedClassify(
  manifest: ModelManifest,
  runtime: {
    name: string;
    disposed: boolean;
    gradcamAvailable: boolean;
    /** Why Grad-CAM is unavailable, in the manifest's terms. */
    noGradcam: string;
    /** The cause as shown in the message (e.g. its first line). */
    describe: (err: unknown) => string;
  },
  batch: Float32Array[],
  options: ClassifyOptions,
  run: () => Promise<ClassifierOutput[]>,
): Promise<ClassifierOutput[]> {
  const ref = `${manifest.name}@${manifest.version}`;
  if (runtime.disposed)
    throw new EngineError('PROCESSING_FAILED', `${ref}: runtime already disposed`);
  checkBatch(manifest, batch, options);
  if (options.gradcam && !runtime.gradcamAvailable)
    throw new EngineError(
      'PROCESSING_FAILED',
      `${ref}: Grad-CAM requested but ${runtime.noGradcam}`,
    );
  try {
    return await run();
  } catch (err) {
    if (err instanceof EngineError) throw err;
    throw new EngineError(
      'PROCESSING_FAILED',
      `${ref}: ${runtime.name} inference failed: ${runtime.describe(err)}`,
      { cause: err },
    );
  }
}
