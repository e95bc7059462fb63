/**
 * medstream's own exporter from a tfjs LayersModel (NHWC image classifier) to ONNX.
 *
 * The ONNX graph looks like a PyTorch export: input `image` (name configurable) NCHW
 * [N, C, H, W] with a symbolic batch dimension `N`; every tensor inside is NCHW; Conv weights are
 * OIHW (transposed from tfjs HWIO). Graph outputs:
 *
 * - `logits`: the pre-activation output of the model's last Dense layer;
 * - `probabilities`: the model's output, when it ends in softmax or sigmoid (omitted otherwise);
 * - one output per `extraOutputs` layer, under the layer's name (rank-4 feature maps NCHW
 *   [N, K, h, w]), e.g. the Grad-CAM target.
 *
 * Dense layers become Gemm with transB=0, so the initializer `<dense layer>/kernel` keeps the
 * Keras layout [in, units] (the manifest's 'KC'). Supported layers: InputLayer, Conv2D,
 * MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, Dense, Activation,
 * ReLU, Softmax, Flatten, Dropout / SpatialDropout2D (identity), BatchNormalization (inference
 * form). Anything else, or an unsupported option, throws an error naming the layer.
 */
import type * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';
import { EngineError } from '../../../engine/errors';

export interface ExportOptions {
  /** Graph input name (default 'image'). */
  inputName?: string;
  /** Layer names whose outputs become additional graph outputs (named after the layer). */
  extraOutputs?: string[];
  /** ONNX opset of the default domain (default 13; 11..21 accepted). */
  opset?: number;
  /** ModelProto.producer_name (default 'medstream'). */
  producerName?: string;
}

const SUPPORTED_ACTIVATIONS = [
  'linear',
  'relu',
  'relu6',
  'sigmoid',
  'softmax',
  'tanh',
  'elu',
  'selu',
  'softplus',
  'softsign',
  'hardSigmoid',
] as const;
type ActivationName = (typeof SUPPORTED_ACTIVATIONS)[number];

type Layer = tf.layers.Layer;
type SymbolicTensor = tf.SymbolicTensor;

/** Shape of a value inside the ONNX graph: NCHW for rank 4, null = unknown, 'N' = batch. */
export type OnnxShape = (number | null | 'N')[];

interface Value {
  name: string;
  /** shape in ONNX (NCHW) layout */
  shape: OnnxShape;
}

/** A model the exporter cannot translate (unsupported layer, option or shape): VALIDATION_FAILED. */
function exportError(message: string): EngineError {
  return new EngineError('VALIDATION_FAILED', `ONNX export: ${message}`);
}

/** A layer's config as plain JSON (tfjs serialises options such as activation names). */
function configOf(layer: Layer): Record<string, unknown> {
  return layer.getConfig() as unknown as Record<string, unknown>;
}

function describe(layer: Layer): string {
  return `layer '${layer.name}' (${layer.getClassName()})`;
}

function pair(v: unknown, what: string, layer: Layer): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number'))
    return [v[0] as number, v[1] as number];
  throw exportError(`${describe(layer)}: cannot read ${what} ${JSON.stringify(v)}`);
}

function requireChannelsLast(layer: Layer, config: Record<string, unknown>): void {
  const fmt = config.dataFormat ?? 'channelsLast';
  if (fmt !== 'channelsLast')
    throw exportError(
      `${describe(layer)}: dataFormat '${String(fmt)}' is not supported (only channelsLast)`,
    );
}

/** tfjs NHWC shape (batch null) → ONNX shape (NCHW for rank 4), batch 'N'. */
function toOnnxShape(shape: (number | null)[]): OnnxShape {
  const s: OnnxShape = shape.map((d, i) => (i === 0 ? 'N' : d));
  if (s.length === 4) return [s[0]!, s[3]!, s[1]!, s[2]!];
  return s;
}

/**
 * Explicit [begin, end] padding of one spatial axis for TF 'same' padding: output
 * ceil(in / stride), total padding split with the odd pixel at the end.
 */
