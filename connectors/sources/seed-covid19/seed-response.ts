/**
 * The origin demo's JSON answer (shared/SEED_API.md), built from a stored imaging result so that
 * its Python clients keep working unchanged. Key spellings are the demo's, typo included.
 */
export interface SeedResultInput {
  id: string;
  baseUrl: string;
  model: string;
  labels: readonly string[];
  probabilities: readonly number[];
  label: string;
  positiveLabel: string;
  disclaimer: string | null;
  withHeatmap: boolean;
}

const round2 = (p: number) => Math.round(p * 100) / 100;

/** The file name the demo gave its heatmaps: Covid19_<percent>_<id>.png.png */
export function seedHeatmapFile(id: string, positiveProbability: number): string {
  return `Covid19_${Math.round(positiveProbability * 100)}_${id}.png.png`;
}

/** The result id inside a demo-style static file name (source `<id>.png` or a heatmap name). */
export function idFromSeedFile(file: string): string | undefined {
  const m = /^(?:Covid19_\d+_)?([0-9a-f-]{36})\.png(?:\.png)?$/.exec(file);
  return m?.[1];
}

export function seedResponse(r: SeedResultInput): Record<string, unknown> {
  const index = r.labels.indexOf(r.positiveLabel);
  const positive = index >= 0 ? (r.probabilities[index] as number) : 0;
  const body: Record<string, unknown> = {
    Input_Image: `${r.baseUrl}/static/source/${r.id}.png`,
  };
  if (r.withHeatmap)
    body.Output_Heatmap = `${r.baseUrl}/static/result/${seedHeatmapFile(r.id, positive)}`;
  Object.assign(body, {
    'X-Ray_Classfication_Raw_Result': [r.probabilities],
    'X-Ray_Classification_Covid19_Probability': round2(positive),
    'X-Ray_Classification_Result':
      r.label === r.positiveLabel ? 'Covid-19 POSITIVE' : 'Covid-19 NEGATIVE',
    model_name: r.disclaimer ? `${r.model} (${r.disclaimer})` : r.model,
    // medstream additions (the demo's clients ignore keys they do not know)
    result_id: r.id,
    labels: r.labels,
    disclaimer: r.disclaimer,
  });
  return body;
}
