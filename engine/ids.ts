import { createHash } from 'node:crypto';

/**
 * A UUID-shaped id derived from its parts (SHA-256, first 128 bits), so processing the same
 * input again yields the same id — what idempotent sinks key on.
 */
export function stableId(parts: readonly (string | null | undefined)[]): string {
  const hex = createHash('sha256')
    .update(parts.map((p) => p ?? '').join('\u0000'))
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
