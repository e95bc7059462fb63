import type { ConfigSchema } from './json-schema';

/**
 * How the runtime retries a record whose handler failed with a retriable EngineError — one
 * fragment every consumer-based component puts under `retry` in its config schema and passes to
 * `ctx.createConsumer`. The RecordConsumer owns the loop (a handler never sleeps): the partition
 * waits `min(maxBackoffMs, initialBackoffMs·2^(n-1))` (equal jitter) before attempt n+1, keeps
 * heartbeating while it waits, and after `maxAttempts` failed attempts dead-letters the record
 * with the last error and `attempts` = maxAttempts. 0 = retry forever (never skip ahead).
 */
export interface RetryConfig {
  /** Failed attempts after which the record is dead-lettered; 0 = retry forever. */
  readonly maxAttempts: number;
  /** Backoff before the second attempt (ms); doubles per attempt. */
  readonly initialBackoffMs: number;
  /** Ceiling of the backoff (ms). */
  readonly maxBackoffMs: number;
}

/** What a consumer does when a component declares nothing: retry forever, 0.5 s doubling to 15 s. */
export const DEFAULT_RETRY: RetryConfig = Object.freeze({
  maxAttempts: 0,
  initialBackoffMs: 500,
  maxBackoffMs: 15000,
});

/** The `retry` property of a component config schema, with the component's own defaults. */
export function retryConfigSchema(defaults: Partial<RetryConfig> = {}): ConfigSchema {
  const d = { ...DEFAULT_RETRY, ...defaults };
  return {
    type: 'object',
    additionalProperties: false,
    default: {},
    description:
      'Retry of a record whose handling failed retriably (peer down, timeout): the partition waits with exponential backoff, keeping its group membership, then dead-letters the record after maxAttempts.',
    properties: {
      maxAttempts: {
        type: 'integer',
        minimum: 0,
        maximum: 1000,
        default: d.maxAttempts,
        description:
          'Failed attempts after which the record goes to medstream.dlq.v1 (0 = retry forever).',
      },
      initialBackoffMs: {
        type: 'integer',
        minimum: 10,
        maximum: 3600000,
        default: d.initialBackoffMs,
        description: 'Wait before the second attempt, in ms; doubled for each further attempt.',
      },
      maxBackoffMs: {
        type: 'integer',
        minimum: 10,
        maximum: 3600000,
        default: d.maxBackoffMs,
        description: 'Longest wait between two attempts, in ms.',
      },
    },
  };
}

/**
 * The wait after failed attempt `attempt` (1-based): a ceiling of initialBackoffMs doubled per
 * further attempt, capped at maxBackoffMs, with equal jitter — a delay in [ceiling/2, ceiling],
 * so consumers that failed together do not all come back at the same instant.
 */
export function retryBackoffMs(
  attempt: number,
  retry: RetryConfig,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(
    retry.maxBackoffMs,
    retry.initialBackoffMs * 2 ** Math.max(0, attempt - 1),
  );
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
