import { CSTORE_STATUS, dicomStoreStatusFor } from '../../../../engine/error-tables/dicom-status';
import { HTTP_PROBLEMS, httpProblemFor } from '../../../../engine/error-tables/http-problem';
import {
  OPERATION_OUTCOME_ISSUES,
  operationOutcomeFor,
  operationOutcomeIssueFor,
} from '../../../../engine/error-tables/operation-outcome';
import { ERROR_CODES, EngineError, type ErrorCode } from '../../../../engine/errors';

const err = (code: ErrorCode, options: ConstructorParameters<typeof EngineError>[2] = {}) =>
  new EngineError(code, `${code} happened`, options);

describe('[REQ-ERR-01] error code → HTTP problem', () => {
  it('pins each listed code to its status, type and title', () => {
    const answers = Object.fromEntries(
      Object.keys(HTTP_PROBLEMS).map((code) => {
        const p = httpProblemFor(err(code as ErrorCode))!;
        return [code, [p.status, p.problemType, p.title]];
      }),
    );
    expect(answers).toEqual({
      NOT_FOUND: [404, 'not-found', 'Not found'],
      VALIDATION_FAILED: [422, 'validation-failed', 'Invalid input'],
      UNAUTHORIZED: [401, 'unauthorized', 'Unauthorized'],
      MEDIA_TYPE_UNSUPPORTED: [415, 'unsupported-media-type', 'Unsupported content type'],
      MULTIPART_INVALID: [400, 'malformed-multipart', 'Malformed multipart/related body'],
      PAYLOAD_TOO_LARGE: [413, 'body-too-large', 'Request body too large'],
      NOTIFICATION_INVALID: [400, 'malformed-notification', 'Not a FHIR subscription notification'],
      RESOURCE_UNACCEPTABLE: [422, 'unacceptable-resource', 'Resource not accepted'],
    });
  });

  it('the message is the detail; a retriable error of any code is 503 with Retry-After', () => {
    expect(httpProblemFor(err('NOT_FOUND'))!.detail).toBe('NOT_FOUND happened');
    const p = httpProblemFor(err('NOT_FOUND', { retriable: true }))!;
    expect([p.status, p.problemType, p.detail, p.headers]).toEqual([
      503,
      'unavailable',
      'NOT_FOUND: NOT_FOUND happened',
      { 'retry-after': '5' },
    ]);
    const hinted = httpProblemFor(err('FHIR_UNAVAILABLE', { retriable: true, retryAfterMs: 1 }))!;
    expect(hinted.headers).toEqual({ 'retry-after': '1' });
  });

  it('a code with no HTTP meaning is left to the server (500)', () => {
    expect(httpProblemFor(err('STORE_FAILED'))).toBeUndefined();
    expect(httpProblemFor(err('PROCESSING_FAILED'))).toBeUndefined();
  });
});

describe('[REQ-ERR-02] error code → DICOM C-STORE status', () => {
  it('maps the refusal families: A7xx out of resources, A9xx SOP class, Cxxx cannot understand, 0110 otherwise', () => {
    expect(dicomStoreStatusFor(err('INSTANCE_TOO_LARGE'))).toBe(0xa700);
    expect(dicomStoreStatusFor(err('STORE_FAILED'))).toBe(0xa700);
    expect(dicomStoreStatusFor(err('SOP_CLASS_MISMATCH'))).toBe(0xa900);
    expect(dicomStoreStatusFor(err('DECODE_FAILED'))).toBe(0xc000);
    expect(dicomStoreStatusFor(err('PROCESSING_FAILED'))).toBe(0x0110);
    expect(dicomStoreStatusFor(err('SOP_CLASS_MISMATCH', { retriable: true }))).toBe(
      CSTORE_STATUS.outOfResources,
    );
  });

  it('every answer for a failure is a failure status, never success or a warning', () => {
    for (const code of ERROR_CODES)
      for (const retriable of [false, true]) {
        const status = dicomStoreStatusFor(err(code, { retriable }));
        expect(status).not.toBe(0);
        expect(status & 0xf000).not.toBe(0xb000);
      }
  });
});

describe('[REQ-ERR-03] error code → FHIR OperationOutcome issue', () => {
  // FHIR R4 value set issue-type (http://hl7.org/fhir/R4/valueset-issue-type.html), the codes used
  const ISSUE_TYPES = new Set([
    'invalid',
    'structure',
    'login',
    'not-found',
    'not-supported',
    'too-costly',
    'business-rule',
    'processing',
    'transient',
    'exception',
  ]);

  it('every listed and fallback issue code is an R4 issue-type; severity error', () => {
    for (const code of ERROR_CODES)
      for (const retriable of [false, true]) {
        const issue = operationOutcomeIssueFor(err(code, { retriable }));
        expect(ISSUE_TYPES.has(issue.code)).toBe(true);
        expect(issue.severity).toBe('error');
      }
    expect(Object.keys(OPERATION_OUTCOME_ISSUES).length).toBeGreaterThan(0);
  });

  it('retriable → transient, unlisted → exception; the resource carries code and message', () => {
    expect(operationOutcomeIssueFor(err('VALIDATION_FAILED')).code).toBe('invalid');
    expect(operationOutcomeIssueFor(err('VALIDATION_FAILED', { retriable: true })).code).toBe(
      'transient',
    );
    expect(operationOutcomeIssueFor(err('PROCESSING_FAILED')).code).toBe('exception');
    expect(operationOutcomeFor(err('NOT_FOUND'))).toEqual({
      resourceType: 'OperationOutcome',
      issue: [
        { severity: 'error', code: 'not-found', diagnostics: 'NOT_FOUND: NOT_FOUND happened' },
      ],
    });
  });
});
