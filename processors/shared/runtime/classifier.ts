import { EngineError } from '../../../engine/errors';
import type { ModelManifest } from '../model-manifest';
import type { ClassifierRuntime } from './classifier-types';

export type {
  ClassifierOutput,
  ClassifierRuntime,
  ClassifyOptions,
  GradCam,
} from './classifier-types';

export interface LoadClassifierOptions {
  /** auto: ONNX when the manifest has an onnx artifact, else tfjs. */
  runtime?: 'auto' | 'onnx' | 'tfjs';
  /** auto: tfjs-node-gpu, then tfjs-node, then WebAssembly, then pure JS. */
  tfjsBackend?: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  /** auto: TensorRT / CUDA when their provider libraries are installed, else CPU. */
  onnxExecutionProviders?: 'auto' | string[];
}

/** Loads the artifact of `manifest` from the version directory `dir`. */
export async function loadClassifier(
  dir: string,
  manifest: ModelManifest,
  options: LoadClassifierOptions = {},
): Promise<ClassifierRuntime> {
  const kind = chooseRuntimeKind(manifest, options.runtime ?? 'auto');
  // Loaded on demand: a process serving only ONNX never initialises tfjs and vice versa.
  if (kind === 'onnx') {
    const { loadOnnxClassifier } = await import('./onnx-runtime');
    return loadOnnxClassifier(dir, manifest, {
      executionProviders: options.onnxExecutionProviders ?? 'auto',
    });
  }
  const { loadTfjsClassifier } = await import('./tfjs-runtime');
  return loadTfjsClassifier(dir, manifest, { backend: options.tfjsBackend ?? 'auto' });
}

export function chooseRuntimeKind(
  manifest: ModelManifest,
  runtime: 'auto' | 'onnx' | 'tfjs',
): 'onnx' | 'tfjs' {
  const ref = `${manifest.name}@${manifest.version}`;
  if (runtime === 'auto') return manifest.artifacts.onnx ? 'onnx' : 'tfjs';
  if (runtime === 'onnx' && !manifest.artifacts.onnx)
    throw new EngineError(
      'CONFIG_INVALID',
      `${ref}: runtime 'onnx' requested but the manifest has no artifacts.onnx`,
    );
  if (runtime === 'tfjs' && !manifest.artifacts.tfjs)
    throw new EngineError(
      'CONFIG_INVALID',
      `${ref}: runtime 'tfjs' requested but the manifest has no artifacts.tfjs`,
    );
  return runtime;
}
