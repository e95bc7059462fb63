import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { cxrManifest } from '../../../models/training/cxr-model';
import { decodeGray } from '../../../processors/shared/image-decode';
import type { ModelManifest } from '../../../processors/shared/model-manifest';
import { preprocess } from '../../../processors/shared/preprocess';
import { validateManifest } from '../../../processors/shared/runtime/manifest-validation';

/** The shipped demo model: its files agree with each other and with what the card claims. */
const DIR = join(__dirname, '..', '..', '..', 'models', 'cxr-demo', '1.0.0');
const LABELS = ['covid19', 'normal', 'pneumonia'];

const read = (f: string) => readFileSync(join(DIR, f));
const manifest = JSON.parse(read('manifest.json').toString('utf8')) as ModelManifest;
const metrics = JSON.parse(read('metrics.json').toString('utf8')) as {
  inputSize: number;
  validationAccuracy: number;
  test: { n: number; accuracy: number; confusionMatrix: { counts: number[][] } };
  pointingGame: { all: { n: number; strict: number; dilated: number } };
  samples: Record<string, { predicted: string }>;
};
const S = manifest.input.height;

let model: tf.LayersModel;
let session: ort.InferenceSession;

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  await tf.ready();
  const json = JSON.parse(read('model.json').toString('utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const bin = read(json.weightsManifest[0]!.paths[0]!);
  model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0]!.weights,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    }),
  );
  session = await ort.InferenceSession.create(read('model.onnx'));
});
afterAll(async () => {
  await session?.release();
  model?.dispose();
});

async function sampleInput(label: string): Promise<Float32Array> {
  const image = await decodeGray(read(join('samples', `${label}.png`)));
  return preprocess(image, manifest).tensor;
}

