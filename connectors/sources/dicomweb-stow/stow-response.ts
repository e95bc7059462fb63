/**
 * The STOW-RS response (PS3.18 §10.5.3): a DICOM JSON object naming every stored instance in
 * ReferencedSOPSequence (0008,1199) — Orthanc treats a response without it as a failure — and
 * every refused one in FailedSOPSequence (0008,1198) with its FailureReason (0008,1197).
 */

/** Failure reasons (PS3.18 Table 10.5.3-2 / PS3.4 Annex B status codes). */
export const FAILURE_REASON = {
  processingFailure: 0x0110,
  outOfResources: 0xa700,
  dataSetDoesNotMatchSopClass: 0xa900,
  cannotUnderstand: 0xc000,
  /** The instance belongs to another study than the one in the request URL. */
  studyMismatch: 0xc409,
} as const;

export interface StoredInstance {
  sopClassUid: string;
  sopInstanceUid: string;
}

export interface FailedInstance {
  sopClassUid: string | null;
  sopInstanceUid: string | null;
  reason: number;
}

type JsonAttribute = { vr: string; Value?: unknown[] };
type JsonDataset = Record<string, JsonAttribute>;

const ui = (v: string | null): JsonAttribute => (v ? { vr: 'UI', Value: [v] } : { vr: 'UI' });

/** No RetrieveURL (0008,1190) anywhere: medstream is no WADO-RS origin server. */
export function stowResponse(
  stored: readonly StoredInstance[],
  failed: readonly FailedInstance[],
): JsonDataset {
  const out: JsonDataset = {};
  out['00081199'] = {
    vr: 'SQ',
    Value: stored.map((s) => ({
      '00081150': ui(s.sopClassUid),
      '00081155': ui(s.sopInstanceUid),
    })),
  };
  if (failed.length > 0)
    out['00081198'] = {
      vr: 'SQ',
      Value: failed.map((f) => ({
        '00081150': ui(f.sopClassUid),
        '00081155': ui(f.sopInstanceUid),
        '00081197': { vr: 'US', Value: [f.reason] },
      })),
    };
  return out;
}

/** 200 all stored, 202 some stored and some refused, 409 none stored (PS3.18 §10.5.3.1). */
export function stowStatus(stored: number, failed: number): 200 | 202 | 409 {
  if (failed === 0) return 200;
  return stored > 0 ? 202 : 409;
}
