import type { EngineError, ErrorCode } from '../errors';
import { HttpProblem } from '../http/problem';

/** How one error code is answered over HTTP: status, problem type (URN suffix) and title. */
export interface HttpProblemEntry {
  readonly status: number;
  readonly type: string;
  readonly title: string;
}

/**
 * Error code → HTTP problem, for the codes a request can fail with. Any retriable error is
 * 503 `unavailable` with Retry-After whatever its code (the client should send it again); a
 * code not listed here is an internal error (500, logged).
 */
export const HTTP_PROBLEMS: Readonly<Partial<Record<ErrorCode, HttpProblemEntry>>> = {
  NOT_FOUND: { status: 404, type: 'not-found', title: 'Not found' },
  VALIDATION_FAILED: { status: 422, type: 'validation-failed', title: 'Invalid input' },
  UNAUTHORIZED: { status: 401, type: 'unauthorized', title: 'Unauthorized' },
  MEDIA_TYPE_UNSUPPORTED: {
    status: 415,
    type: 'unsupported-media-type',
    title: 'Unsupported content type',
  },
  MULTIPART_INVALID: {
    status: 400,
    type: 'malformed-multipart',
    title: 'Malformed multipart/related body',
  },
  PAYLOAD_TOO_LARGE: { status: 413, type: 'body-too-large', title: 'Request body too large' },
  NOTIFICATION_INVALID: {
    status: 400,
    type: 'malformed-notification',
    title: 'Not a FHIR subscription notification',
  },
  RESOURCE_UNACCEPTABLE: {
    status: 422,
    type: 'unacceptable-resource',
    title: 'Resource not accepted',
  },
};

/** Seconds of Retry-After on a 503 when the error gives no `retryAfterMs`. */
export const DEFAULT_RETRY_AFTER_S = 5;

/** The problem answering `err`, or undefined for a code with no HTTP meaning (→ 500). */
export function httpProblemFor(err: EngineError): HttpProblem | undefined {
  if (err.retriable) {
    const seconds =
      err.retryAfterMs === undefined ? DEFAULT_RETRY_AFTER_S : Math.ceil(err.retryAfterMs / 1000);
    return new HttpProblem(
      503,
      'unavailable',
      'Temporarily unavailable; retry later',
      `${err.code}: ${err.message}`,
      undefined,
      { 'retry-after': String(seconds) },
    );
  }
  const entry = HTTP_PROBLEMS[err.code];
  return entry && new HttpProblem(entry.status, entry.type, entry.title, err.message);
}
