/**
 * Every failure medstream raises is an EngineError with a code from this one list.
 *
 * `retriable` decides what the runtime does with a failed record:
 *  - retriable (broker down, store unavailable, remote 5xx/timeout): retry with exponential
 *    backoff while that partition waits — never skip ahead;
 *  - non-retriable (corrupt input, unknown schema, validation): one record to medstream.dlq.v1
 *    with the code and message, then commit and go on.
 *
 * How a code is answered on each protocol is one table per protocol, in engine/error-tables/:
 * http-problem.ts (HTTP status + RFC 9457 problem type/title), dicom-status.ts (C-STORE failure
 * status), operation-outcome.ts (FHIR OperationOutcome issue code/severity). The HL7 v2 ACK
 * table (AA/AE/AR + ERR segment) will be engine/error-tables/hl7-ack.ts, in the same shape.
 */
export const ERROR_CODES = [
  'CONFIG_INVALID',
  'KAFKA_UNAVAILABLE',
  'KAFKA_PRODUCE_FAILED',
  'SCHEMA_UNKNOWN',
  'SCHEMA_MISMATCH',
  'DECODE_FAILED',
  'VALIDATION_FAILED',
  'STORE_UNAVAILABLE',
  'STORE_FAILED',
  'BLOB_NOT_FOUND',
  'BLOB_INTEGRITY',
  'NOT_FOUND',
  'PROCESSING_FAILED',
  'LOCAL_KAFKA_FAILED',
  'SHUTTING_DOWN',
  'EXPORT_FAILED',
  'FHIR_UNAVAILABLE',
  'FHIR_REJECTED',
  'UNAUTHORIZED',
  // what a protocol source refuses (answered through the tables in engine/error-tables/)
  'MEDIA_TYPE_UNSUPPORTED',
  'MULTIPART_INVALID',
  'PAYLOAD_TOO_LARGE',
  'INSTANCE_TOO_LARGE',
  'SOP_CLASS_MISMATCH',
  'NOTIFICATION_INVALID',
  'RESOURCE_UNACCEPTABLE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface EngineErrorOptions {
  cause?: unknown;
  /** true when the same operation may succeed later without changing the input. */
  retriable?: boolean;
  /** extra machine-readable detail (field names, offending values); never PHI. */
  details?: Record<string, unknown>;
  /**
   * For a retriable error: how long the runtime should wait before the next attempt (ms),
   * instead of its configured backoff — like Kafka Connect's `context.timeout(ms)`, for a peer
   * that says when it will be back (HTTP Retry-After, a busy PACS).
   */
  retryAfterMs?: number;
}

export class EngineError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: EngineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EngineError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isEngineError(err: unknown): err is EngineError {
  return err instanceof EngineError;
}

/** Wraps anything thrown into an EngineError, keeping an existing one as it is. */
export function toEngineError(
  err: unknown,
  fallbackCode: ErrorCode,
  retriable = false,
): EngineError {
  if (err instanceof EngineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new EngineError(fallbackCode, message, { cause: err, retriable });
}
