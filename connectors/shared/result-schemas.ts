/**
 * JSON schemas of the answers the result-facing routes share, for their OpenAPI documentation
 * (engine/http/openapi.ts). Response schemas document only: they never filter what is sent.
 */

const links = {
  type: 'object',
  required: ['self'],
  properties: {
    self: { type: 'string', description: 'This result: /api/v1/results/{id}' },
    patient: { type: 'string' },
    study: { type: 'string' },
  },
} as const;

/** The public view of one result (connectors/shared/result-view.ts). */
export const resultViewSchema = {
  type: 'object',
  required: ['id', 'status', 'kind', 'links'],
  properties: {
    id: { type: 'string' },
    status: { enum: ['pending', 'done', 'failed'] },
    kind: { type: 'string', description: 'imaging | news2 | fhir-risk …' },
    patientId: { type: ['string', 'null'] },
    model: { type: ['string', 'null'] },
    submittedAt: { description: 'When the input was accepted' },
    completedAt: { description: 'When the result was stored; null while pending' },
    error: {
      type: 'object',
      description: 'Why a failed result failed',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
    links,
  },
  additionalProperties: true,
  description:
    'Status and identity, then the model output: imaging (label, probabilities, heatmap, input and image links) or risk (score, band, inputs used).',
} as const;

/** 202 Accepted: the input is durable in Kafka; the result follows at `links.self`. */
export const acceptedSchema = {
  type: 'object',
  required: ['id', 'status', 'links'],
  properties: { id: { type: 'string' }, status: { const: 'pending' }, links },
} as const;

/** The Location header of an accepted submission. */
export const locationHeader = {
  location: { type: 'string', description: 'The result: /api/v1/results/{id}' },
} as const;

/** `?wait=`, parsed by the handler (connectors/shared/wait-param.ts). */
export const waitParameter = {
  type: 'string',
  description:
    'Wait up to this long for the result (a duration like 10s or 500ms; at most the component’s maxWaitMs): 200 with the result if it is done by then, else 202.',
} as const;

/** A PNG of a result (heatmap overlay, raw map, input as displayed). */
export const pngSchema = { type: 'string', contentMediaType: 'image/png' } as const;
