import type { EngineError, ErrorCode } from '../errors';

/** DIMSE C-STORE response statuses medstream answers with (PS3.4 B.2.3, PS3.7 C). */
export const CSTORE_STATUS = {
  success: 0x0000,
  /** Refused: Out of Resources (A7xx) — the sender may try again later. */
  outOfResources: 0xa700,
  /** Error: Data Set Does Not Match SOP Class (A9xx). */
  dataSetDoesNotMatchSopClass: 0xa900,
  /** Error: Cannot Understand (Cxxx). */
  cannotUnderstand: 0xc000,
  /** Failure: Processing Failure. */
  processingFailure: 0x0110,
} as const;

/**
 * Error code → C-STORE failure status. Any retriable error is 0xA700 (out of resources: try
 * again later); a code not listed here is 0x0110 (processing failure).
 */
export const DICOM_STORE_STATUS: Readonly<Partial<Record<ErrorCode, number>>> = {
  INSTANCE_TOO_LARGE: CSTORE_STATUS.outOfResources,
  STORE_FAILED: CSTORE_STATUS.outOfResources,
  SOP_CLASS_MISMATCH: CSTORE_STATUS.dataSetDoesNotMatchSopClass,
  DECODE_FAILED: CSTORE_STATUS.cannotUnderstand,
};

/** The C-STORE status answering `err`. */
export function dicomStoreStatusFor(err: EngineError): number {
  if (err.retriable) return CSTORE_STATUS.outOfResources;
  return DICOM_STORE_STATUS[err.code] ?? CSTORE_STATUS.processingFailure;
}
