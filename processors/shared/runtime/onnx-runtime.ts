import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { EngineError } from '../../../engine/errors';
import type { ModelManifest } from '../model-manifest';
import {
  argmax,
  guardedClassify,
  logitsFromProbabilities,
  sigmoid,
  softmax,
  type ClassifierOutput,
  type ClassifierRuntime,
  type ClassifyOptions,
} from './classifier-types';
import { insideDir } from './tfjs-fs-io';

const GPU_PROVIDERS = new Set(['cuda', 'tensorrt', 'dml', 'webgpu', 'coreml', 'rocm', 'migraphx']);

// ---------------------------------------------------------------------------------------------
// Grad-CAM for a global-average-pool + dense head, analytically.
//
// logits_c = Σ_k W[k,c] · (1/hw) Σ_ij r(A_k(i,j)) + b_c, with r = ReLU or identity, so
//   dlogit_c / dA_k(i,j) = W[k,c] / hw · r'(A_k(i,j))      (r' = 1[A > 0] for ReLU, else 1)
//   α_k = mean_ij of that = W[k,c] / hw · (#{ij: A_k(i,j) > 0} / hw  for ReLU, else 1)
//   cam(i,j) = ReLU(Σ_k α_k A_k(i,j))
// — the same numbers tf.grad gives for the tfjs model on the same tensor A.
// ---------------------------------------------------------------------------------------------

export interface FeatureMapShape {
  /** channels, height, width of one item's A. */
  k: number;
  h: number;
  w: number;
  /** NCHW: A[k][i][j]; NHWC: A[i][j][k]. */
  layout: 'NCHW' | 'NHWC';
}

export interface DenseHead {
  /** W, flattened row-major in `layout`: KC = [K, C] (Keras, Gemm transB=0), CK = [C, K] (PyTorch Linear). */
  weights: Float32Array;
  layout: 'KC' | 'CK';
  k: number;
  c: number;
  relu: boolean;
}

/** α_k for class `classIndex` of one item's feature map `a` (length k·h·w). */
export function gapDenseAlpha(
  a: Float32Array,
  shape: FeatureMapShape,
  head: DenseHead,
  classIndex: number,
): Float64Array {
  const { k, h, w, layout } = shape;
  const hw = h * w;
  const alpha = new Float64Array(k);
  for (let ch = 0; ch < k; ch++) {
    const weight = (
      head.layout === 'KC'
        ? head.weights[ch * head.c + classIndex]
        : head.weights[classIndex * head.k + ch]
    ) as number;
    let fraction = 1;
    if (head.relu) {
      let positive = 0;
      for (let p = 0; p < hw; p++)
        if ((a[layout === 'NCHW' ? ch * hw + p : p * k + ch] as number) > 0) positive += 1;
      fraction = positive / hw;
    }
    alpha[ch] = (weight / hw) * fraction;
  }
  return alpha;
}

/** ReLU(Σ_k α_k A_k) over one item's feature map, h·w values row-major. */
export function weightedCam(
  a: Float32Array,
  shape: FeatureMapShape,
  alpha: ArrayLike<number>,
): Float32Array {
  const { k, h, w, layout } = shape;
  const hw = h * w;
  const sums = new Float64Array(hw);
  // Walk A in memory order.
  if (layout === 'NCHW')
    for (let ch = 0; ch < k; ch++) {
      const weight = alpha[ch] as number;
      const base = ch * hw;
      for (let p = 0; p < hw; p++) sums[p] = (sums[p] as number) + weight * (a[base + p] as number);
    }
  else
    for (let p = 0; p < hw; p++) {
      let sum = 0;
      for (let ch = 0; ch < k; ch++) sum += (alpha[ch] as number) * (a[p * k + ch] as number);
      sums[p] = sum;
    }
  const cam = new Float32Array(hw);
  for (let p = 0; p < hw; p++) cam[p] = Math.max(0, sums[p] as number);
  return cam;
}

// ---------------------------------------------------------------------------------------------
// ONNX model surgery and initializer reading.
// ---------------------------------------------------------------------------------------------

function toNumber(v: number | { toNumber(): number }): number {
  return typeof v === 'number' ? v : v.toNumber();
}

