import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { ModelManifest } from '../../processors/shared/model-manifest';
import { exportLayersModelToOnnx } from '../../models/training/onnx/export-layers-model';
import {
  loadClassifier,
  type ClassifierOutput,
  type ClassifierRuntime,
} from '../../processors/shared/runtime/classifier';
import { ModelRepository } from '../../processors/shared/runtime/model-repository';
import { writeDenseNetLikeOnnx } from '../helpers/byom-onnx';
import { seededRandom } from '../helpers/seeded-random';
import {
  buildTinyModel,
  TINY,
  tinyInputs,
  tinyManifest,
  writeTinyModelDir,
} from '../unit/processors/shared/runtime/tiny-model';

/**
 * The same model on every runtime gives the same answer: tfjs on the pure-JS and WebAssembly
 * backends (Grad-CAM by tf.grad through the head) against ONNX Runtime (Grad-CAM analytically
 * from the exported feature map and the head weights).
 */
const PROBABILITY_TOLERANCE = 1e-4;
const CAM_TOLERANCE = 1e-3;

const CXR_DEMO = join(__dirname, '..', '..', 'models', 'cxr-demo', '1.0.0');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

function normalisedByMax(data: Float32Array): Float32Array {
  let max = 0;
  for (const v of data) max = Math.max(max, v);
  return max > 0 ? data.map((v) => v / max) : data;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

interface Parity {
  probabilities: number;
  cam: number;
}

/** Max differences of `candidate` from `reference`, probabilities and max-normalised CAMs. */
function compare(reference: ClassifierOutput[], candidate: ClassifierOutput[]): Parity {
  const worst: Parity = { probabilities: 0, cam: 0 };
  reference.forEach((ref, i) => {
    const out = candidate[i]!;
    worst.probabilities = Math.max(
      worst.probabilities,
      maxAbsDiff(ref.probabilities, out.probabilities),
    );
    expect(out.cam).toBeDefined();
    expect([out.cam!.height, out.cam!.width, out.cam!.classIndex]).toEqual([
      ref.cam!.height,
      ref.cam!.width,
      ref.cam!.classIndex,
    ]);
    worst.cam = Math.max(
      worst.cam,
      maxAbsDiff(normalisedByMax(ref.cam!.data), normalisedByMax(out.cam!.data)),
    );
  });
  return worst;
}

async function runtimes(
  dir: string,
  manifest: ModelManifest,
): Promise<Record<'onnx' | 'tfjs-cpu' | 'tfjs-wasm', ClassifierRuntime>> {
  return {
    onnx: await loadClassifier(dir, manifest, { runtime: 'onnx', onnxExecutionProviders: ['cpu'] }),
    'tfjs-cpu': await loadClassifier(dir, manifest, { runtime: 'tfjs', tfjsBackend: 'cpu' }),
    'tfjs-wasm': await loadClassifier(dir, manifest, { runtime: 'tfjs', tfjsBackend: 'wasm' }),
  };
}

async function expectParity(
  dir: string,
  manifest: ModelManifest,
  inputs: Float32Array[],
): Promise<void> {
  const rt = await runtimes(dir, manifest);
  expect([rt.onnx.kind, rt['tfjs-cpu'].backend, rt['tfjs-wasm'].backend]).toEqual([
    'onnx',
    'cpu',
    'wasm',
  ]);
  const classIndex = inputs.map((_, i) => (i === 1 ? manifest.labels.length - 1 : undefined)); // one explicit class
  const onnx = await rt.onnx.classify(inputs, { gradcam: true, classIndex });
  const report: Record<string, Parity> = {};
  for (const name of ['tfjs-cpu', 'tfjs-wasm'] as const) {
    const parity = compare(onnx, await rt[name].classify(inputs, { gradcam: true, classIndex }));
    report[name] = parity;
    expect(parity.probabilities).toBeLessThanOrEqual(PROBABILITY_TOLERANCE);
    expect(parity.cam).toBeLessThanOrEqual(CAM_TOLERANCE);
  }
  process.stderr.write(
    `[parity] ${manifest.name}@${manifest.version} vs onnx: ${JSON.stringify(report)}\n`,
  );
  await Promise.all(Object.values(rt).map((r) => r.dispose()));
}

describe('[REQ-IMG-PARITY] tfjs (cpu, wasm) and ONNX give the same probabilities and Grad-CAM', () => {
  for (const channels of [1, 3] as const)
    it(`tiny programmatic model, ${channels} channel(s), exported with exportLayersModelToOnnx: probabilities ≤ ${PROBABILITY_TOLERANCE}, normalised CAM ≤ ${CAM_TOLERANCE}`, async () => {
      const dir = tempDir('medstream-parity-');
      const model = buildTinyModel({ seed: 13, channels, classes: 4 });
      const manifest = tinyManifest('tiny', '1.0.0', { channels, classes: 4, onnx: true });
      await writeTinyModelDir(dir, model, manifest);
      writeFileSync(
        join(dir, 'model.onnx'),
        exportLayersModelToOnnx(model, { inputName: 'input', extraOutputs: [TINY.target] }),
      );
      await expectParity(dir, manifest, tinyInputs(4, 16 * 16 * channels, 31 + channels));
    });

  const cxrPresent = existsSync(join(CXR_DEMO, 'manifest.json'));
  (cxrPresent ? it : it.skip)(
    `models/cxr-demo/1.0.0${cxrPresent ? '' : ' (SKIPPED: models/cxr-demo/1.0.0 does not exist yet)'}: probabilities ≤ ${PROBABILITY_TOLERANCE}, normalised CAM ≤ ${CAM_TOLERANCE}`,
    async () => {
      const manifest = JSON.parse(
        readFileSync(join(CXR_DEMO, 'manifest.json'), 'utf8'),
      ) as ModelManifest;
      expect(manifest.artifacts.tfjs && manifest.artifacts.onnx).toBeTruthy();
      const { height, width, channels } = manifest.input;
      // smooth seeded images in the normalised range, one per batch slot
      const random = seededRandom(5);
      const inputs = Array.from({ length: 2 }, () => {
        const fx = 1 + random() * 3;
        const fy = 1 + random() * 3;
        const image = new Float32Array(height * width * channels);
        for (let y = 0; y < height; y++)
          for (let x = 0; x < width; x++) {
            const v =
              Math.sin((x / width) * fx * Math.PI) * Math.cos((y / height) * fy * Math.PI) +
              0.1 * random();
            for (let c = 0; c < channels; c++) image[(y * width + x) * channels + c] = v;
          }
        return image;
      });
      await expectParity(CXR_DEMO, manifest, inputs);
    },
  );
});

describe('[REQ-IMG-BYOM] a bring-your-own ONNX model served by its manifest alone', () => {
  it('DenseNet-like ONNX (features not a graph output, Gemm transB=1 head): 18 sigmoid probabilities in (0,1) and a 7x7 Grad-CAM', async () => {
    const scratch = tempDir('medstream-byom-');
    const written = await writeDenseNetLikeOnnx(scratch);
    const manifest = JSON.parse(readFileSync(written.manifestPath, 'utf8')) as ModelManifest;
    // Serve it from <root>/<name>/<version>/, wherever the helper put the files.
    let versionDir = dirname(written.manifestPath);
    let root = dirname(dirname(versionDir));
    if (
      basename(versionDir) !== manifest.version ||
      basename(dirname(versionDir)) !== manifest.name
    ) {
      root = tempDir('medstream-byom-root-');
      const target = join(root, manifest.name, manifest.version);
      mkdirSync(target, { recursive: true });
      for (const file of readdirSync(versionDir))
        copyFileSync(join(versionDir, file), join(target, file));
      versionDir = target;
    }
    const repo = await ModelRepository.open({ root, pollIntervalMs: 0 });
    try {
      const model = await repo.get(manifest.name);
      expect(model.runtime.kind).toBe('onnx');
      expect(model.runtime.gradcamAvailable).toBe(true);
      expect(manifest.multiLabel).toBe(true);
      const { height, width, channels } = manifest.input;
      const [input] = tinyInputs(1, height * width * channels, 77);
      const [out] = await model.runtime.classify([input!], { gradcam: true });
      expect(out!.probabilities).toHaveLength(18);
      for (const p of out!.probabilities) {
        expect(p).toBeGreaterThan(0);
        expect(p).toBeLessThan(1);
      }
      expect(out!.cam).toMatchObject({ height: 7, width: 7 });
      expect(out!.cam!.data).toHaveLength(49);
      expect(out!.cam!.classIndex).toBe(Array.from(out!.logits).indexOf(Math.max(...out!.logits)));
      expect(out!.cam!.data.every((v) => v >= 0 && Number.isFinite(v))).toBe(true);
      expect(repo.status()[0]).toMatchObject({
        served: `${manifest.name}@${manifest.version}`,
        runtime: 'onnx',
        backend: 'cpu',
        device: 'cpu',
      });
    } finally {
      await repo.close();
    }
  });
});
