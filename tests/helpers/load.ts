import { postJson, vitalsBody } from './vitals';

/**
 * Submits `count` vitals records, `concurrency` at a time, each with its own inputs so results
 * can be checked; returns the accepted ids in submission order with the expected NEWS2 total.
 */
export async function submitMany(
  baseUrl: string,
  count: number,
  concurrency = 25,
  patientPrefix = 'load',
): Promise<Array<{ id: string; respiratoryRate: number }>> {
  const accepted: Array<{ id: string; respiratoryRate: number }> = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const respiratoryRate = 8 + (i % 20); // 8..27 breaths/min: every RR band is used
      const r = await postJson(
        `${baseUrl}/api/v1/vitals`,
        vitalsBody({ patientId: `${patientPrefix}-${i % 97}`, respiratoryRate }),
      );
      if (r.status !== 202)
        throw new Error(`submit ${i} answered ${r.status}: ${JSON.stringify(r.json)}`);
      accepted[i] = { id: r.json.id as string, respiratoryRate };
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return accepted;
}

/** NEWS2 respiratory-rate sub-score (the other vitals of vitalsBody() all score 0). */
export function expectedTotalFor(respiratoryRate: number): number {
  if (respiratoryRate <= 8) return 3;
  if (respiratoryRate <= 11) return 1;
  if (respiratoryRate <= 20) return 0;
  if (respiratoryRate <= 24) return 2;
  return 3;
}