export function samePadding(
  inSize: number,
  kernel: number,
  stride: number,
  dilation = 1,
): [number, number] {
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(inSize / stride);
  const total = Math.max(0, (out - 1) * stride + effective - inSize);
  const begin = Math.floor(total / 2);
  return [begin, total - begin];
}

/** A little-endian float32 initializer. */
export function floatTensor(
  name: string,
  dims: number[],
  data: ArrayLike<number>,
): onnx.ITensorProto {
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return { name, dataType: onnx.TensorProto.DataType.FLOAT, dims, rawData: raw };
}

/** A float32 graph input/output; 'N' is the symbolic batch dimension. */
export function valueInfo(v: { name: string; shape: OnnxShape }): onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: {
          dim: v.shape.map((d) =>
            d === 'N' ? { dimParam: 'N' } : d === null ? {} : { dimValue: d },
          ),
        },
      },
    },
  };
}

type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') return { name, type: T.INT, i: value };
  if (typeof value === 'string')
    return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  return { name, type: T.FLOATS, floats: value.floats };
}

/** Graph under construction. */
class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private readonly used = new Set<string>();
  private nodeCount = 0;

  constructor(
    readonly opset: number,
    reserved: string[],
  ) {
    reserved.forEach((r) => this.used.add(r));
  }

  /** A fresh tensor name based on `wanted`. */
  name(wanted: string): string {
    let name = wanted;
    for (let i = 1; this.used.has(name); i++) name = `${wanted}_${i}`;
    this.used.add(name);
    return name;
  }

  initializer(wanted: string, dims: number[], data: Float32Array): string {
    const name = this.name(wanted);
    this.initializers.push(floatTensor(name, dims, data));
    return name;
  }

  node(
    opType: string,
    inputs: string[],
    output: string,
    attrs: Record<string, AttrValue> = {},
    scope = opType,
  ): string {
    this.nodes.push({
      opType,
      name: `${scope}/${opType}_${this.nodeCount++}`,
      input: inputs,
      output: [output],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return output;
  }
}

interface Emit {
  /** the tensor name the step must write */
  out: string;
}

/** Applies a Keras activation to `input`, writing `out`. 'linear' becomes Identity. */
function emitActivation(
  g: GraphBuilder,
  activation: ActivationName,
  input: Value,
  emit: Emit,
  layer: Layer,
): void {
  const scope = layer.name;
  switch (activation) {
    case 'linear':
      g.node('Identity', [input.name], emit.out, {}, scope);
      return;
    case 'relu':
      g.node('Relu', [input.name], emit.out, {}, scope);
      return;
    case 'relu6': {
      const lo = g.initializer(`${layer.name}/clip_min`, [], new Float32Array([0]));
      const hi = g.initializer(`${layer.name}/clip_max`, [], new Float32Array([6]));
      g.node('Clip', [input.name, lo, hi], emit.out, {}, scope);
      return;
    }
    case 'sigmoid':
      g.node('Sigmoid', [input.name], emit.out, {}, scope);
      return;
    case 'tanh':
      g.node('Tanh', [input.name], emit.out, {}, scope);
      return;
    case 'elu':
      g.node('Elu', [input.name], emit.out, { alpha: { float: 1 } }, scope);
      return;
    case 'selu':
      g.node('Selu', [input.name], emit.out, {}, scope);
      return;
    case 'softplus':
      g.node('Softplus', [input.name], emit.out, {}, scope);
      return;
    case 'softsign':
      g.node('Softsign', [input.name], emit.out, {}, scope);
      return;
    case 'hardSigmoid':
      g.node(
        'HardSigmoid',
        [input.name],
        emit.out,
        { alpha: { float: 0.2 }, beta: { float: 0.5 } },
        scope,
      );
      return;
    case 'softmax':
      emitSoftmax(g, input, emit.out, layer);
      return;
  }
}

/** Softmax over the Keras last axis = the channel axis (1 in NCHW for rank 4). */
function emitSoftmax(g: GraphBuilder, input: Value, out: string, layer: Layer): void {
  const rank = input.shape.length;
  if (rank === 2) {
    g.node('Softmax', [input.name], out, { axis: 1 }, layer.name);
    return;
  }
  if (rank === 4 && g.opset >= 13) {
    g.node('Softmax', [input.name], out, { axis: 1 }, layer.name);
    return;
  }
  throw exportError(
    `${describe(layer)}: softmax over a rank-${rank} tensor needs opset ≥ 13 (and rank 2 or 4)`,
  );
}

function activationOf(layer: Layer, config: Record<string, unknown>): ActivationName {
  const a = config.activation ?? 'linear';
  if (typeof a !== 'string' || !(SUPPORTED_ACTIVATIONS as readonly string[]).includes(a))
    throw exportError(
      `${describe(layer)}: activation ${JSON.stringify(a)} is not supported ` +
        `(supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`,
    );
  return a as ActivationName;
}

/** Named weights of a layer: { kernel, bias, gamma, … } → values and tfjs shape. */
function weightsOf(layer: Layer): Map<string, { data: Float32Array; shape: number[] }> {
  const out = new Map<string, { data: Float32Array; shape: number[] }>();
  const values = layer.getWeights();
  layer.weights.forEach((w, i) => {
    const t = values[i]!;
    if (t.dtype !== 'float32')
      throw exportError(`${describe(layer)}: weight '${w.name}' is ${t.dtype}, not float32`);
    const short = w.name.split('/').pop()!.replace(/_\d+$/, '');
    out.set(short, { data: t.dataSync() as Float32Array, shape: t.shape });
  });
  return out;
}

function need(
  weights: Map<string, { data: Float32Array; shape: number[] }>,
  key: string,
  layer: Layer,
): { data: Float32Array; shape: number[] } {
  const w = weights.get(key);
  if (!w)
    throw exportError(
      `${describe(layer)}: weight '${key}' not found (has ${[...weights.keys()].join(', ')})`,
    );
  return w;
}

/** HWIO → OIHW. */
function hwioToOihw(data: Float32Array, [kh, kw, ci, co]: number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let y = 0; y < kh!; y++)
    for (let x = 0; x < kw!; x++)
      for (let i = 0; i < ci!; i++)
        for (let o = 0; o < co!; o++)
          out[((o * ci! + i) * kh! + y) * kw! + x] = data[((y * kw! + x) * ci! + i) * co! + o]!;
  return out;
}

