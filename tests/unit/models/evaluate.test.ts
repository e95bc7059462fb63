import {
  argmax,
  confusionMatrix,
  gradCamGapDense,
  pointingHit,
} from '../../../models/training/evaluate';

describe('training evaluation helpers', () => {
  it('confusionMatrix counts rows = truth, columns = prediction', () => {
    expect(confusionMatrix([0, 0, 1, 2, 2], [0, 2, 1, 2, 0], 3)).toEqual([
      [1, 0, 1],
      [0, 1, 0],
      [1, 0, 1],
    ]);
  });

  it('argmax takes the first maximum of a slice', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([9, 1, 5, 5, 0], 1, 3)).toBe(1);
    expect(argmax([])).toBe(-1);
  });

  it('gradCamGapDense = ReLU(Σ_k W[k,c]/(h·w) · A_k)', () => {
    // 1×2 map, 2 channels (channels last), 2 classes; W stored [K, C]
    const features = new Float32Array([1, 2, 3, 4]); // cell0: (1,2), cell1: (3,4)
    const kernel = new Float32Array([0.5, -1, -0.25, 1]); // W[0]=[0.5,-1], W[1]=[-0.25,1]
    const cam0 = gradCamGapDense(features, 1, 2, 2, kernel, 2, 0);
    expect(Array.from(cam0)).toEqual([0, 0.25]); // (0.5·1 − 0.25·2)/2 = 0 ; (0.5·3 − 0.25·4)/2
    const cam1 = gradCamGapDense(features, 1, 2, 2, kernel, 2, 1);
    expect(Array.from(cam1)).toEqual([0.5, 0.5]);
  });

  it('pointingHit: peak cell centre on the mask, or within the tolerance', () => {
    const size = 8;
    const mask = new Uint8Array(size * size);
    mask[1 * size + 6] = 1; // pixel (x 6, y 1)
    const cam = new Float32Array([0, 1, 0, 0]); // 2×2 map: peak top-right cell, centre (6, 2)
    expect(pointingHit(cam, 2, 2, mask, size, 0)).toBe(false);
    expect(pointingHit(cam, 2, 2, mask, size, 1)).toBe(true);
    mask[2 * size + 6] = 1;
    expect(pointingHit(cam, 2, 2, mask, size, 0)).toBe(true);
    expect(pointingHit(new Float32Array(4), 2, 2, mask, size, 8)).toBe(false); // all-zero CAM
  });
});
