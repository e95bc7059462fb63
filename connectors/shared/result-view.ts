import type { ResultStore, StoredResult } from '../../engine/store/result-store';
import type { ImagingResult, RiskResult } from '../../schemas/records';
import { sleep } from '../../engine/time';

const toIso = (ms: unknown): string | undefined =>
  typeof ms === 'number' ? new Date(ms).toISOString() : undefined;

/**
 * The public JSON shape of a result (GET /api/v1/results/{id}): status and identity first, then
 * the model's output as stored. Timestamps are ISO-8601.
 */
export function resultView(stored: StoredResult): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: stored.id,
    status: stored.status,
    kind: stored.kind,
    patientId: stored.patientId,
    model: stored.model,
    submittedAt: stored.submittedAt,
    completedAt: stored.completedAt,
  };
  if (stored.payload && stored.kind === 'imaging')
    Object.assign(view, imagingView(stored.id, stored.payload as unknown as ImagingResult));
  else if (stored.payload) {
    const p = stored.payload as unknown as RiskResult;
    view.observedAt = toIso(p.observedAt);
    view.computedAt = toIso(p.computedAt);
    view.score = p.score;
    view.band = p.band;
    if (p.news2) view.news2 = p.news2;
    view.inputsUsed = p.inputsUsed;
    view.missingInputs = p.missingInputs;
    view.syntheticModel = p.syntheticModel;
  }
  if (stored.error) view.error = stored.error;
  view.links = {
    self: `/api/v1/results/${encodeURIComponent(stored.id)}`,
    ...(stored.patientId
      ? { patient: `/api/v1/patients/${encodeURIComponent(stored.patientId)}/results` }
      : {}),
    ...(stored.subject && /^[0-9]+(\.[0-9]+)+$/.test(stored.subject)
      ? { study: `/api/v1/studies/${stored.subject}/results` }
      : {}),
  };
  return view;
}

/** Imaging result fields: probabilities by label, the top finding, heatmap and image links. */
function imagingView(id: string, p: ImagingResult): Record<string, unknown> {
  const base = `/api/v1/results/${encodeURIComponent(id)}`;
  return {
    computedAt: toIso(p.computedAt),
    label: p.label,
    labelProbability: p.labelProbability,
    multiLabel: p.multiLabel,
    probabilities: Object.fromEntries(p.labels.map((l, i) => [l, p.probabilities[i]])),
    heatmap: p.heatmap
      ? { ...p.heatmap, overlay: `${base}/heatmap.png`, map: `${base}/heatmap-map.png` }
      : null,
    input: { ...p.input, image: `${base}/input.png` },
    runtime: p.runtime,
    timingsMs: p.timingsMs,
    batchSize: p.batchSize,
    syntheticModel: p.syntheticModel,
    disclaimer: p.disclaimer,
    ...(p.dicom ? { dicom: p.dicom } : {}),
  };
}

/**
 * Polls the store until the result leaves `pending` or `timeoutMs` passes; returns the last row
 * seen. Used by `?wait=` so a script can submit and read the result in one call.
 */
export async function waitForResult(
  store: ResultStore,
  id: string,
  timeoutMs: number,
  intervalMs = 50,
): Promise<StoredResult | undefined> {
  const deadline = Date.now() + timeoutMs;
  let row = await store.get(id);
  while ((!row || row.status === 'pending') && Date.now() < deadline) {
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
    row = await store.get(id);
  }
  return row;
}
