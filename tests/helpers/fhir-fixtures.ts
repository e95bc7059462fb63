/** Synthetic FHIR R4 resources for tests (no real patients). */

export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';

export interface VitalSpec {
  loinc: string;
  display: string;
  value: number;
  unit: string;
  category?: 'vital-signs' | 'laboratory';
}

/** A patient's set of NEWS2 vitals (RR, SpO2, SBP, HR, temperature) and a GCS, as LOINC specs. */
export function news2Vitals(
  over: Partial<Record<'rr' | 'spo2' | 'sbp' | 'hr' | 'temp' | 'gcs', number>> = {},
): VitalSpec[] {
  return [
    { loinc: '9279-1', display: 'Respiratory rate', value: over.rr ?? 24, unit: '/min' },
    { loinc: '59408-5', display: 'SpO2', value: over.spo2 ?? 92, unit: '%' },
    { loinc: '8480-6', display: 'Systolic BP', value: over.sbp ?? 98, unit: 'mm[Hg]' },
    { loinc: '8867-4', display: 'Heart rate', value: over.hr ?? 118, unit: '/min' },
    { loinc: '8310-5', display: 'Body temperature', value: over.temp ?? 38.6, unit: 'Cel' },
    { loinc: '9269-2', display: 'GCS total', value: over.gcs ?? 15, unit: '{score}' },
  ];
}

export function labSet(): VitalSpec[] {
  return [
    { loinc: '1988-5', display: 'CRP', value: 9.5, unit: 'mg/dL', category: 'laboratory' },
    { loinc: '731-0', display: 'Lymphocytes', value: 0.6, unit: '10*9/L', category: 'laboratory' },
    { loinc: '2160-0', display: 'Creatinine', value: 150, unit: 'umol/L', category: 'laboratory' },
    { loinc: '777-3', display: 'Platelets', value: 130, unit: '10*3/uL', category: 'laboratory' },
  ];
}

export function patient(id: string | undefined, birthDate = '1948-03-02') {
  return {
    resourceType: 'Patient',
    ...(id ? { id } : {}),
    identifier: [{ system: 'urn:medstream:test-mrn', value: `mrn-${id ?? 'x'}` }],
    name: [{ family: 'Synthetic', given: ['Test'] }],
    gender: 'female',
    birthDate,
  };
}

export function observation(
  patientRef: string,
  v: VitalSpec,
  effective: string,
  id?: string,
  extra: Record<string, unknown> = {},
) {
  const category = v.category ?? 'vital-signs';
  return {
    resourceType: 'Observation',
    ...(id ? { id } : {}),
    status: 'final',
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/observation-category',
            code: category,
          },
        ],
      },
    ],
    code: { coding: [{ system: LOINC, code: v.loinc, display: v.display }], text: v.display },
    subject: { reference: patientRef },
    effectiveDateTime: effective,
    valueQuantity: { value: v.value, unit: v.unit, system: UCUM, code: v.unit },
    ...extra,
  };
}

/** An R5-style topic-based notification Bundle (SubscriptionStatus first). */
export function r5Notification(
  subscription: string,
  type: 'handshake' | 'heartbeat' | 'event-notification',
  eventsSinceSubscriptionStart: number,
  events: { eventNumber: number; resource: { resourceType: string; id: string } }[],
  content: 'full-resource' | 'id-only' = 'full-resource',
) {
  return {
    resourceType: 'Bundle',
    type: 'subscription-notification',
    entry: [
      {
        fullUrl: 'urn:uuid:0d4fb5c0-2a4e-4b8c-9e7a-7d3f0a5b1c11',
        resource: {
          resourceType: 'SubscriptionStatus',
          status: 'active',
          type,
          eventsSinceSubscriptionStart: String(eventsSinceSubscriptionStart),
          subscription: { reference: subscription },
          topic: 'http://example.org/fhir/SubscriptionTopic/observations',
          notificationEvent: events.map((e) => ({
            eventNumber: String(e.eventNumber),
            focus: { reference: `${e.resource.resourceType}/${e.resource.id}` },
          })),
        },
      },
      ...events.map((e) => ({
        fullUrl: `http://fhir.example/${e.resource.resourceType}/${e.resource.id}`,
        ...(content === 'full-resource' ? { resource: e.resource } : {}),
        request: { method: 'PUT', url: `${e.resource.resourceType}/${e.resource.id}` },
      })),
    ],
  };
}
