import { createRng } from '../../models/training/phantom';

/** Deterministic uniform numbers in [-1, 1) (mulberry32, as the phantom generator uses), the same on every backend. */
export function seededRandom(seed: number): () => number {
  const rng = createRng(seed);
  return () => rng() * 2 - 1;
}
