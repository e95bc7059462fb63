/** A valid POST /api/v1/vitals body (NEWS2 total 0 unless overridden). */
export function vitalsBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    patientId: 'pat-0001',
    observedAt: new Date(Date.now() - 60000).toISOString(),
    respiratoryRate: 16,
    spo2: 97,
    spo2Scale: 1,
    supplementalOxygen: false,
    systolicBp: 120,
    pulse: 70,
    consciousness: 'A',
    temperature: 37.0,
    ...overrides,
  };
}

export async function postJson(
  url: string,
  body: unknown,
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    headers: res.headers,
    json: (await res.json()) as Record<string, unknown>,
  };
}

export async function getJson(
  url: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
