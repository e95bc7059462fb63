/**
 * One way to talk to a FHIR server from medstream: fhir-kit-client with the configured base URL,
 * extra headers (e.g. Authorization) and a per-request timeout, and one mapping of its failures
 * to EngineErrors — network errors, timeouts, 408/429 and 5xx are retriable (FHIR_UNAVAILABLE);
 * any other 4xx is the server refusing this input (FHIR_REJECTED) with the OperationOutcome text.
 */
import Client from 'fhir-kit-client';
import { EngineError } from '../../../engine/errors';

export interface FhirServerSettings {
  baseUrl: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

export const fhirServerSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    baseUrl: {
      type: 'string',
      default: '',
      description: 'FHIR R4 base URL, e.g. http://hapi:8080/fhir',
    },
    headers: {
      type: 'object',
      additionalProperties: { type: 'string' },
      default: {},
      secret: true,
      description:
        'Extra request headers, e.g. {"Authorization": "Bearer …"} (masked when printed).',
    },
    timeoutMs: { type: 'integer', minimum: 100, default: 30000 },
  },
} as const;

/** A client for the configured server; pass `AbortSignal.timeout(timeoutMs)` per call. */
export function createFhirClient(settings: FhirServerSettings): Client {
  if (!settings.baseUrl)
    throw new EngineError('CONFIG_INVALID', 'no FHIR server baseUrl is configured');
  return new Client({
    baseUrl: settings.baseUrl.replace(/\/+$/, ''),
    customHeaders: { ...settings.headers },
  });
}

export interface OperationOutcomeIssue {
  severity?: string;
  code?: string;
  diagnostics?: string;
  details?: { text?: string; coding?: { display?: string }[] };
  expression?: string[];
  location?: string[];
}

/** The issues of an OperationOutcome (anything else → none). */
export function outcomeIssues(outcome: unknown): OperationOutcomeIssue[] {
  const oo = outcome as { resourceType?: string; issue?: OperationOutcomeIssue[] } | null;
  return oo && oo.resourceType === 'OperationOutcome' && Array.isArray(oo.issue) ? oo.issue : [];
}

/** "error processing: <diagnostics> @ Observation.subject; …" — what a dead letter says. */
export function outcomeText(outcome: unknown, severities?: ReadonlySet<string>): string {
  return outcomeIssues(outcome)
    .filter((i) => !severities || severities.has(i.severity ?? ''))
    .map((i) => {
      const where = (i.expression ?? i.location ?? []).join(', ');
      const text = i.diagnostics ?? i.details?.text ?? i.details?.coding?.[0]?.display ?? '';
      return `${i.severity ?? 'error'} ${i.code ?? ''}: ${text}${where ? ` @ ${where}` : ''}`.trim();
    })
    .join('; ');
}

export const ERROR_SEVERITIES: ReadonlySet<string> = new Set(['error', 'fatal']);

/** What fhir-kit-client throws for an HTTP answer that is not 2xx (or not JSON). */
export interface FhirKitHttpError {
  response: { status: number; data: unknown };
  config?: { method?: string; url?: string };
}

export function isHttpError(err: unknown): err is FhirKitHttpError {
  const r = (err as { response?: { status?: unknown } } | null)?.response;
  return typeof r?.status === 'number';
}

const NETWORK_CODES =
  /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR_\w+)$/;

/** Whether an error thrown by fetch means "no usable answer" (network, timeout, aborted). */
function isTransportError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const { name, code, message } = e as { name?: string; code?: string; message?: string };
    if (name === 'TimeoutError' || name === 'AbortError') return true;
    if (typeof code === 'string' && NETWORK_CODES.test(code)) return true;
    if (name === 'TypeError' && message === 'fetch failed') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** HTTP statuses after which the same request may succeed later. */
export const retriableStatus = (status: number) =>
  status >= 500 || status === 429 || status === 408 || status < 400;

/** Anything a FHIR call threw → FHIR_UNAVAILABLE (retriable) or FHIR_REJECTED (dead letter). */
export function fhirError(err: unknown, what: string): EngineError {
  if (err instanceof EngineError) return err;
  if (isHttpError(err)) {
    const { status, data } = err.response;
    const detail =
      outcomeText(data) ||
      (typeof data === 'string' ? data.replace(/\s+/g, ' ').slice(0, 300) : '') ||
      'no OperationOutcome';
    const message = `${what}: HTTP ${status}: ${detail}`.slice(0, 4000);
    return retriableStatus(status)
      ? new EngineError('FHIR_UNAVAILABLE', message, {
          cause: err,
          retriable: true,
          details: { status },
        })
      : new EngineError('FHIR_REJECTED', message, { cause: err, details: { status } });
  }
  const message = err instanceof Error ? err.message : String(err);
  if (isTransportError(err)) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? message;
    return new EngineError('FHIR_UNAVAILABLE', `${what}: ${message} (${reason})`, {
      cause: err,
      retriable: true,
    });
  }
  return new EngineError('PROCESSING_FAILED', `${what}: ${message}`, { cause: err });
}
