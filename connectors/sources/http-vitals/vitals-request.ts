import { validationProblem } from '../../../engine/http/problem';

/**
 * JSON schema of POST /api/v1/vitals. Ranges are what a bedside device can plausibly report;
 * anything outside is a data-entry or unit error and is refused (422) rather than scored.
 */
export const vitalsRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'patientId',
    'observedAt',
    'respiratoryRate',
    'spo2',
    'spo2Scale',
    'supplementalOxygen',
    'systolicBp',
    'pulse',
    'consciousness',
    'temperature',
  ],
  properties: {
    patientId: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]*$',
    },
    observedAt: { type: 'string', format: 'date-time' },
    respiratoryRate: { type: 'number', minimum: 0, maximum: 80, description: 'breaths/min' },
    spo2: { type: 'number', minimum: 50, maximum: 100, description: '%' },
    spo2Scale: { type: 'integer', enum: [1, 2] },
    supplementalOxygen: { type: 'boolean' },
    systolicBp: { type: 'number', minimum: 40, maximum: 300, description: 'mmHg' },
    pulse: { type: 'number', minimum: 20, maximum: 300, description: 'beats/min' },
    consciousness: { type: 'string', enum: ['A', 'C', 'V', 'P', 'U'] },
    temperature: { type: 'number', minimum: 25, maximum: 45, description: '°C' },
  },
} as const;

export interface VitalsRequest {
  patientId: string;
  observedAt: string;
  respiratoryRate: number;
  spo2: number;
  spo2Scale: 1 | 2;
  supplementalOxygen: boolean;
  systolicBp: number;
  pulse: number;
  consciousness: 'A' | 'C' | 'V' | 'P' | 'U';
  temperature: number;
}

/** How far in the future an observation time may be (clock skew between bedside and server). */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** Pure mapping of a validated request to the VitalSignsSubmitted record. */
export function vitalsRequestToEvent(body: VitalsRequest, id: string, receivedAt: number) {
  const observedAt = Date.parse(body.observedAt);
  if (!Number.isFinite(observedAt)) {
    // RFC 3339 allows forms (a leap second, :60) that JavaScript dates cannot represent.
    throw validationProblem([
      { field: 'observedAt', message: 'must be a representable date-time' },
    ]);
  }
  if (observedAt > receivedAt + MAX_CLOCK_SKEW_MS) {
    throw validationProblem([{ field: 'observedAt', message: 'must not be in the future' }]);
  }
  return {
    id,
    patientId: body.patientId,
    observedAt,
    receivedAt,
    respiratoryRate: body.respiratoryRate,
    spo2: body.spo2,
    spo2Scale: body.spo2Scale,
    supplementalOxygen: body.supplementalOxygen,
    systolicBp: body.systolicBp,
    pulse: body.pulse,
    consciousness: body.consciousness,
    temperature: body.temperature,
    source: 'http',
  };
}
