import { backoffDelay, parseDuration, sleep } from '../../../engine/time';

describe('[REQ-TIME-01] parseDuration', () => {
  it.each([
    ['10s', 10_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['0', 0],
    ['5', 5_000],
    ['1.5s', 1_500],
    ['0.5m', 30_000],
    ['2.5ms', 3],
    ['  10s\t', 10_000],
    ['007s', 7_000],
  ])('%p → %p ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    '',
    ' ',
    'ms',
    's',
    '-1s',
    '+1s',
    '.5s',
    '1.s',
    '1e3',
    '10h',
    '10S',
    '10 s',
    '1,5s',
    'abc',
    '10sec',
    'Infinity',
  ])('%p is invalid (undefined)', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('[REQ-TIME-02] backoffDelay', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  /** [lowest, highest] delay for an attempt, by forcing Math.random to its extremes. */
  function bounds(attempt: number, baseMs?: number, maxMs?: number): [number, number] {
    const random = jest.spyOn(Math, 'random');
    random.mockReturnValue(0);
    const low = backoffDelay(attempt, baseMs, maxMs);
    random.mockReturnValue(0.9999999999);
    const high = backoffDelay(attempt, baseMs, maxMs);
    random.mockRestore();
    return [low, high];
  }

  it.each([
    [0, [100, 200]],
    [1, [200, 400]],
    [2, [400, 800]],
    [5, [3_200, 6_400]],
    [7, [12_800, 25_600]],
    [8, [15_000, 30_000]],
    [20, [15_000, 30_000]],
    [5000, [15_000, 30_000]],
  ] as const)(
    'attempt %p with defaults (200 ms base, 30 s cap) lies in %j',
    (attempt, expected) => {
      expect(bounds(attempt)).toEqual(expected);
    },
  );

  it('honours a custom base and cap', () => {
    expect(bounds(0, 1_000, 5_000)).toEqual([500, 1_000]);
    expect(bounds(3, 1_000, 5_000)).toEqual([2_500, 5_000]);
  });

  it('random delays stay within [ceiling/2, ceiling] and vary', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3);
      expect(d).toBeGreaterThanOrEqual(800);
      expect(d).toBeLessThanOrEqual(1_600);
      expect(Number.isInteger(d)).toBe(true);
      seen.add(d);
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it('never exceeds the cap', () => {
    for (let attempt = 0; attempt < 64; attempt++)
      expect(backoffDelay(attempt)).toBeLessThanOrEqual(30_000);
  });
});

describe('[REQ-TIME-03] sleep', () => {
  it('resolves after the given time', async () => {
    jest.useFakeTimers();
    try {
      let done = false;
      const p = sleep(1_000).then(() => {
        done = true;
      });
      await jest.advanceTimersByTimeAsync(999);
      expect(done).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      await p;
      expect(done).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });
});
