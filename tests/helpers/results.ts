import type { ResultStore, StoredResult } from '../../engine/store/result-store';
import { expectedTotalFor } from './load';
import { waitFor } from './wait-for';

/**
 * Waits until the store holds `baselineDone + accepted.length` finished results, then checks
 * that each accepted id is there exactly once, done, with the NEWS2 total its input implies.
 */
export async function expectAllDone(
  store: ResultStore,
  accepted: ReadonlyArray<{ id: string; respiratoryRate: number }>,
  baselineDone: number,
  timeoutMs = 120000,
): Promise<StoredResult[]> {
  const target = baselineDone + accepted.length;
  await waitFor(async () => (await store.countByStatus()).done >= target, {
    timeoutMs,
    intervalMs: 250,
    what: `${accepted.length} results`,
  });
  const rows: StoredResult[] = [];
  for (let i = 0; i < accepted.length; i += 100) {
    rows.push(
      ...(await Promise.all(accepted.slice(i, i + 100).map(async (a) => (await store.get(a.id))!))),
    );
  }
  rows.forEach((row, i) => {
    const a = accepted[i]!;
    expect(row).toMatchObject({ id: a.id, status: 'done' });
    expect((row.payload!.news2 as { total: number }).total).toBe(
      expectedTotalFor(a.respiratoryRate),
    );
  });
  const counts = await store.countByStatus();
  expect(counts.done).toBe(target); // no extra rows: nothing stored twice under another id
  expect(counts.pending).toBe(0);
  return rows;
}
