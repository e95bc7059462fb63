import {
  contentResponse,
  documentedBody,
  documentedOnly,
  problemResponses,
} from '../../../engine/http/openapi';
import { pngSchema } from '../../shared/result-schemas';

export const seedHealthcheckSchema = {
  summary: 'The demo’s liveness text',
  operationId: 'seedHealthcheck',
  tags: ['seed-demo'],
  response: {
    200: contentResponse('“Covid19 detector API is live!”', { type: 'string' }, 'text/plain'),
    ...problemResponses(500),
  },
};

/** The demo's answer (seed-response.ts); key spellings are the demo's, typo included. */
const seedAnswer = {
  type: 'object',
  required: [
    'Input_Image',
    'X-Ray_Classfication_Raw_Result',
    'X-Ray_Classification_Covid19_Probability',
    'X-Ray_Classification_Result',
    'model_name',
  ],
  properties: {
    Input_Image: { type: 'string', description: 'Absolute URL of the input under /static/source' },
    Output_Heatmap: { type: 'string', description: 'Absolute URL of the heatmap (heatmap route)' },
    'X-Ray_Classfication_Raw_Result': {
      type: 'array',
      items: { type: 'array', items: { type: 'number' } },
    },
    'X-Ray_Classification_Covid19_Probability': { type: 'number' },
    'X-Ray_Classification_Result': { enum: ['Covid-19 POSITIVE', 'Covid-19 NEGATIVE'] },
    model_name: { type: 'string' },
    result_id: { type: 'string' },
    labels: { type: 'array', items: { type: 'string' } },
    disclaimer: { type: ['string', 'null'] },
  },
} as const;

/** POST /covid19/api/v1/predict[/heatmap]: the handler decodes and checks `b64`. */
export function seedPredictSchema(withHeatmap: boolean) {
  const b64 = {
    type: 'object',
    required: ['b64'],
    properties: { b64: { type: 'string', contentEncoding: 'base64', description: 'PNG or JPEG' } },
  };
  return {
    summary: withHeatmap
      ? 'Classify a chest X-ray and draw its Grad-CAM heatmap (the 2020 demo’s API)'
      : 'Classify a chest X-ray (the 2020 demo’s API)',
    operationId: withHeatmap ? 'seedPredictHeatmap' : 'seedPredict',
    tags: ['seed-demo'],
    body: documentedBody({ 'application/x-www-form-urlencoded': b64, 'application/json': b64 }),
    response: {
      200: contentResponse('The result in the demo’s shape', seedAnswer),
      ...problemResponses(400, 413, 415, 422, 500, 503),
    },
  };
}

/** GET /static/{source|result}/{file}: the demo's image URLs. */
export function seedImageSchema(kind: 'source' | 'result') {
  return {
    summary:
      kind === 'source' ? 'The input image of a demo answer' : 'The heatmap of a demo answer',
    operationId: kind === 'source' ? 'seedSourceImage' : 'seedResultImage',
    tags: ['seed-demo'],
    params: documentedOnly({
      type: 'object',
      properties: {
        file: {
          type: 'string',
          description:
            kind === 'source' ? '<result id>.png' : 'Covid19_<percent>_<result id>.png.png',
        },
      },
    }),
    response: {
      200: contentResponse('The PNG', pngSchema, 'image/png'),
      ...problemResponses(404, 500, 503),
    },
  };
}