describe('models/cxr-demo/1.0.0', () => {
  it('manifest is valid and is exactly what the training script writes', () => {
    const { warnings } = validateManifest(manifest, join(DIR, 'manifest.json'), {
      name: 'cxr-demo',
      version: '1.0.0',
    });
    expect(warnings).toEqual([]);
    expect(manifest).toEqual(cxrManifest(metrics.inputSize));
    expect(manifest.labels).toEqual(LABELS);
    expect(manifest.disclaimer).toBe('synthetic training data — not for clinical use');
  });

  it('files: converter-style model.json + one shard, ONNX, card, metrics, samples; < 2 MB in all', () => {
    const json = JSON.parse(read('model.json').toString('utf8')) as Record<string, unknown> & {
      weightsManifest: { paths: string[]; weights: { shape: number[]; dtype: string }[] }[];
    };
    expect(json.format).toBe('layers-model');
    expect(json.modelTopology).toBeDefined();
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0]!.paths).toEqual(['group1-shard1of1.bin']);
    const bytes = json.weightsManifest[0]!.weights.reduce(
      (s, w) => s + w.shape.reduce((a, b) => a * b, 1) * 4,
      0,
    );
    expect(read('group1-shard1of1.bin').length).toBe(bytes);
    const card = read('MODEL_CARD.md').toString('utf8');
    expect(card.split('\n').slice(0, 4).join('\n')).toMatch(
      /synthetic training data — not for clinical use/,
    );
    expect(card).toContain(`${(metrics.test.accuracy * 100).toFixed(1)} %`);
    const total = (dir: string): number =>
      readdirSync(dir).reduce((s, f) => {
        const p = join(dir, f);
        return s + (statSync(p).isDirectory() ? total(p) : statSync(p).size);
      }, 0);
    expect(total(DIR)).toBeLessThan(2 * 1024 * 1024);
    for (const l of LABELS)
      for (const f of [`${l}.png`, `${l}-mask.png`])
        expect(statSync(join(DIR, 'samples', f)).size).toBeGreaterThan(0);
  });

  it('metrics are self-consistent and the held-out accuracy is what the card says', () => {
    const cm = metrics.test.confusionMatrix.counts;
    const n = cm.flat().reduce((a, b) => a + b, 0);
    expect(n).toBe(metrics.test.n);
    const right = cm.reduce((s, row, i) => s + row[i]!, 0);
    expect(Math.abs(right / n - metrics.test.accuracy)).toBeLessThan(1e-4);
    expect(metrics.test.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(metrics.pointingGame.all.dilated).toBeGreaterThanOrEqual(
      metrics.pointingGame.all.strict,
    );
  });

  it('the Grad-CAM target is followed by GAP → Dense logits → softmax, as the manifest head says', () => {
    const names = model.layers.map((l) => l.name);
    const at = names.indexOf('gradcam_target');
    expect(names.slice(at, at + 4)).toEqual(['gradcam_target', 'gap', 'logits', 'probabilities']);
    const graph = onnx.ModelProto.decode(read('model.onnx')).graph as onnx.GraphProto;
    expect(graph.input.map((i) => i.name)).toEqual(['image']);
    expect(graph.output.map((o) => o.name)).toEqual(['logits', 'probabilities', 'gradcam_target']);
    const kernel = graph.initializer.find((t) => t.name === 'logits/kernel')!;
    const k = model.getLayer('logits').getWeights()[0]!;
    expect(kernel.dims!.map(Number)).toEqual(k.shape);
    const raw = new Uint8Array(kernel.rawData!).slice();
    expect(Array.from(new Float32Array(raw.buffer))).toEqual(Array.from(k.dataSync()));
  });

  it.each(LABELS)(
    'sample %s: tfjs and ONNX agree (p, logits, NCHW features), prediction as in metrics.json, analytic Grad-CAM weights = tf.grad',
    async (label) => {
      const x = await sampleInput(label);
      const probe = tf.model({
        inputs: model.inputs,
        outputs: [
          model.getLayer('gradcam_target').output as tf.SymbolicTensor,
          model.getLayer('logits').output as tf.SymbolicTensor,
          model.outputs[0]!,
        ],
      });
      const input = tf.tensor4d(x, [1, S, S, 1]);
      const [a, logits, probs] = probe.predict(input) as tf.Tensor[];
      const out = await session.run({ image: new ort.Tensor('float32', x, [1, 1, S, S]) });
      const p = probs!.dataSync();
      const po = out.probabilities!.data as Float32Array;
      const lo = out.logits!.data as Float32Array;
      for (let c = 0; c < 3; c++) {
        expect(Math.abs(p[c]! - po[c]!)).toBeLessThan(1e-4);
        expect(Math.abs(logits!.dataSync()[c]! - lo[c]!)).toBeLessThan(1e-4);
      }
      const [, h, w, kk] = a!.shape as number[];
      expect(out.gradcam_target!.dims).toEqual([1, kk, h, w]);
      const fa = a!.dataSync();
      const fo = out.gradcam_target!.data as Float32Array;
      let worst = 0;
      for (let k = 0; k < kk!; k++)
        for (let q = 0; q < h! * w!; q++)
          worst = Math.max(worst, Math.abs(fa[q * kk! + k]! - fo[k * h! * w! + q]!));
      expect(worst).toBeLessThan(1e-4);
      const predicted = LABELS[p.indexOf(Math.max(...p))]!;
      expect(predicted).toBe(metrics.samples[label]!.predicted);

      // d logit_c / dA = W[:, c] / (h·w) at every position (the manifest's gap-dense head)
      const c = LABELS.indexOf(label);
      const head = (t: tf.Tensor) =>
        (
          model.getLayer('logits').apply(model.getLayer('gap').apply(t) as tf.Tensor) as tf.Tensor
        ).slice([0, c], [1, 1]);
      const g = tf
        .grad((t: tf.Tensor) => head(t).sum())(a!)
        .dataSync();
      const W = model.getLayer('logits').getWeights()[0]!.dataSync();
      for (let q = 0; q < h! * w!; q += 7)
        for (let k = 0; k < kk!; k++)
          expect(Math.abs(g[q * kk! + k]! - W[k * 3 + c]! / (h! * w!))).toBeLessThan(1e-7);
      tf.dispose([input, a!, logits!, probs!]);
    },
  );
});
