import type { EngineError, ErrorCode } from '../errors';

/** One OperationOutcome.issue severity + code (FHIR R4 value sets issue-severity, issue-type). */
export interface OutcomeIssueEntry {
  readonly severity: 'fatal' | 'error' | 'warning' | 'information';
  readonly code: string;
}

/**
 * Error code → FHIR OperationOutcome issue, for answers to FHIR clients. Any retriable error
 * is `transient`; a code not listed here is `exception`.
 */
export const OPERATION_OUTCOME_ISSUES: Readonly<Partial<Record<ErrorCode, OutcomeIssueEntry>>> = {
  NOT_FOUND: { severity: 'error', code: 'not-found' },
  VALIDATION_FAILED: { severity: 'error', code: 'invalid' },
  UNAUTHORIZED: { severity: 'error', code: 'login' },
  MEDIA_TYPE_UNSUPPORTED: { severity: 'error', code: 'not-supported' },
  PAYLOAD_TOO_LARGE: { severity: 'error', code: 'too-costly' },
  NOTIFICATION_INVALID: { severity: 'error', code: 'structure' },
  RESOURCE_UNACCEPTABLE: { severity: 'error', code: 'business-rule' },
  FHIR_REJECTED: { severity: 'error', code: 'processing' },
};

/** The OperationOutcome issue answering `err`. */
export function operationOutcomeIssueFor(err: EngineError): OutcomeIssueEntry {
  if (err.retriable) return { severity: 'error', code: 'transient' };
  return OPERATION_OUTCOME_ISSUES[err.code] ?? { severity: 'error', code: 'exception' };
}

/** A whole OperationOutcome resource for `err`; diagnostics = the code and message. */
export function operationOutcomeFor(err: EngineError): {
  resourceType: 'OperationOutcome';
  issue: Array<OutcomeIssueEntry & { diagnostics: string }>;
} {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ ...operationOutcomeIssueFor(err), diagnostics: `${err.code}: ${err.message}` }],
  };
}