function spatialPads(
  layer: Layer,
  padding: unknown,
  input: Value,
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number] = [1, 1],
): { pads?: number[]; auto_pad?: string } {
  if (padding === 'valid') return { pads: [0, 0, 0, 0] };
  if (padding !== 'same')
    throw exportError(`${describe(layer)}: padding '${String(padding)}' is not supported`);
  const h = input.shape[2];
  const w = input.shape[3];
  if (typeof h !== 'number' || typeof w !== 'number') return { auto_pad: 'SAME_UPPER' };
  const [top, bottom] = samePadding(h, kernel[0], strides[0], dilations[0]);
  const [left, right] = samePadding(w, kernel[1], strides[1], dilations[1]);
  return { pads: [top, left, bottom, right] };
}

function requireRank(layer: Layer, input: Value, ranks: number[]): void {
  if (!ranks.includes(input.shape.length))
    throw exportError(
      `${describe(layer)}: input of rank ${input.shape.length} is not supported (expected rank ${ranks.join(' or ')})`,
    );
}

/** Serialised onnx.ModelProto for `model`. See the file comment for the graph's contract. */
export function exportLayersModelToOnnx(
  model: tf.LayersModel,
  options: ExportOptions = {},
): Uint8Array {
  const inputName = options.inputName ?? 'image';
  const opset = options.opset ?? 13;
  const extraOutputs = options.extraOutputs ?? [];
  if (!Number.isInteger(opset) || opset < 11 || opset > 21)
    throw exportError(`opset ${opset} is not supported (11..21)`);
  if (model.inputs.length !== 1)
    throw exportError(`the model must have one input (has ${model.inputs.length})`);
  if (model.outputs.length !== 1)
    throw exportError(`the model must have one output (has ${model.outputs.length})`);
  for (const r of ['logits', 'probabilities'])
    if (inputName === r) throw exportError(`inputName '${r}' is reserved for an output`);

  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const denseLayers = layers.filter((l) => l.getClassName() === 'Dense');
  const lastDense = denseLayers[denseLayers.length - 1];
  if (!lastDense) throw exportError(`the model has no Dense layer to take 'logits' from`);

  const extraLayers = extraOutputs.map((name) => {
    const layer = layers.find((l) => l.name === name);
    if (!layer) throw exportError(`extraOutputs: the model has no layer named '${name}'`);
    if (name === inputName) throw exportError(`extraOutputs: '${name}' is the input name`);
    return layer;
  });

  const outputTensor = model.outputs[0]!;
  const outputLayer = outputTensor.sourceLayer as Layer;
  const outputActivation = finalActivation(outputLayer);
  const hasProbabilities = outputActivation === 'softmax' || outputActivation === 'sigmoid';

  const g = new GraphBuilder(opset, [inputName, 'logits', 'probabilities', ...extraOutputs]);
  const values = new Map<number, Value>(); // SymbolicTensor.id → graph value
  const inputTensor = model.inputs[0]!;
  const inputShape = toOnnxShape(inputTensor.shape);
  if (inputShape.length !== 4 && inputShape.length !== 2)
    throw exportError(
      `the model input must be an image [null, H, W, C] (or features [null, F]); got [${inputTensor.shape.join(', ')}]`,
    );
  const input: Value = { name: inputName, shape: inputShape };
  values.set(inputTensor.id, input);
  let logits: Value | undefined;

  for (const layer of layers) {
    const nodes = layer.inboundNodes;
    if (nodes.length !== 1)
      throw exportError(
        `${describe(layer)} is used ${nodes.length} times; shared layers are not supported`,
      );
    const node = nodes[0]!;
    if (node.inputTensors.length !== 1 || node.outputTensors.length !== 1)
      throw exportError(
        `${describe(layer)}: layers with ${node.inputTensors.length} inputs / ${node.outputTensors.length} outputs are not supported`,
      );
    const src = values.get(node.inputTensors[0]!.id);
    if (!src)
      throw exportError(`${describe(layer)}: its input is not produced by a supported layer`);
    const outSym = node.outputTensors[0] as SymbolicTensor;
    const outShape = toOnnxShape(outSym.shape);
    const isOutput = outSym.id === outputTensor.id;
    const outName =
      isOutput && hasProbabilities
        ? 'probabilities'
        : extraOutputs.includes(layer.name)
          ? layer.name
          : layer === lastDense && activationOf(layer, configOf(layer)) === 'linear'
            ? 'logits'
            : g.name(layer.name);
    const result = emitLayer(g, layer, src, outName, layer === lastDense);
    if (result.logits) logits = result.logits;
    values.set(outSym.id, { name: outName, shape: outShape });
  }
  if (!logits) throw exportError('internal: logits were not produced');
  if (!values.has(outputTensor.id))
    throw exportError('internal: the model output was not produced');

  const outputs: Value[] = [logits];
  if (hasProbabilities) outputs.push({ name: 'probabilities', shape: logits.shape });
  for (const layer of extraLayers) {
    const v = values.get((layer.inboundNodes[0]!.outputTensors[0] as SymbolicTensor).id)!;
    if (v.name === 'logits' || v.name === 'probabilities') continue;
    outputs.push(v);
  }

  const modelProto = onnx.ModelProto.create({
    // IR version that goes with the opset (IR 8: opsets ≤ 18, IR 9: 19–20, IR 10: 21)
    irVersion: opset <= 18 ? 8 : opset <= 20 ? 9 : 10,
    producerName: options.producerName ?? 'medstream',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: model.name || 'model',
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(input)],
      output: outputs.map(valueInfo),
    },
  });
  return onnx.ModelProto.encode(modelProto).finish();
}

