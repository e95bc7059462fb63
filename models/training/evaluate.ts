/**
 * Evaluation helpers for the demo classifier: confusion matrix, Grad-CAM from a feature map and
 * a GAP → Dense head, and the pointing game.
 */

/** counts[t][p]: items of true class t predicted as p. */
export function confusionMatrix(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classes: number,
): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < truth.length; i++) m[truth[i]!]![predicted[i]!]! += 1;
  return m;
}

export function argmax(values: ArrayLike<number>, offset = 0, length = values.length): number {
  let best = -Infinity;
  let at = -1;
  for (let i = 0; i < length; i++) {
    const v = values[offset + i]!;
    if (v > best) {
      best = v;
      at = i;
    }
  }
  return at;
}

/**
 * Grad-CAM for class `c` of one item from its feature map A (h×w×K, channels last) and the
 * Dense kernel W ([K, C] as Keras stores it), for logits = GAP(A) · W + b:
 * d logit_c / d A_k(i, j) = W[k, c] / (h·w), so α_k = W[k, c] / (h·w) and
 * CAM = ReLU(Σ_k α_k A_k).
 */
export function gradCamGapDense(
  features: Float32Array,
  h: number,
  w: number,
  k: number,
  kernel: Float32Array,
  classes: number,
  c: number,
): Float32Array {
  const cam = new Float32Array(h * w);
  const cells = h * w;
  for (let p = 0; p < cells; p++) {
    let s = 0;
    for (let ch = 0; ch < k; ch++) s += (kernel[ch * classes + c]! / cells) * features[p * k + ch]!;
    cam[p] = s > 0 ? s : 0;
  }
  return cam;
}

/**
 * Pointing game for one CAM: the centre of its peak cell, mapped to image pixels, must fall on
 * the lesion mask (size×size), or within `tolerancePx` pixels of it (Chebyshev distance, i.e.
 * the mask dilated by a square). A CAM that is zero everywhere is a miss.
 */
export function pointingHit(
  cam: Float32Array,
  h: number,
  w: number,
  mask: Uint8Array,
  size: number,
  tolerancePx: number,
): boolean {
  const peak = argmax(cam);
  if (peak < 0 || !(cam[peak]! > 0)) return false;
  const row = Math.floor(peak / w);
  const col = peak % w;
  const py = Math.min(size - 1, Math.floor(((row + 0.5) * size) / h));
  const px = Math.min(size - 1, Math.floor(((col + 0.5) * size) / w));
  for (let y = Math.max(0, py - tolerancePx); y <= Math.min(size - 1, py + tolerancePx); y++)
    for (let x = Math.max(0, px - tolerancePx); x <= Math.min(size - 1, px + tolerancePx); x++)
      if (mask[y * size + x]) return true;
  return false;
}
