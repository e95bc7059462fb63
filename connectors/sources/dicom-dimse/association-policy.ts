/**
 * Who may associate with medstream's SCP and which presentation contexts it accepts — pure
 * decisions, applied by scp.ts to each A-ASSOCIATE-RQ (PS3.8 §7.1, reasons per Table 9-21).
 */

import {
  DECODABLE_TRANSFER_SYNTAX_UIDS,
  VERIFICATION_SOP_CLASS,
  isStorageSopClass,
} from '../../../dicom/uids';

/**
 * The transfer syntaxes the SCP accepts, in no order (the caller's preference wins): the ones
 * dicom/pixels decodes (dicom/uids.ts), so that the imaging processor can read every image the
 * SCP stores.
 */
export const ACCEPTED_TRANSFER_SYNTAXES: readonly string[] = DECODABLE_TRANSFER_SYNTAX_UIDS;

export interface AssociationPolicy {
  /** Our AE title; a request calling any other is rejected. */
  aeTitle: string;
  /** Calling AE titles allowed to associate; empty = any. */
  allowedCallingAeTitles: readonly string[];
  /** Peer IP addresses allowed to associate; empty = any. */
  allowedHosts: readonly string[];
  maxAssociations: number;
}

export interface AssociationRequest {
  calledAe: string;
  callingAe: string;
  remoteHost: string;
  /** Associations open now, this one excluded. */
  active: number;
}

export type AssociationDecision =
  | { accept: true }
  | {
      accept: false;
      /** PS3.8 Table 9-21 result / source / reason, as named there. */
      result: 'rejected-permanent' | 'rejected-transient';
      source: 'service-user' | 'service-provider-presentation';
      reason:
        | 'no-reason-given'
        | 'calling-AE-title-not-recognized'
        | 'called-AE-title-not-recognized'
        | 'local-limit-exceeded';
      message: string;
    };

/** IPv4-mapped IPv6 (::ffff:10.0.0.1) compares equal to its IPv4 form. */
export function normaliseHost(host: string): string {
  const h = host.trim().toLowerCase();
  return h.startsWith('::ffff:') && h.includes('.') ? h.slice(7) : h;
}

const aeKey = (ae: string) => ae.trim();

export function decideAssociation(
  policy: AssociationPolicy,
  request: AssociationRequest,
): AssociationDecision {
  if (aeKey(request.calledAe) !== aeKey(policy.aeTitle))
    return {
      accept: false,
      result: 'rejected-permanent',
      source: 'service-user',
      reason: 'called-AE-title-not-recognized',
      message: `called AE title "${aeKey(request.calledAe)}" is not "${policy.aeTitle}"`,
    };
  if (
    policy.allowedCallingAeTitles.length > 0 &&
    !policy.allowedCallingAeTitles.some((ae) => aeKey(ae) === aeKey(request.callingAe))
  )
    return {
      accept: false,
      result: 'rejected-permanent',
      source: 'service-user',
      reason: 'calling-AE-title-not-recognized',
      message: `calling AE title "${aeKey(request.callingAe)}" is not on the allow-list`,
    };
  if (
    policy.allowedHosts.length > 0 &&
    !policy.allowedHosts.some((h) => normaliseHost(h) === normaliseHost(request.remoteHost))
  )
    return {
      accept: false,
      result: 'rejected-permanent',
      source: 'service-user',
      reason: 'no-reason-given',
      message: `host ${normaliseHost(request.remoteHost)} is not on the allow-list`,
    };
  if (request.active >= policy.maxAssociations)
    return {
      accept: false,
      result: 'rejected-transient',
      source: 'service-provider-presentation',
      reason: 'local-limit-exceeded',
      message: `${request.active} associations open; the limit is ${policy.maxAssociations}`,
    };
  return { accept: true };
}

export type ContextDecision =
  | { result: 'accept'; transferSyntaxUid: string }
  | { result: 'abstract-syntax-not-supported' }
  | { result: 'transfer-syntaxes-not-supported' };

/**
 * Verification and every Storage SOP Class are accepted, with the first transfer syntax the
 * caller proposed that we accept (callers list their preference first).
 */
export function decidePresentationContext(
  abstractSyntaxUid: string,
  proposed: readonly string[],
  accepted: readonly string[] = ACCEPTED_TRANSFER_SYNTAXES,
): ContextDecision {
  if (!isStorageSopClass(abstractSyntaxUid) && abstractSyntaxUid !== VERIFICATION_SOP_CLASS)
    return { result: 'abstract-syntax-not-supported' };
  const ts = proposed.find((t) => accepted.includes(t.trim()));
  return ts
    ? { result: 'accept', transferSyntaxUid: ts.trim() }
    : { result: 'transfer-syntaxes-not-supported' };
}
