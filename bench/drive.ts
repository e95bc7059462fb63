/** Closed-loop load for the benchmarks: `clients` loops taking request indexes in order. */

export function percentileOf(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `total` requests from `clients` concurrent loops; rate, duration and latency percentiles. */
export async function drive(total: number, clients: number, request: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        const i = next++;
        const s = process.hrtime.bigint();
        await request(i);
        latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: total / seconds,
    seconds,
    p50: percentileOf(latencies, 50),
    p95: percentileOf(latencies, 95),
  };
}