/** float32 values of a tensor (FLOAT, FLOAT16 or DOUBLE; float_data/double_data or little-endian raw_data). */
export function tensorProtoToFloat32(
  t: onnx.ITensorProto,
  what: string,
): { dims: number[]; data: Float32Array } {
  const dims = (t.dims ?? []).map((d) => toNumber(d as number | { toNumber(): number }));
  const count = dims.reduce((a, b) => a * b, 1);
  if (
    t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL ||
    (t.externalData?.length ?? 0) > 0
  )
    throw new EngineError(
      'CONFIG_INVALID',
      `${what}: initializer stored as external data is not supported`,
    );
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const data = new Float32Array(count);
  switch (t.dataType) {
    case onnx.TensorProto.DataType.FLOAT:
      if (view) for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
      else data.set(t.floatData ?? []);
      break;
    case onnx.TensorProto.DataType.DOUBLE:
      if (view) for (let i = 0; i < count; i++) data[i] = view.getFloat64(i * 8, true);
      else data.set(t.doubleData ?? []);
      break;
    case onnx.TensorProto.DataType.FLOAT16:
      // raw_data holds the halves; otherwise int32_data holds their bit patterns.
      for (let i = 0; i < count; i++)
        data[i] = halfToFloat(
          view ? view.getUint16(i * 2, true) : (t.int32Data?.[i] ?? 0) & 0xffff,
        );
      break;
    default:
      throw new EngineError(
        'CONFIG_INVALID',
        `${what}: element type ${t.dataType} is not float, double or float16`,
      );
  }
  const provided = view
    ? view.byteLength
    : (t.floatData?.length ?? t.doubleData?.length ?? t.int32Data?.length ?? 0);
  if (provided === 0 && count > 0)
    throw new EngineError('CONFIG_INVALID', `${what}: tensor has no data`);
  return { dims, data };
}

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** The initializer (or Constant node value) called `name`. */
function findConstant(graph: onnx.IGraphProto, name: string): onnx.ITensorProto | undefined {
  const init = graph.initializer?.find((t) => t.name === name);
  if (init) return init;
  for (const node of graph.node ?? []) {
    if (node.opType === 'Constant' && node.output?.[0] === name) {
      const value = node.attribute?.find((a) => a.name === 'value');
      if (value?.t) return value.t;
    }
  }
  return undefined;
}

/**
 * `bytes` with `tensor` added to graph.output. Appended as a second serialized ModelProto that
 * holds only that output: protobuf merges concatenated messages (repeated fields append), so
 * everything else in the file — including fields newer than onnx-proto's schema — stays
 * byte-identical instead of being dropped by a decode/encode round trip.
 */
export function withExtraGraphOutput(
  bytes: Uint8Array,
  model: onnx.IModelProto,
  tensor: string,
): Uint8Array {
  const graph = model.graph ?? {};
  const typed = [...(graph.valueInfo ?? []), ...(graph.input ?? [])].find((v) => v.name === tensor);
  const output = onnx.ValueInfoProto.create({
    name: tensor,
    type: typed?.type ?? { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } },
  });
  const extra = onnx.ModelProto.encode(
    onnx.ModelProto.create({ graph: onnx.GraphProto.create({ output: [output] }) }),
  ).finish();
  const merged = new Uint8Array(bytes.byteLength + extra.byteLength);
  merged.set(bytes, 0);
  merged.set(extra, bytes.byteLength);
  return merged;
}

// ---------------------------------------------------------------------------------------------
// Execution providers.
// ---------------------------------------------------------------------------------------------

/** true when onnxruntime-node knows `ep` and its provider library is bundled or installed next to the binding. */
export function onnxProviderAvailable(ep: string): boolean {
  const entry = ort.listSupportedBackends().find((b) => b.name === ep);
  if (!entry) return false;
  if (entry.bundled) return true;
  try {
    const bin = join(dirname(require.resolve('onnxruntime-node')), '..', 'bin');
    for (const napi of readdirSync(bin)) {
      const dir = join(bin, napi, process.platform, process.arch);
      if (existsSync(dir) && readdirSync(dir).some((f) => f.includes(`providers_${ep}.`)))
        return true;
    }
  } catch {
    /* no bin folder: not installed */
  }
  return false;
}