/** The softmax/sigmoid (or other activation) the model output ends with, if any. */
function finalActivation(layer: Layer): string | null {
  const cls = layer.getClassName();
  const config = configOf(layer);
  if (cls === 'Activation' || cls === 'Dense' || cls === 'Conv2D')
    return typeof config.activation === 'string' ? config.activation : null;
  if (cls === 'Softmax') return 'softmax';
  return null;
}

/** Emits one layer; `out` is the name its output must get. */
function emitLayer(
  g: GraphBuilder,
  layer: Layer,
  input: Value,
  out: string,
  isLastDense: boolean,
): { logits?: Value } {
  const cls = layer.getClassName();
  const config = configOf(layer);
  const scope = layer.name;
  switch (cls) {
    case 'Conv2D': {
      requireChannelsLast(layer, config);
      requireRank(layer, input, [4]);
      const activation = activationOf(layer, config);
      const kernelSize = pair(config.kernelSize, 'kernelSize', layer);
      const strides = pair(config.strides ?? 1, 'strides', layer);
      const dilations = pair(config.dilationRate ?? 1, 'dilationRate', layer);
      if ((strides[0] > 1 || strides[1] > 1) && (dilations[0] > 1 || dilations[1] > 1))
        throw exportError(`${describe(layer)}: strides > 1 with dilationRate > 1`);
      const weights = weightsOf(layer);
      const kernel = need(weights, 'kernel', layer);
      const w = g.initializer(
        `${layer.name}/kernel`,
        oihwDims(kernel.shape),
        hwioToOihw(kernel.data, kernel.shape),
      );
      const inputs = [input.name, w];
      if (config.useBias !== false) {
        const bias = need(weights, 'bias', layer);
        inputs.push(g.initializer(`${layer.name}/bias`, [bias.data.length], bias.data));
      }
      const pads = spatialPads(layer, config.padding, input, kernelSize, strides, dilations);
      const attrs: Record<string, AttrValue> = {
        kernel_shape: kernelSize,
        strides,
        dilations,
        group: 1,
        ...(pads.pads ? { pads: pads.pads } : { auto_pad: pads.auto_pad! }),
      };
      if (activation === 'linear') {
        g.node('Conv', inputs, out, attrs, scope);
      } else {
        const pre = g.node('Conv', inputs, g.name(`${layer.name}/conv`), attrs, scope);
        emitActivation(g, activation, { name: pre, shape: input.shape }, { out }, layer);
      }
      return {};
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      requireChannelsLast(layer, config);
      requireRank(layer, input, [4]);
      const pool = pair(config.poolSize, 'poolSize', layer);
      const strides = pair(config.strides ?? config.poolSize, 'strides', layer);
      const pads = spatialPads(layer, config.padding, input, pool, strides);
      const attrs: Record<string, AttrValue> = {
        kernel_shape: pool,
        strides,
        ...(pads.pads ? { pads: pads.pads } : { auto_pad: pads.auto_pad! }),
      };
      // AveragePool's default count_include_pad=0 matches TF 'same' (padding not counted)
      g.node(cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [input.name], out, attrs, scope);
      return {};
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D': {
      requireChannelsLast(layer, config);
      requireRank(layer, input, [4]);
      const op = cls === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool';
      if (config.keepDims === true) {
        g.node(op, [input.name], out, {}, scope);
      } else {
        const pooled = g.node(op, [input.name], g.name(`${layer.name}/pooled`), {}, scope);
        g.node('Flatten', [pooled], out, { axis: 1 }, scope);
      }
      return {};
    }
    case 'Dense': {
      requireRank(layer, input, [2]);
      const activation = activationOf(layer, config);
      const weights = weightsOf(layer);
      const kernel = need(weights, 'kernel', layer);
      const [inDim, units] = kernel.shape as [number, number];
      const inputs = [
        input.name,
        g.initializer(`${layer.name}/kernel`, [inDim, units], kernel.data),
      ];
      if (config.useBias !== false) {
        const bias = need(weights, 'bias', layer);
        inputs.push(g.initializer(`${layer.name}/bias`, [units], bias.data));
      }
      const preName = isLastDense
        ? 'logits'
        : activation === 'linear'
          ? out
          : g.name(`${layer.name}/gemm`);
      g.node(
        'Gemm',
        inputs,
        preName,
        { alpha: { float: 1 }, beta: { float: 1 }, transA: 0, transB: 0 },
        scope,
      );
      if (preName !== out)
        emitActivation(g, activation, { name: preName, shape: ['N', units] }, { out }, layer);
      return isLastDense ? { logits: { name: 'logits', shape: ['N', units] } } : {};
    }
    case 'Activation': {
      emitActivation(g, activationOf(layer, config), input, { out }, layer);
      return {};
    }
    case 'ReLU': {
      const max = config.maxValue;
      if (max !== null && max !== undefined) {
        const lo = g.initializer(`${layer.name}/clip_min`, [], new Float32Array([0]));
        const hi = g.initializer(`${layer.name}/clip_max`, [], new Float32Array([Number(max)]));
        g.node('Clip', [input.name, lo, hi], out, {}, scope);
      } else {
        g.node('Relu', [input.name], out, {}, scope);
      }
      return {};
    }
    case 'Softmax': {
      const axis = config.axis ?? -1;
      const rank = input.shape.length;
      if (!(axis === -1 || axis === rank - 1))
        throw exportError(
          `${describe(layer)}: softmax axis ${String(axis)} is not supported (only the last axis)`,
        );
      emitSoftmax(g, input, out, layer);
      return {};
    }
    case 'Flatten': {
      if (input.shape.length === 4) {
        // Keras flattens NHWC: bring channels last before flattening
        const nhwc = g.node(
          'Transpose',
          [input.name],
          g.name(`${layer.name}/nhwc`),
          { perm: [0, 2, 3, 1] },
          scope,
        );
        g.node('Flatten', [nhwc], out, { axis: 1 }, scope);
      } else if (input.shape.length === 2) {
        g.node('Identity', [input.name], out, {}, scope);
      } else {
        requireRank(layer, input, [2, 4]);
      }
      return {};
    }
    case 'Dropout':
    case 'SpatialDropout1D':
    case 'SpatialDropout2D':
    case 'GaussianNoise':
    case 'GaussianDropout':
    case 'AlphaDropout': {
      // inference: identity
      g.node('Identity', [input.name], out, {}, scope);
      return {};
    }
    case 'BatchNormalization': {
      requireRank(layer, input, [2, 4]);
      const rank = input.shape.length;
      const axis = config.axis ?? -1;
      if (!(axis === -1 || axis === rank - 1))
        throw exportError(
          `${describe(layer)}: axis ${String(axis)} is not supported (only the channel axis, -1)`,
        );
      const weights = weightsOf(layer);
      const mean = need(weights, 'moving_mean', layer);
      const variance = need(weights, 'moving_variance', layer);
      const channels = mean.data.length;
      const gamma =
        config.scale === false
          ? new Float32Array(channels).fill(1)
          : need(weights, 'gamma', layer).data;
      const beta =
        config.center === false ? new Float32Array(channels) : need(weights, 'beta', layer).data;
      const epsilon = typeof config.epsilon === 'number' ? config.epsilon : 1e-3;
      g.node(
        'BatchNormalization',
        [
          input.name,
          g.initializer(`${layer.name}/gamma`, [channels], gamma),
          g.initializer(`${layer.name}/beta`, [channels], beta),
          g.initializer(`${layer.name}/moving_mean`, [channels], mean.data),
          g.initializer(`${layer.name}/moving_variance`, [channels], variance.data),
        ],
        out,
        { epsilon: { float: epsilon } },
        scope,
      );
      return {};
    }
    default:
      throw exportError(
        `${describe(layer)}: layer type ${cls} is not supported (supported: InputLayer, Conv2D, ` +
          'MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, Dense, ' +
          'Activation, ReLU, Softmax, Flatten, Dropout, BatchNormalization)',
      );
  }
}

function oihwDims([kh, kw, ci, co]: number[]): number[] {
  return [co!, ci!, kh!, kw!];
}
