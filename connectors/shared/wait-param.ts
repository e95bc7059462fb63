import { HttpProblem } from '../../engine/http/problem';
import { parseDuration } from '../../engine/time';

/** `?wait=10s` → milliseconds (0 when absent); out of range or unparseable → 400. */
export function parseWaitParam(value: string | undefined, maxMs: number): number {
  if (value === undefined || value === '') return 0;
  const ms = parseDuration(value);
  if (ms === undefined || ms < 0 || ms > maxMs) {
    throw new HttpProblem(
      400,
      'invalid-parameter',
      'Invalid wait parameter',
      `wait must be a duration like 10s or 500ms, at most ${maxMs / 1000}s (got ${JSON.stringify(value)})`,
      [{ field: 'wait', message: `must be a duration up to ${maxMs / 1000}s` }],
    );
  }
  return ms;
}
