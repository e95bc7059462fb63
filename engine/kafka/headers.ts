import type { IHeaders } from 'kafkajs';

export const HEADER_CORRELATION_ID = 'correlation-id';
export const HEADER_TRACEPARENT = 'traceparent';

/** Kafka header values arrive as Buffers (or arrays of them); medstream's are all UTF-8 strings. */
export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined)
      out[name] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

/** A W3C traceparent for a new trace (version 00, sampled). */
export function newTraceparent(randomHex: (bytes: number) => string): string {
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}
