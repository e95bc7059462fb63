import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { EngineError, toEngineError } from '../../../engine/errors';
import type { ModelManifest } from '../model-manifest';
import {
  argmax,
  guardedClassify,
  sigmoid,
  softmax,
  type ClassifierOutput,
  type ClassifierRuntime,
  type ClassifyOptions,
} from './classifier-types';
import { fileSystemLoadHandler, insideDir } from './tfjs-fs-io';

export type TfjsBackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface TfjsBackendChoice {
  /** tfjs backend name: 'tensorflow' (tfjs-node / tfjs-node-gpu), 'wasm' or 'cpu'. */
  backend: 'tensorflow' | 'wasm' | 'cpu';
  device: 'cpu' | 'gpu';
  /** What was tried and why it was not used, plus wasm SIMD/threads. */
  detail: string;
}

// ---------------------------------------------------------------------------------------------
// Backend selection. tfjs has one global "current backend"; every tfjs runtime in the process
// runs its work through `exclusive`, which switches to the runtime's backend first, so two
// runtimes on different backends (e.g. a parity test) never interleave. In production one
// backend serves every model and the switch is a no-op.
// ---------------------------------------------------------------------------------------------

let queue: Promise<unknown> = Promise.resolve();

/** Runs `work` after all earlier tfjs work, with `backend` active (null: leave it as it is). */
async function exclusive<T>(backend: string | null, work: () => Promise<T>): Promise<T> {
  const run = queue.then(async () => {
    if (backend !== null && tf.getBackend() !== backend && !(await tf.setBackend(backend)))
      throw new EngineError(
        'PROCESSING_FAILED',
        `tfjs backend '${backend}' could not be activated`,
      );
    return work();
  });
  queue = run.catch(() => undefined);
  return run;
}

const initialised = new Map<string, Promise<TfjsBackendChoice | string>>();

/** Tries one backend; resolves to the choice, or to a reason why it is not available. */
function initBackend(
  name: 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu',
): Promise<TfjsBackendChoice | string> {
  let pending = initialised.get(name);
  if (!pending) {
    pending = tryBackend(name).catch((err: unknown) =>
      err instanceof Error ? err.message : String(err),
    );
    initialised.set(name, pending);
  }
  return pending;
}

