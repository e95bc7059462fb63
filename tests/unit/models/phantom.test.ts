import {
  createRng,
  generatePhantom,
  PHANTOM_LABELS,
  type PhantomLabel,
} from '../../../models/training/phantom';

const SIZE = 96;

function many(label: PhantomLabel, count: number, seed: number) {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => generatePhantom(rng, { size: SIZE, label }));
}

/** Lesion pixels per lung (index 1 and 2 of the lung mask) and outside both. */
function lesionByLung(p: ReturnType<typeof generatePhantom>): [number, number, number] {
  const counts: [number, number, number] = [0, 0, 0];
  p.mask.forEach((m, i) => {
    const lung = p.lungMask[i] as 0 | 1 | 2;
    if (m) counts[lung] += 1;
  });
  return counts;
}

describe('synthetic chest-radiograph phantoms', () => {
  it('labels are exactly covid19, normal, pneumonia in that order', () => {
    expect(PHANTOM_LABELS).toEqual(['covid19', 'normal', 'pneumonia']);
  });

  it('createRng is a seeded uniform source in [0, 1)', () => {
    const a = createRng(42);
    const b = createRng(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
    expect(createRng(43)()).not.toBe(createRng(42)());
  });

  it.each(PHANTOM_LABELS)('is deterministic for a seed (%s)', (label) => {
    const a = generatePhantom(createRng(7), { size: SIZE, label });
    const b = generatePhantom(createRng(7), { size: SIZE, label });
    const c = generatePhantom(createRng(8), { size: SIZE, label });
    expect(Buffer.from(a.image.buffer).equals(Buffer.from(b.image.buffer))).toBe(true);
    expect(Buffer.from(a.mask.buffer).equals(Buffer.from(b.mask.buffer))).toBe(true);
    expect(Buffer.from(a.image.buffer).equals(Buffer.from(c.image.buffer))).toBe(false);
    expect(a.label).toBe(label);
  });

  it('images are size×size in [0, 1] with dark air outside the body and darker lungs than the mediastinum', () => {
    for (const label of PHANTOM_LABELS) {
      for (const p of many(label, 5, 11)) {
        expect(p.image).toHaveLength(SIZE * SIZE);
        expect(p.mask).toHaveLength(SIZE * SIZE);
        expect(p.lungMask).toHaveLength(SIZE * SIZE);
        let min = Infinity;
        let max = -Infinity;
        for (const v of p.image) {
          expect(Number.isFinite(v)).toBe(true);
          min = Math.min(min, v);
          max = Math.max(max, v);
        }
        expect(min).toBeGreaterThanOrEqual(0);
        expect(max).toBeLessThanOrEqual(1);
        expect(max - min).toBeGreaterThan(0.4);
        // corners (air beside the neck) darker than the centre line (mediastinum)
        const at = (x: number, y: number) => p.image[y * SIZE + x]!;
        const corner = (at(1, 1) + at(SIZE - 2, 1)) / 2;
        const midline = at(SIZE / 2, Math.round(SIZE * 0.45));
        expect(corner).toBeLessThan(midline - 0.2);
        // both lungs present, the mean lung (lesions aside) darker than the mean non-lung body
        let lungSum = 0;
        let lungN = 0;
        const sides = new Set<number>();
        p.lungMask.forEach((l, i) => {
          if (l) sides.add(l);
          if (l && !p.mask[i]) {
            lungSum += p.image[i]!;
            lungN++;
          }
        });
        expect([...sides].sort()).toEqual([1, 2]);
        expect(lungSum / lungN).toBeLessThan(midline - 0.1);
      }
    }
  });

  it('lesion masks lie inside the lung fields', () => {
    for (const label of PHANTOM_LABELS) {
      for (const p of many(label, 20, 21)) {
        expect(lesionByLung(p)[0]).toBe(0);
      }
    }
  });

  it('normal: empty lesion mask', () => {
    for (const p of many('normal', 20, 31)) expect(p.mask.every((m) => m === 0)).toBe(true);
  });

  it('covid19: opacities in both lungs, brighter than the clear lung around them', () => {
    for (const p of many('covid19', 30, 41)) {
      const [, left, right] = lesionByLung(p);
      expect(left).toBeGreaterThan(0);
      expect(right).toBeGreaterThan(0);
      let lesion = 0;
      let clear = 0;
      let nl = 0;
      let nc = 0;
      p.lungMask.forEach((l, i) => {
        if (!l) return;
        if (p.mask[i]) {
          lesion += p.image[i]!;
          nl++;
        } else {
          clear += p.image[i]!;
          nc++;
        }
      });
      expect(lesion / nl).toBeGreaterThan(clear / nc);
    }
  });

  it('pneumonia: one consolidation in exactly one lung, on average ≥ 1 % of the image', () => {
    let total = 0;
    for (const p of many('pneumonia', 30, 51)) {
      const [, left, right] = lesionByLung(p);
      expect(left > 0 !== right > 0).toBe(true);
      total += left + right;
    }
    expect(total / 30 / (SIZE * SIZE)).toBeGreaterThan(0.01);
  });

  it('renders the same draws at any size (continuous geometry)', () => {
    const small = generatePhantom(createRng(5), { size: 64, label: 'pneumonia' });
    const large = generatePhantom(createRng(5), { size: 128, label: 'pneumonia' });
    const area = (m: Uint8Array, n: number) => m.reduce((s, v) => s + v, 0) / (n * n);
    expect(Math.abs(area(small.mask, 64) - area(large.mask, 128))).toBeLessThan(0.01);
  });

  it('rejects bad options', () => {
    expect(() => generatePhantom(createRng(1), { size: 8, label: 'normal' })).toThrow(/size/);
    expect(() =>
      generatePhantom(createRng(1), { size: 64, label: 'flu' as unknown as PhantomLabel }),
    ).toThrow(/flu/);
  });
});
