import Ajv from 'ajv';
import { describeSchemaError } from '../../../engine/config/json-schema';
import { EngineError } from '../../../engine/errors';
import type { ModelManifest } from '../model-manifest';

/** JSON schema of ModelManifestBase: the fields every model manifest has, whatever its task. */
export const MANIFEST_BASE_SCHEMA = {
  required: ['name', 'version', 'task', 'syntheticTrainingData'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' },
    version: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)*$' },
    syntheticTrainingData: { type: 'boolean' },
    disclaimer: { type: 'string' },
  },
} as const;

/**
 * The JSON schema of one task's manifest: MANIFEST_BASE_SCHEMA (with `task` fixed to `task`)
 * plus the task's own required fields and properties.
 */
export function taskManifestSchema<
  const Task extends string,
  const Part extends { required: readonly string[]; properties: Record<string, object> },
>(task: Task, part: Part) {
  return {
    type: 'object',
    required: [...MANIFEST_BASE_SCHEMA.required, ...part.required],
    properties: {
      ...MANIFEST_BASE_SCHEMA.properties,
      task: { enum: [task] },
      ...part.properties,
    },
  } as const;
}

/**
 * JSON schema of `ModelManifest` (model-manifest.ts is the contract; this mirrors it). Known
 * objects are closed so that a misspelt optional field is an error, not a silent default; the
 * top level is open for documentation keys a model author may add (reported as warnings).
 */
const MANIFEST_SCHEMA = taskManifestSchema('image-classification', {
  required: ['multiLabel', 'input', 'preprocessing', 'labels', 'batching', 'artifacts'],
  properties: {
    multiLabel: { type: 'boolean' },
    input: {
      type: 'object',
      additionalProperties: false,
      required: ['height', 'width', 'channels'],
      properties: {
        height: { type: 'integer', minimum: 1 },
        width: { type: 'integer', minimum: 1 },
        channels: { enum: [1, 3] },
      },
    },
    preprocessing: {
      type: 'object',
      additionalProperties: false,
      required: ['resize', 'window', 'normalization'],
      properties: {
        resize: { enum: ['stretch', 'letterbox'] },
        window: {
          type: 'object',
          additionalProperties: false,
          required: ['mode'],
          properties: {
            mode: { enum: ['none', 'minmax', 'percentile'] },
            low: { type: 'number', minimum: 0, maximum: 100 },
            high: { type: 'number', minimum: 0, maximum: 100 },
          },
        },
        normalization: {
          type: 'object',
          additionalProperties: false,
          required: ['mean', 'std'],
          properties: { mean: { type: 'number' }, std: { type: 'number', exclusiveMinimum: 0 } },
        },
      },
    },
    labels: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    positiveLabel: { type: 'string' },
    gradcam: {
      type: 'object',
      additionalProperties: false,
      required: ['targetLayer'],
      properties: {
        targetLayer: { type: 'string', minLength: 1 },
        onnxTensor: { type: 'string', minLength: 1 },
        head: {
          type: 'object',
          additionalProperties: false,
          required: ['type', 'weights', 'weightsLayout'],
          properties: {
            type: { enum: ['gap-dense'] },
            weights: { type: 'string', minLength: 1 },
            weightsLayout: { enum: ['KC', 'CK'] },
            relu: { type: 'boolean' },
          },
        },
      },
    },
    batching: {
      type: 'object',
      additionalProperties: false,
      required: ['maxBatchSize', 'maxQueueDelayMs'],
      properties: {
        maxBatchSize: { type: 'integer', minimum: 1 },
        maxQueueDelayMs: { type: 'number', minimum: 0 },
      },
    },
    artifacts: {
      type: 'object',
      additionalProperties: false,
      properties: {
        tfjs: { type: 'string', minLength: 1 },
        onnx: { type: 'string', minLength: 1 },
      },
    },
    onnx: {
      type: 'object',
      additionalProperties: false,
      required: ['inputName', 'layout', 'outputName', 'outputIs'],
      properties: {
        inputName: { type: 'string', minLength: 1 },
        layout: { enum: ['NCHW', 'NHWC'] },
        outputName: { type: 'string', minLength: 1 },
        outputIs: { enum: ['logits', 'probabilities'] },
      },
    },
  },
});

