import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, relative } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { EngineError } from '../../../engine/errors';

/**
 * tfjs IOHandlers over the local file system (the pure-JS tfjs package only ships http and
 * browser handlers): `model.json` + weight shards in the tensorflowjs_converter layout.
 */

/** Reads `modelJsonPath` and the shards its weightsManifest lists (paths relative to it). */
export function fileSystemLoadHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: async (): Promise<tf.io.ModelArtifacts> => {
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as tf.io.ModelJSON;
      } catch (err) {
        throw new EngineError(
          'PROCESSING_FAILED',
          `cannot read tfjs model ${modelJsonPath}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      if (!json.modelTopology)
        throw new EngineError(
          'PROCESSING_FAILED',
          `${modelJsonPath}: no modelTopology (not a tfjs LayersModel)`,
        );
      const base = dirname(modelJsonPath);
      const artifacts: tf.io.ModelArtifacts = {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
      };
      if (json.trainingConfig) artifacts.trainingConfig = json.trainingConfig;
      const manifest = json.weightsManifest ?? [];
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Buffer[] = [];
      for (const group of manifest) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(readFileSync(insideDir(base, p, modelJsonPath)));
      }
      const all = Buffer.concat(buffers);
      // A copy: a Buffer may be a view into a larger shared pool.
      artifacts.weightSpecs = specs;
      artifacts.weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
      return artifacts;
    },
  };
}

/** Writes `model.json` and one `group1-shard1of1.bin` into `dir` (created if missing). */
export function fileSystemSaveHandler(dir: string): tf.io.IOHandler {
  return tf.io.withSaveHandler(
    async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      mkdirSync(dir, { recursive: true });
      const shard = 'group1-shard1of1.bin';
      const data = artifacts.weightData;
      const bytes =
        data === undefined
          ? new Uint8Array(0)
          : Array.isArray(data)
            ? Buffer.concat(data.map((b) => new Uint8Array(b)))
            : new Uint8Array(data);
      writeFileSync(join(dir, shard), bytes);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? 'medstream',
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [shard], weights: artifacts.weightSpecs ?? [] }],
      };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: bytes.byteLength,
        },
      };
    },
  );
}

/** `p` resolved against `base`, refusing paths that leave it (an artifact names only its own files). */
export function insideDir(base: string, p: string, what: string): string {
  const full = normalize(join(base, p));
  const rel = relative(base, full);
  if (isAbsolute(p) || rel.startsWith('..') || isAbsolute(rel))
    throw new EngineError(
      'PROCESSING_FAILED',
      `${what}: path ${JSON.stringify(p)} leaves the model directory`,
    );
  return full;
}