async function tryBackend(
  name: 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu',
): Promise<TfjsBackendChoice | string> {
  // The pure-JS console advice ("install tfjs-node") is misleading here: the choice is reported.
  tf.env().set('PROD', true);
  if (name === 'tensorflow-gpu' || name === 'tensorflow') {
    const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
    try {
      // Optional native backends: not dependencies of medstream, used when the operator installs them.
      require(pkg);
    } catch (err) {
      return `${pkg} not installed (${firstLine(err)})`;
    }
    if (!tf.findBackendFactory('tensorflow'))
      return `${pkg} loaded but registered no 'tensorflow' backend with this @tensorflow/tfjs (version mismatch?)`;
    if (!(await tf.setBackend('tensorflow')))
      return `${pkg}: backend 'tensorflow' failed to initialise`;
    // tfjs-node-gpu runs on the CPU when TensorFlow finds no usable GPU; its backend says which.
    const onGpu = (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
    return {
      backend: 'tensorflow',
      device: onGpu ? 'gpu' : 'cpu',
      detail: onGpu || name === 'tensorflow' ? pkg : `${pkg} (no GPU device found: CPU)`,
    };
  }
  if (name === 'wasm') {
    let wasm: { setWasmPaths: (prefix: string) => void };
    try {
      wasm = require('@tensorflow/tfjs-backend-wasm') as typeof wasm;
    } catch (err) {
      return `@tensorflow/tfjs-backend-wasm not installed (${firstLine(err)})`;
    }
    const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    if (!existsSync(join(dist, 'tfjs-backend-wasm.wasm')))
      return `no tfjs-backend-wasm.wasm in ${dist}`;
    // Node: load the .wasm binaries from the package itself, never over the network.
    wasm.setWasmPaths(dist + '/');
    if (!(await tf.setBackend('wasm'))) return 'wasm backend failed to initialise';
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    return {
      backend: 'wasm',
      device: 'cpu',
      detail: `wasm (simd ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off'})`,
    };
  }
  if (!(await tf.setBackend('cpu'))) return 'cpu backend failed to initialise';
  return { backend: 'cpu', device: 'cpu', detail: 'pure JS' };
}

/**
 * The tfjs backend for `preference`: auto = tfjs-node-gpu, then tfjs-node, then WebAssembly,
 * then pure JS. An explicit preference that cannot be met throws CONFIG_INVALID with the reason.
 */
export async function selectTfjsBackend(
  preference: TfjsBackendPreference = 'auto',
): Promise<TfjsBackendChoice> {
  const order: ('tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu')[] =
    preference === 'auto'
      ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']
      : preference === 'tensorflow'
        ? ['tensorflow-gpu', 'tensorflow']
        : [preference];
  const reasons: string[] = [];
  for (const name of order) {
    // Serialised with the runtimes' work: initialising switches the global backend.
    const result = await exclusive(null, () => initBackend(name));
    if (typeof result !== 'string') {
      return reasons.length
        ? { ...result, detail: `${result.detail}; skipped: ${reasons.join('; ')}` }
        : result;
    }
    reasons.push(result);
  }
  throw new EngineError(
    'CONFIG_INVALID',
    `tfjs backend '${preference}' is not available: ${reasons.join('; ')}`,
  );
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

// ---------------------------------------------------------------------------------------------
// Model analysis: where the logits are, and the split at the Grad-CAM target layer.
// ---------------------------------------------------------------------------------------------

interface ModelPlan {
  /** Input → logits (pre-softmax/sigmoid scores). */
  logitsModel: tf.LayersModel;
  /** Input → A, the target layer's activations [N, h, w, K]. */
  featureModel?: tf.LayersModel;
  /** A → logits, the rest of the network re-applied to a new input. */
  headModel?: tf.LayersModel;
  /** Layers created here (a linear twin of a softmax Dense); their weights are ours to free. */
  ownLayers: tf.layers.Layer[];
}

const PROBABILITY_ACTIVATIONS = new Set(['softmax', 'sigmoid']);

/**
 * Finds the logits of `model`: the input of a final softmax/sigmoid Activation layer, the
 * pre-activation of a final Dense with a softmax/sigmoid activation (recomputed by a linear
 * twin sharing its kernel and bias), or the output itself when it is linear.
 */
function findLogits(
  model: tf.LayersModel,
  manifest: ModelManifest,
  ownLayers: tf.layers.Layer[],
): tf.SymbolicTensor {
  const ref = `${manifest.name}@${manifest.version}`;
  const out = model.outputs[0];
  if (!out) throw new EngineError('CONFIG_INVALID', `${ref}: the tfjs model has no output`);
  const layer = out.sourceLayer;
  const className = layer.getClassName();
  const config = layer.getConfig() as { activation?: unknown };
  let activation = 'linear';
  let logits = out;
  if (className === 'Softmax') activation = 'softmax';
  if (className === 'Activation' || className === 'Softmax') {
    if (className === 'Activation') activation = String(config.activation);
    if (PROBABILITY_ACTIVATIONS.has(activation)) {
      const input = out.inputs[0];
      if (!input)
        throw new EngineError('CONFIG_INVALID', `${ref}: final layer ${layer.name} has no input`);
      logits = input;
    }
  } else if (
    typeof config.activation === 'string' &&
    PROBABILITY_ACTIVATIONS.has(config.activation)
  ) {
    activation = config.activation;
    if (className !== 'Dense')
      throw new EngineError(
        'CONFIG_INVALID',
        `${ref}: final layer ${layer.name} (${className}) applies ${activation} itself; Grad-CAM and logits need a Dense layer or a separate Activation layer there`,
      );
    const dense = layer as tf.layers.Layer;
    const denseConfig = dense.getConfig() as { units: number; useBias?: boolean };
    const twin = tf.layers.dense({
      units: denseConfig.units,
      useBias: denseConfig.useBias !== false,
      activation: 'linear',
      name: `${dense.name}__logits`,
    });
    const input = out.inputs[0];
    if (!input)
      throw new EngineError('CONFIG_INVALID', `${ref}: final layer ${layer.name} has no input`);
    logits = twin.apply(input) as tf.SymbolicTensor;
    twin.setWeights(dense.getWeights());
    ownLayers.push(twin);
  }
  if (activation === 'softmax' && manifest.multiLabel)
    throw new EngineError(
      'CONFIG_INVALID',
      `${ref}: manifest says multiLabel but the model ends in softmax`,
    );
  if (activation === 'sigmoid' && !manifest.multiLabel)
    throw new EngineError(
      'CONFIG_INVALID',
      `${ref}: manifest says multiLabel false but the model ends in sigmoid`,
    );
  const units = logits.shape[logits.shape.length - 1];
  if (logits.shape.length !== 2 || units !== manifest.labels.length)
    throw new EngineError(
      'CONFIG_INVALID',
      `${ref}: model logits have shape [${logits.shape.join(', ')}], expected [N, ${manifest.labels.length}] (one per label)`,
    );
  return logits;
}

/**
 * Re-creates the part of the network between `target` and `logits` on a new input of the
 * target's shape, by applying the same (weight-sharing) layers in the same way. Throws when a
 * path from the model input reaches the logits without passing through the target.
 */
function rebuildHead(
  target: tf.SymbolicTensor,
  logits: tf.SymbolicTensor,
  targetName: string,
): tf.LayersModel {
  const input = tf.input({
    shape: target.shape.slice(1) as number[],
    name: `${targetName}__gradcam_input`,
  });
  const byTensor = new Map<number, tf.SymbolicTensor>([[target.id, input]]);
  // One re-application per original layer call, however many outputs that call had.
  const byCall = new Map<string, tf.SymbolicTensor | tf.SymbolicTensor[]>();
  const visit = (t: tf.SymbolicTensor): tf.SymbolicTensor => {
    const hit = byTensor.get(t.id);
    if (hit) return hit;
    const layer = t.sourceLayer;
    if (!t.inputs || t.inputs.length === 0 || layer.getClassName() === 'InputLayer')
      throw new Error(
        `layer ${layer.name} reaches the logits without passing through '${targetName}', so the head after it cannot be split off`,
      );
    const key = `${layer.name}#${t.nodeIndex}`;
    let applied = byCall.get(key);
    if (!applied) {
      const inputs = t.inputs.map(visit);
      applied = layer.apply(
        inputs.length === 1 ? (inputs[0] as tf.SymbolicTensor) : inputs,
        t.callArgs,
      ) as tf.SymbolicTensor | tf.SymbolicTensor[];
      byCall.set(key, applied);
    }
    const out = Array.isArray(applied) ? applied[t.tensorIndex] : applied;
    if (!out) throw new Error(`layer ${layer.name} has no output #${t.tensorIndex}`);
    byTensor.set(t.id, out);
    return out;
  };
  return tf.model({ inputs: input, outputs: visit(logits), name: `${targetName}__gradcam_head` });
}

function planModel(
  model: tf.LayersModel,
  manifest: ModelManifest,
  ownLayers: tf.layers.Layer[],
): ModelPlan {
  const ref = `${manifest.name}@${manifest.version}`;
  const logits = findLogits(model, manifest, ownLayers);
  const logitsModel = tf.model({ inputs: model.inputs, outputs: logits });
  const plan: ModelPlan = { logitsModel, ownLayers };
  const targetName = manifest.gradcam?.targetLayer;
  if (targetName) {
    let target: tf.SymbolicTensor;
    try {
      const layer = model.getLayer(targetName);
      target = layer.output as tf.SymbolicTensor;
    } catch (err) {
      throw new EngineError(
        'CONFIG_INVALID',
        `${ref}: gradcam.targetLayer '${targetName}' is not a (single-use) layer of the tfjs model: ${firstLine(err)}`,
        { cause: err },
      );
    }
    if (Array.isArray(target) || target.shape.length !== 4)
      throw new EngineError(
        'CONFIG_INVALID',
        `${ref}: gradcam.targetLayer '${targetName}' must output one [N, h, w, K] feature map; it outputs ${JSON.stringify(
          Array.isArray(target) ? target.map((t: tf.SymbolicTensor) => t.shape) : target.shape,
        )}`,
      );
    plan.featureModel = tf.model({ inputs: model.inputs, outputs: target });
    try {
      plan.headModel = rebuildHead(target, logits, targetName);
    } catch (err) {
      throw new EngineError(
        'CONFIG_INVALID',
        `${ref}: Grad-CAM split at '${targetName}' failed: ${firstLine(err)}`,
        {
          cause: err,
        },
      );
    }
  }
  return plan;
}

// ---------------------------------------------------------------------------------------------
// The runtime.
// ---------------------------------------------------------------------------------------------

export interface TfjsClassifierOptions {
  backend?: TfjsBackendPreference;
}

export async function loadTfjsClassifier(
  dir: string,
  manifest: ModelManifest,
  options: TfjsClassifierOptions = {},
): Promise<TfjsClassifier> {
  const ref = `${manifest.name}@${manifest.version}`;
  const artifact = manifest.artifacts.tfjs;
  if (!artifact)
    throw new EngineError('CONFIG_INVALID', `${ref}: the manifest names no artifacts.tfjs`);
  const choice = await selectTfjsBackend(options.backend ?? 'auto');
  return exclusive(choice.backend, async () => {
    let model: tf.LayersModel;
    try {
      model = await tf.loadLayersModel(fileSystemLoadHandler(insideDir(dir, artifact, ref)));
    } catch (err) {
      throw new EngineError(
        'PROCESSING_FAILED',
        `${ref}: cannot load tfjs model: ${firstLine(err)}`,
        { cause: err },
      );
    }
    const ownLayers: tf.layers.Layer[] = [];
    try {
      const { height, width, channels } = manifest.input;
      const inputShape = model.inputs[0]?.shape ?? [];
      const expected = [height, width, channels];
      if (
        model.inputs.length !== 1 ||
        inputShape.length !== 4 ||
        inputShape.slice(1).some((d, i) => d !== null && d !== expected[i])
      )
        throw new EngineError(
          'CONFIG_INVALID',
          `${ref}: tfjs model input is [${inputShape.map((d) => d ?? 'N').join(', ')}], manifest says [N, ${expected.join(', ')}] (NHWC)`,
        );
      return new TfjsClassifier(manifest, model, planModel(model, manifest, ownLayers), choice);
    } catch (err) {
      for (const w of model.weights) w.dispose();
      for (const layer of ownLayers) for (const w of layer.weights) w.dispose();
      throw err;
    }
  });
}

export class TfjsClassifier implements ClassifierRuntime {
  readonly kind = 'tfjs' as const;
  readonly backend: string;
  readonly device: 'cpu' | 'gpu';
  readonly backendDetail: string;
  readonly gradcamAvailable: boolean;
  private disposed = false;

  constructor(
    private readonly manifest: ModelManifest,
    private readonly model: tf.LayersModel,
    private readonly plan: ModelPlan,
    choice: TfjsBackendChoice,
  ) {
    this.backend = choice.backend;
    this.device = choice.device;
    this.backendDetail = choice.detail;
    this.gradcamAvailable = plan.headModel !== undefined;
  }

  async classify(
    batch: Float32Array[],
    options: ClassifyOptions = {},
  ): Promise<ClassifierOutput[]> {
    const guard = {
      name: 'tfjs',
      disposed: this.disposed,
      gradcamAvailable: this.gradcamAvailable,
      noGradcam: 'the manifest names no gradcam.targetLayer',
      describe: firstLine,
    };
    return guardedClassify(this.manifest, guard, batch, options, () =>
      exclusive(this.backend, () => this.run(batch, options)),
    );
  }

  private async run(batch: Float32Array[], options: ClassifyOptions): Promise<ClassifierOutput[]> {
    const { height, width, channels } = this.manifest.input;
    const n = batch.length;
    const joined = new Float32Array(n * height * width * channels);
    batch.forEach((item, i) => joined.set(item, i * item.length));
    const x = tf.tensor4d(joined, [n, height, width, channels]);
    const toDispose: tf.Tensor[] = [x];
    try {
      if (!options.gradcam) {
        const logitsT = tf.tidy(
          () => this.plan.logitsModel.predict(x, { batchSize: n }) as tf.Tensor,
        );
        toDispose.push(logitsT);
        const logits = (await logitsT.data()) as Float32Array;
        return this.outputs(logits, n);
      }
      const { featureModel, headModel } = this.plan as Required<ModelPlan>;
      const a = tf.tidy(() => featureModel.predict(x, { batchSize: n }) as tf.Tensor4D);
      toDispose.push(a);
      const logitsT = tf.tidy(() => headModel.predict(a, { batchSize: n }) as tf.Tensor2D);
      toDispose.push(logitsT);
      const logits = (await logitsT.data()) as Float32Array;
      const outputs = this.outputs(logits, n);
      const classes = outputs.map((o, i) => options.classIndex?.[i] ?? argmax(o.logits));
      const numClasses = this.manifest.labels.length;
      const camT = tf.tidy(() => {
        const oneHot = tf.oneHot(tf.tensor1d(classes, 'int32'), numClasses).toFloat();
        // d(Σ_i logit_{i, c_i}) / dA, through the head only: items are independent, so the
        // gradient of the sum holds each item's own gradient.
        const grad = tf.grad((features: tf.Tensor) =>
          tf.sum(tf.mul(headModel.apply(features, { training: false }) as tf.Tensor, oneHot)),
        )(a);
        const alpha = tf.mean(grad, [1, 2], true); // [N, 1, 1, K]
        return tf.relu(tf.sum(tf.mul(a, alpha), -1)); // [N, h, w]
      });
      toDispose.push(camT);
      const [, h, w] = camT.shape as [number, number, number];
      const cam = (await camT.data()) as Float32Array;
      outputs.forEach((o, i) => {
        o.cam = {
          data: cam.slice(i * h * w, (i + 1) * h * w),
          height: h,
          width: w,
          classIndex: classes[i] as number,
        };
      });
      return outputs;
    } finally {
      for (const t of toDispose) t.dispose();
    }
  }

  private outputs(logits: Float32Array, n: number): ClassifierOutput[] {
    const c = this.manifest.labels.length;
    return Array.from({ length: n }, (_, i) => {
      const l = logits.slice(i * c, (i + 1) * c);
      return { logits: l, probabilities: this.manifest.multiLabel ? sigmoid(l) : softmax(l) };
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await exclusive(this.backend, async () => {
      try {
        // The sub-models share the original's layers: freeing the variables frees everything.
        for (const w of this.model.weights) w.dispose();
        for (const layer of this.plan.ownLayers) for (const w of layer.weights) w.dispose();
      } catch (err) {
        throw toEngineError(err, 'PROCESSING_FAILED');
      }
    });
  }
}
