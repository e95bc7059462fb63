/**
 * Which DICOM instances go to which model — configuration, not code. Rules are tried in order;
 * the first whose every given criterion matches decides. An instance no rule matches, or that is
 * not an image at all (SR, PDF, presentation state, …), is skipped with the reason.
 */
import { classifyDicomSopClass } from '../../dicom/uids';

export interface DicomRoute {
  /** Modality (0008,0060) values, e.g. CR, DX; absent = any. */
  modalities?: string[];
  /** SOP Class UIDs; absent = any image class. Naming a class unknown to medstream routes it too. */
  sopClassUids?: string[];
  /** Body Part Examined (0018,0015) values, e.g. CHEST; absent = any (also when not sent). */
  bodyParts?: string[];
  /** `name` or `name@version`. */
  model: string;
  /** Frame of a multi-frame instance to classify (0-based). */
  frame?: number;
}

export const DEFAULT_DICOM_ROUTES: DicomRoute[] = [{ modalities: ['CR', 'DX'], model: 'cxr-demo' }];

export interface RoutableInstance {
  sopClassUid: string;
  modality: string | null;
  bodyPartExamined: string | null;
}

export type RouteDecision =
  | { route: true; model: string; frame: number }
  | { route: false; reason: 'not-an-image' | 'no-route'; detail: string };

const norm = (v: string | null | undefined) => (v ?? '').trim().toUpperCase();

export function routeDicomInstance(
  routes: readonly DicomRoute[],
  instance: RoutableInstance,
): RouteDecision {
  const sop = classifyDicomSopClass(instance.sopClassUid);
  // A class this build does not know can still be routed by a rule that names it.
  const named = routes.some((r) => r.sopClassUids?.includes(instance.sopClassUid));
  if (!sop.image && !(named && sop.kind.startsWith('unknown')))
    return {
      route: false,
      reason: 'not-an-image',
      detail: `SOP Class ${instance.sopClassUid} (${sop.kind}) is not an image`,
    };
  for (const r of routes) {
    if (r.modalities && !r.modalities.some((m) => norm(m) === norm(instance.modality))) continue;
    if (r.sopClassUids && !r.sopClassUids.includes(instance.sopClassUid)) continue;
    if (r.bodyParts && !r.bodyParts.some((b) => norm(b) === norm(instance.bodyPartExamined)))
      continue;
    return { route: true, model: r.model, frame: r.frame ?? 0 };
  }
  return {
    route: false,
    reason: 'no-route',
    detail: `no routing rule for modality ${instance.modality ?? '(none)'}, SOP Class ${instance.sopClassUid}`,
  };
}