async function createSession(
  bytes: Uint8Array,
  providers: 'auto' | string[],
  ref: string,
): Promise<{
  session: ort.InferenceSession;
  backend: string;
  device: 'cpu' | 'gpu';
  detail: string;
}> {
  const options = (executionProviders: string[]): ort.InferenceSession.SessionOptions => ({
    executionProviders,
    graphOptimizationLevel: 'all',
  });
  if (providers !== 'auto') {
    if (providers.length === 0)
      throw new EngineError('CONFIG_INVALID', `${ref}: onnxExecutionProviders is empty`);
    try {
      const session = await ort.InferenceSession.create(bytes, options(providers));
      const first = providers[0] as string;
      return {
        session,
        backend: first,
        device: GPU_PROVIDERS.has(first) ? 'gpu' : 'cpu',
        detail: providers.join(', '),
      };
    } catch (err) {
      throw new EngineError(
        'PROCESSING_FAILED',
        `${ref}: ONNX session with providers [${providers.join(', ')}] failed: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
  const skipped: string[] = [];
  for (const ep of ['tensorrt', 'cuda']) {
    if (!onnxProviderAvailable(ep)) continue;
    try {
      const session = await ort.InferenceSession.create(bytes, options([ep, 'cpu']));
      return { session, backend: ep, device: 'gpu', detail: ep };
    } catch (err) {
      skipped.push(`${ep}: ${String((err as Error).message).split('\n')[0]}`);
    }
  }
  try {
    const session = await ort.InferenceSession.create(bytes, options(['cpu']));
    return {
      session,
      backend: 'cpu',
      device: 'cpu',
      detail: skipped.length ? `cpu; skipped ${skipped.join('; ')}` : 'cpu',
    };
  } catch (err) {
    throw new EngineError(
      'PROCESSING_FAILED',
      `${ref}: cannot create ONNX session: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The runtime.
// ---------------------------------------------------------------------------------------------

export interface OnnxClassifierOptions {
  executionProviders?: 'auto' | string[];
}

interface CamPlan {
  tensor: string;
  head: DenseHead;
}

export async function loadOnnxClassifier(
  dir: string,
  manifest: ModelManifest,
  options: OnnxClassifierOptions = {},
): Promise<OnnxClassifier> {
  const ref = `${manifest.name}@${manifest.version}`;
  const io = manifest.onnx;
  const artifact = manifest.artifacts.onnx;
  if (!artifact || !io)
    throw new EngineError(
      'CONFIG_INVALID',
      `${ref}: the manifest needs artifacts.onnx and an onnx section`,
    );
  const { bytes, cam } = prepareModel(insideDir(dir, artifact, ref), manifest, io);
  const created = await createSession(bytes, options.executionProviders ?? 'auto', ref);
  const meta = created.session.inputMetadata.find((m) => m.name === io.inputName);
  const batchDim = meta && meta.isTensor ? meta.shape[0] : undefined;
  return new OnnxClassifier(
    manifest,
    created,
    cam,
    typeof batchDim === 'number' ? batchDim : undefined,
  );
}

/**
 * Reads and checks the model file against the manifest; returns the bytes to create the
 * session from (with the Grad-CAM tensor added as an output if needed) and the head weights.
 */
function prepareModel(
  path: string,
  manifest: ModelManifest,
  io: NonNullable<ModelManifest['onnx']>,
): { bytes: Uint8Array; cam: CamPlan | undefined } {
  const ref = `${manifest.name}@${manifest.version}`;
  let bytes: Uint8Array;
  let model: onnx.ModelProto;
  try {
    bytes = readFileSync(path);
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new EngineError(
      'PROCESSING_FAILED',
      `${ref}: cannot read ONNX model ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const graph = model.graph;
  if (!graph) throw new EngineError('CONFIG_INVALID', `${ref}: ${path} has no graph`);
  const initializerNames = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).map((v) => v.name).filter((n) => !initializerNames.has(n));
  const outputs = (graph.output ?? []).map((v) => v.name);
  if (!inputs.includes(io.inputName))
    throw new EngineError(
      'CONFIG_INVALID',
      `${ref}: onnx.inputName '${io.inputName}' is not a graph input (inputs: ${inputs.join(', ')})`,
    );
  if (!outputs.includes(io.outputName))
    throw new EngineError(
      'CONFIG_INVALID',
      `${ref}: onnx.outputName '${io.outputName}' is not a graph output (outputs: ${outputs.join(', ')})`,
    );

  let cam: CamPlan | undefined;
  const gradcam = manifest.gradcam;
  if (gradcam?.onnxTensor && gradcam.head) {
    const tensor = gradcam.onnxTensor;
    if (!outputs.includes(tensor)) {
      const produced = (graph.node ?? []).some((n) => n.output?.includes(tensor));
      if (!produced)
        throw new EngineError(
          'CONFIG_INVALID',
          `${ref}: gradcam.onnxTensor '${tensor}' is not produced by any node of ${path}`,
        );
      bytes = withExtraGraphOutput(bytes, model, tensor);
    }
    const weights = findConstant(graph, gradcam.head.weights);
    if (!weights)
      throw new EngineError(
        'CONFIG_INVALID',
        `${ref}: gradcam.head.weights '${gradcam.head.weights}' is not an initializer of ${path}`,
      );
    const { dims, data } = tensorProtoToFloat32(
      weights,
      `${ref}: gradcam.head.weights '${gradcam.head.weights}'`,
    );
    const c = manifest.labels.length;
    const [d0, d1] = dims;
    const k = gradcam.head.weightsLayout === 'KC' ? d0 : d1;
    const cDim = gradcam.head.weightsLayout === 'KC' ? d1 : d0;
    if (dims.length !== 2 || cDim !== c || k === undefined)
      throw new EngineError(
        'CONFIG_INVALID',
        `${ref}: gradcam.head.weights '${gradcam.head.weights}' has dims [${dims.join(', ')}]; with weightsLayout ${gradcam.head.weightsLayout} and ${c} labels it must be ${gradcam.head.weightsLayout === 'KC' ? `[K, ${c}]` : `[${c}, K]`}`,
      );
    cam = {
      tensor,
      head: {
        weights: data,
        layout: gradcam.head.weightsLayout,
        k,
        c,
        relu: gradcam.head.relu === true,
      },
    };
  }
  return { bytes, cam };
}

export class OnnxClassifier implements ClassifierRuntime {
  readonly kind = 'onnx' as const;
  readonly backend: string;
  readonly device: 'cpu' | 'gpu';
  readonly backendDetail: string;
  readonly gradcamAvailable: boolean;
  private readonly session: ort.InferenceSession;
  private disposed = false;

  constructor(
    private readonly manifest: ModelManifest,
    created: {
      session: ort.InferenceSession;
      backend: string;
      device: 'cpu' | 'gpu';
      detail: string;
    },
    private readonly cam: CamPlan | undefined,
    /** A fixed batch dimension of the graph input (e.g. 1), when it has one. */
    private readonly fixedBatch: number | undefined,
  ) {
    this.session = created.session;
    this.backend = created.backend;
    this.device = created.device;
    this.backendDetail = created.detail;
    this.gradcamAvailable = cam !== undefined;
  }

  async classify(
    batch: Float32Array[],
    options: ClassifyOptions = {},
  ): Promise<ClassifierOutput[]> {
    const guard = {
      name: 'ONNX',
      disposed: this.disposed,
      gradcamAvailable: this.cam !== undefined,
      noGradcam: 'the manifest gives no gradcam.onnxTensor + gradcam.head for the ONNX model',
      describe: (err: unknown) => (err as Error).message,
    };
    return guardedClassify(this.manifest, guard, batch, options, async () => {
      if (this.fixedBatch === undefined || this.fixedBatch === batch.length)
        return this.run(batch, options);
      if (this.fixedBatch !== 1)
        throw new EngineError(
          'PROCESSING_FAILED',
          `${this.manifest.name}@${this.manifest.version}: the ONNX input has a fixed batch of ${this.fixedBatch}; got ${batch.length}`,
        );
      const out: ClassifierOutput[] = [];
      for (let i = 0; i < batch.length; i++) {
        const one = await this.run([batch[i] as Float32Array], {
          gradcam: options.gradcam,
          classIndex: options.classIndex && [options.classIndex[i]],
        });
        out.push(one[0] as ClassifierOutput);
      }
      return out;
    });
  }

  private async run(batch: Float32Array[], options: ClassifyOptions): Promise<ClassifierOutput[]> {
    const io = this.manifest.onnx as NonNullable<ModelManifest['onnx']>;
    const { height: hh, width: ww, channels: cc } = this.manifest.input;
    const n = batch.length;
    const size = hh * ww * cc;
    const data = new Float32Array(n * size);
    if (io.layout === 'NHWC' || cc === 1) batch.forEach((item, i) => data.set(item, i * size));
    else {
      const plane = hh * ww;
      batch.forEach((item, i) => {
        const base = i * size;
        for (let p = 0; p < plane; p++)
          for (let c = 0; c < cc; c++) data[base + c * plane + p] = item[p * cc + c] as number;
      });
    }
    const dims = io.layout === 'NCHW' ? [n, cc, hh, ww] : [n, hh, ww, cc];
    const fetches = [io.outputName];
    if (options.gradcam && this.cam && this.cam.tensor !== io.outputName)
      fetches.push(this.cam.tensor);
    const input = new ort.Tensor('float32', data, dims);
    const result = await this.session.run({ [io.inputName]: input }, fetches);
    const scores = result[io.outputName];
    const numClasses = this.manifest.labels.length;
    if (!scores || scores.size !== n * numClasses)
      throw new Error(
        `output '${io.outputName}' has shape [${scores?.dims.join(', ')}], expected [${n}, ${numClasses}]`,
      );
    const scoreData = toFloat32(scores);
    const outputs: ClassifierOutput[] = [];
    for (let i = 0; i < n; i++) {
      const s = scoreData.slice(i * numClasses, (i + 1) * numClasses);
      if (io.outputIs === 'probabilities')
        outputs.push({
          logits: logitsFromProbabilities(s, this.manifest.multiLabel),
          probabilities: s,
        });
      else
        outputs.push({
          logits: s,
          probabilities: this.manifest.multiLabel ? sigmoid(s) : softmax(s),
        });
    }
    if (options.gradcam && this.cam) {
      const a = result[this.cam.tensor];
      if (!a) throw new Error(`Grad-CAM tensor '${this.cam.tensor}' missing from the outputs`);
      const shape = featureMapShape(a.dims, this.cam.head.k, io.layout, this.cam.tensor);
      const values = toFloat32(a);
      const per = shape.k * shape.h * shape.w;
      outputs.forEach((o, i) => {
        const classIndex = options.classIndex?.[i] ?? argmax(o.logits);
        const item = values.subarray(i * per, (i + 1) * per);
        const alpha = gapDenseAlpha(item, shape, this.cam!.head, classIndex);
        o.cam = {
          data: weightedCam(item, shape, alpha),
          height: shape.h,
          width: shape.w,
          classIndex,
        };
      });
    }
    for (const t of Object.values(result)) t.dispose();
    return outputs;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}

function toFloat32(t: ort.Tensor): Float32Array {
  const d = t.data;
  if (d instanceof Float32Array) return d;
  if (d instanceof Float64Array) return Float32Array.from(d);
  if (t.type === 'float16' && d instanceof Uint16Array) return Float32Array.from(d, halfToFloat);
  throw new Error(`tensor of type ${t.type} is not float`);
}

/** [N, K, h, w] or [N, h, w, K]: whichever axis holds the head's K channels (layout breaks a tie). */
function featureMapShape(
  dims: readonly number[],
  k: number,
  layout: 'NCHW' | 'NHWC',
  name: string,
): FeatureMapShape {
  if (dims.length !== 4)
    throw new Error(`Grad-CAM tensor '${name}' has shape [${dims.join(', ')}], expected 4-D`);
  const [, d1, d2, d3] = dims as [number, number, number, number];
  const nchw = d1 === k;
  const nhwc = d3 === k;
  if (nchw && (!nhwc || layout === 'NCHW')) return { k, h: d2, w: d3, layout: 'NCHW' };
  if (nhwc) return { k, h: d1, w: d2, layout: 'NHWC' };
  throw new Error(
    `Grad-CAM tensor '${name}' has shape [${dims.join(', ')}] but the head weights have K = ${k} channels`,
  );
}
