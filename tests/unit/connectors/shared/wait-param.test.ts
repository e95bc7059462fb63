import { parseWaitParam } from '../../../../connectors/shared/wait-param';
import { HttpProblem } from '../../../../engine/http/problem';

function problemOf(fn: () => unknown): HttpProblem {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HttpProblem);
    return err as HttpProblem;
  }
  throw new Error('expected an HttpProblem, nothing was thrown');
}

describe('[REQ-WAIT-01] parseWaitParam', () => {
  it.each([
    [undefined, 0],
    ['', 0],
    ['0', 0],
    ['0s', 0],
    ['10s', 10_000],
    ['500ms', 500],
    ['1m', 60_000],
    ['1.5s', 1_500],
    ['30', 30_000],
    [' 2s ', 2_000],
    ['60s', 60_000],
  ])('wait=%p → %p ms (max 60s)', (value, expected) => {
    expect(parseWaitParam(value, 60_000)).toBe(expected);
  });

  it('accepts exactly the maximum and refuses 1 ms more', () => {
    expect(parseWaitParam('60000ms', 60_000)).toBe(60_000);
    expect(problemOf(() => parseWaitParam('60001ms', 60_000)).status).toBe(400);
  });

  it.each(['61s', '2m', 'abc', '-1s', '10h', '1e3', 's', '10 s', '10S'])(
    'wait=%p is a 400 naming the wait parameter',
    (value) => {
      const problem = problemOf(() => parseWaitParam(value, 60_000));
      expect(problem.status).toBe(400);
      expect(problem.problemType).toBe('invalid-parameter');
      expect(problem.title).toBe('Invalid wait parameter');
      expect(problem.detail).toBe(
        `wait must be a duration like 10s or 500ms, at most 60s (got ${JSON.stringify(value)})`,
      );
      expect(problem.errors).toEqual([{ field: 'wait', message: 'must be a duration up to 60s' }]);
    },
  );

  it('with a maximum of 0 only an absent or zero wait is allowed', () => {
    expect(parseWaitParam(undefined, 0)).toBe(0);
    expect(parseWaitParam('0ms', 0)).toBe(0);
    expect(problemOf(() => parseWaitParam('1ms', 0)).errors).toEqual([
      { field: 'wait', message: 'must be a duration up to 0s' },
    ]);
  });
});
