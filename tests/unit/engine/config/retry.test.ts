import { loadConfig } from '../../../../engine/config/load-config';
import {
  DEFAULT_RETRY,
  type RetryConfig,
  retryBackoffMs,
  retryConfigSchema,
} from '../../../../engine/config/retry';

const componentSchemas = {
  sink: {
    type: 'object' as const,
    additionalProperties: false,
    properties: { retry: retryConfigSchema({ maxAttempts: 6, initialBackoffMs: 1000 }) },
  },
  processor: {
    type: 'object' as const,
    additionalProperties: false,
    properties: { retry: retryConfigSchema() },
  },
};

const load = (components: Record<string, unknown>) =>
  loadConfig({ env: {}, file: '/dev/null', componentSchemas, overrides: { components } });

describe('[REQ-GUAR-03] the shared retry config fragment', () => {
  it('fills each component’s own defaults; without any, retry forever from 0.5 s to 15 s', () => {
    const config = load({});
    expect(config.components.sink!.retry).toEqual({
      maxAttempts: 6,
      initialBackoffMs: 1000,
      maxBackoffMs: 15000,
    });
    expect(config.components.processor!.retry).toEqual(DEFAULT_RETRY);
    expect(DEFAULT_RETRY.maxAttempts).toBe(0);
  });

  it('every field has a description and a default', () => {
    const schema = retryConfigSchema();
    for (const [key, field] of Object.entries(schema.properties!)) {
      expect([key, typeof field.description]).toEqual([key, 'string']);
      expect(field.default).toEqual(expect.any(Number));
    }
  });

  it('an invalid value or an unknown key is refused, naming its path', () => {
    expect(() => load({ sink: { retry: { maxAttempts: -1 } } })).toThrow(
      /components\.sink\.retry\.maxAttempts/,
    );
    expect(() => load({ processor: { retry: { initialBackoffMs: 0 } } })).toThrow(
      /components\.processor\.retry\.initialBackoffMs/,
    );
    expect(() => load({ processor: { retry: { backoff: 5 } } })).toThrow(/retry/);
  });

  it('backoff doubles from initialBackoffMs up to maxBackoffMs, with equal jitter', () => {
    const retry: RetryConfig = { maxAttempts: 0, initialBackoffMs: 1000, maxBackoffMs: 10000 };
    const ceilings = [1, 2, 3, 4, 5, 6].map((a) => retryBackoffMs(a, retry, () => 1));
    expect(ceilings).toEqual([1000, 2000, 4000, 8000, 10000, 10000]);
    const floors = [1, 2, 3, 4, 5, 6].map((a) => retryBackoffMs(a, retry, () => 0));
    expect(floors).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
  });
});
