import { createHash } from 'node:crypto';

/**
 * A name-based UUID (RFC 4122 version-5 layout: SHA-1 of the name, version and variant bits set)
 * derived from its parts, so processing the same input again yields the same id — what
 * idempotent sinks key on, and what FHIR `urn:uuid:` fullUrls need.
 */
export function stableId(parts: readonly (string | null | undefined)[]): string {
  const h = createHash('sha1')
    .update(parts.map((p) => p ?? '').join('\u0000'))
    .digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x50;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