const KNOWN_TOP_LEVEL = new Set(Object.keys(MANIFEST_SCHEMA.properties));

let compiled: ReturnType<Ajv['compile']> | undefined;

const MANIFEST_WORDING = { unknownProperty: 'unknown field', rootField: '(root)' };

export interface ManifestProblem {
  /** Dotted path of the field, e.g. `preprocessing.normalization.std`; '(root)' for the whole file. */
  field: string;
  message: string;
}

export interface ValidatedManifest {
  manifest: ModelManifest;
  /** Things that do not stop the model from being served (unknown top-level keys, ONNX without Grad-CAM head). */
  warnings: string[];
}

/**
 * Validates a parsed manifest.json. `expected` is the folder it was found in: name and version
 * must equal them. Throws CONFIG_INVALID naming the file and every bad field.
 */
export function validateManifest(
  raw: unknown,
  file: string,
  expected?: { name: string; version: string },
): ValidatedManifest {
  compiled ??= new Ajv({ allErrors: true, strict: true }).compile(MANIFEST_SCHEMA);
  const problems: ManifestProblem[] = [];
  if (!compiled(raw))
    problems.push(
      ...(compiled.errors ?? []).map((e) =>
        describeSchemaError(e, MANIFEST_WORDING, { value: raw }),
      ),
    );
  const warnings: string[] = [];
  if (problems.length === 0) {
    const m = raw as ModelManifest;
    if (expected && m.name !== expected.name)
      problems.push({
        field: 'name',
        message: `must equal the model folder name '${expected.name}' (got '${m.name}')`,
      });
    if (expected && m.version !== expected.version)
      problems.push({
        field: 'version',
        message: `must equal the version folder name '${expected.version}' (got '${m.version}')`,
      });
    const seen = new Set<string>();
    m.labels.forEach((label, i) => {
      if (seen.has(label))
        problems.push({ field: `labels.${i}`, message: `duplicate label '${label}'` });
      seen.add(label);
    });
    if (m.positiveLabel !== undefined && !seen.has(m.positiveLabel))
      problems.push({
        field: 'positiveLabel',
        message: `'${m.positiveLabel}' is not one of labels`,
      });
    const w = m.preprocessing.window;
    if (w.mode === 'percentile' && (w.low ?? 0.5) >= (w.high ?? 99.5))
      problems.push({
        field: 'preprocessing.window',
        message: `low (${w.low ?? 0.5}) must be below high (${w.high ?? 99.5})`,
      });
    if (!m.artifacts.tfjs && !m.artifacts.onnx)
      problems.push({ field: 'artifacts', message: 'names no model file (tfjs or onnx)' });
    for (const [kind, path] of Object.entries(m.artifacts)) {
      if (typeof path === 'string' && (path.startsWith('/') || path.split(/[\\/]/).includes('..')))
        problems.push({
          field: `artifacts.${kind}`,
          message: `must be a path inside the version folder (got '${path}')`,
        });
    }
    if (m.artifacts.onnx && !m.onnx)
      problems.push({ field: 'onnx', message: 'is required when artifacts.onnx is set' });
    if (m.artifacts.onnx && m.gradcam && !(m.gradcam.onnxTensor && m.gradcam.head))
      warnings.push(
        'gradcam has no onnxTensor + head: Grad-CAM is unavailable on the ONNX runtime',
      );
    for (const key of Object.keys(m))
      if (!KNOWN_TOP_LEVEL.has(key)) warnings.push(`unknown top-level key '${key}' ignored`);
  }
  if (problems.length > 0)
    throw new EngineError(
      'CONFIG_INVALID',
      `invalid model manifest ${file}:\n  - ${problems.map((p) => `${p.field}: ${p.message}`).join('\n  - ')}`,
      { details: { file, problems } },
    );
  return { manifest: raw as ModelManifest, warnings };
}

/** Compares dot-separated numeric versions part by part: 1.10 > 1.9, 1.0.1 > 1.0, 1.0 = 1.0.0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
