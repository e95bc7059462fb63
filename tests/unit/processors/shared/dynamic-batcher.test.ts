import { DynamicBatcher } from '../../../../processors/shared/dynamic-batcher';

describe('[REQ-IMG-BATCH] dynamic batching', () => {
  it('fills batches up to maxBatchSize while one runs, and runs one batch at a time', async () => {
    const sizes: number[] = [];
    let concurrent = 0;
    let maxConcurrent = 0;
    const batcher = new DynamicBatcher<number, number>(
      async (items) => {
        concurrent += 1;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        sizes.push(items.length);
        await new Promise((r) => setImmediate(r));
        concurrent -= 1;
        return items.map((i) => i * 10);
      },
      () => ({ maxBatchSize: 4, maxQueueDelayMs: 1000 }),
    );
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.submit(i)));
    expect(results.map((r) => r.output)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(sizes).toEqual([4, 4, 2]);
    expect(results.map((r) => r.batchSize)).toEqual([4, 4, 4, 4, 4, 4, 4, 4, 2, 2]);
    expect(maxConcurrent).toBe(1);
  });

  it('runs a lone item once its queue delay has passed', async () => {
    const batcher = new DynamicBatcher<string, string>(
      async (items) => items.map((s) => s.toUpperCase()),
      () => ({
        maxBatchSize: 8,
        maxQueueDelayMs: 5,
      }),
    );
    await expect(batcher.submit('a')).resolves.toMatchObject({ output: 'A', batchSize: 1 });
  });

  it('a failing item fails alone: the rest of its batch still gets results', async () => {
    const batcher = new DynamicBatcher<string, string>(
      async (items) => {
        if (items.includes('bad')) throw new Error('model failed on bad input');
        return items.map((s) => `ok:${s}`);
      },
      () => ({ maxBatchSize: 3, maxQueueDelayMs: 1000 }),
    );
    const settled = await Promise.allSettled(['x', 'bad', 'y'].map((s) => batcher.submit(s)));
    expect(settled[0]).toMatchObject({
      status: 'fulfilled',
      value: { output: 'ok:x', batchSize: 1 },
    });
    expect(settled[1]).toMatchObject({
      status: 'rejected',
      reason: { code: 'PROCESSING_FAILED', message: 'model failed on bad input' },
    });
    expect(settled[2]).toMatchObject({ status: 'fulfilled', value: { output: 'ok:y' } });
  });
});
