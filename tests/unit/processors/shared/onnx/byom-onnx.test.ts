import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { validateManifest } from '../../../../../processors/shared/runtime/manifest-validation';
import {
  BYOM_FEATURES,
  BYOM_LABELS,
  buildDenseNetLikeOnnx,
  writeDenseNetLikeOnnx,
} from '../../../../helpers/byom-onnx';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'medstream-byom-unit-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function input(n: number, seed = 3): Float32Array {
  let a = seed;
  return Float32Array.from({ length: n * 224 * 224 }, () => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return (a / 2147483648) * 2 - 1;
  });
}

describe('bring-your-own-model fixture (DenseNet-121-shaped ONNX)', () => {
  it('loads in onnxruntime-node: input "input" [N,1,224,224] → logits [1,18]; features is not an output', async () => {
    const { onnxPath } = writeDenseNetLikeOnnx(dir);
    const session = await ort.InferenceSession.create(readFileSync(onnxPath));
    expect(session.inputNames).toEqual(['input']);
    expect(session.outputNames).toEqual(['logits']);
    const out = await session.run({ input: new ort.Tensor('float32', input(1), [1, 1, 224, 224]) });
    expect(out.logits!.dims).toEqual([1, 18]);
    const logits = out.logits!.data as Float32Array;
    // finite and far from sigmoid saturation, so every probability is strictly inside (0, 1)
    for (const v of logits) {
      expect(Number.isFinite(v)).toBe(true);
      expect(Math.abs(v)).toBeLessThan(15);
    }
    expect(new Set(Array.from(logits, (v) => v.toFixed(4))).size).toBeGreaterThan(5);
    const batch = await session.run({
      input: new ort.Tensor('float32', input(2), [2, 1, 224, 224]),
    });
    expect(batch.logits!.dims).toEqual([2, 18]);
    await session.release();
  });

  it('is deterministic, and the manifest is valid with 18 labels', () => {
    const a = buildDenseNetLikeOnnx();
    expect(Buffer.from(buildDenseNetLikeOnnx()).equals(Buffer.from(a))).toBe(true);
    const { manifestPath } = writeDenseNetLikeOnnx(dir);
    const raw: unknown = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const { manifest, warnings } = validateManifest(raw, manifestPath, {
      name: 'byom-densenet',
      version: '1',
    });
    expect(warnings).toEqual([]);
    expect(manifest.labels).toEqual(BYOM_LABELS);
    expect(new Set(manifest.labels).size).toBe(18);
    expect(manifest).toMatchObject({
      multiLabel: true,
      input: { height: 224, width: 224, channels: 1 },
      gradcam: {
        onnxTensor: 'features',
        head: { weights: 'classifier.weight', weightsLayout: 'CK', relu: true },
      },
      onnx: { inputName: 'input', layout: 'NCHW', outputName: 'logits', outputIs: 'logits' },
    });
  });

  it('the head is what the manifest says: logits = GAP(relu(features)) · classifier.weightᵀ + bias, features [N,K,7,7]', async () => {
    const proto = onnx.ModelProto.decode(buildDenseNetLikeOnnx());
    const graph = proto.graph as onnx.GraphProto;
    const weight = graph.initializer.find((t) => t.name === 'classifier.weight')!;
    const bias = graph.initializer.find((t) => t.name === 'classifier.bias')!;
    expect(weight.dims!.map(Number)).toEqual([18, BYOM_FEATURES]);
    const gemm = graph.node.find((n) => n.opType === 'Gemm')!;
    expect(Number(gemm.attribute!.find((a) => a.name === 'transB')!.i)).toBe(1);
    expect(graph.node.some((n) => n.output!.includes('features'))).toBe(true);
    // expose 'features' the way a runtime would, then recompute the logits from it
    graph.output.push({ name: 'features' });
    const session = await ort.InferenceSession.create(onnx.ModelProto.encode(proto).finish());
    const out = await session.run({
      input: new ort.Tensor('float32', input(1, 9), [1, 1, 224, 224]),
    });
    await session.release();
    expect(out.features!.dims).toEqual([1, BYOM_FEATURES, 7, 7]);
    const f = out.features!.data as Float32Array;
    const w = new Float32Array(new Uint8Array(weight.rawData!).slice().buffer);
    const b = new Float32Array(new Uint8Array(bias.rawData!).slice().buffer);
    const logits = out.logits!.data as Float32Array;
    for (let c = 0; c < 18; c++) {
      let s = b[c]!;
      for (let k = 0; k < BYOM_FEATURES; k++) {
        let mean = 0;
        for (let p = 0; p < 49; p++) mean += Math.max(0, f[k * 49 + p]!);
        s += (mean / 49) * w[c * BYOM_FEATURES + k]!;
      }
      expect(Math.abs(s - logits[c]!)).toBeLessThan(1e-4);
    }
  });
});
