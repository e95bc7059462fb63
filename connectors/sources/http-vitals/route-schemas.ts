import { contentResponse, documentedOnly, problemResponses } from '../../../engine/http/openapi';
import {
  acceptedSchema,
  locationHeader,
  resultViewSchema,
  waitParameter,
} from '../../shared/result-schemas';
import { vitalsRequestSchema } from './vitals-request';

/** POST /api/v1/vitals: the body is enforced by its schema; `wait` is parsed by the handler. */
export const submitVitalsSchema = {
  summary: 'Submit one set of bedside vital signs for NEWS2 scoring',
  operationId: 'submitVitals',
  tags: ['ingest'],
  body: vitalsRequestSchema,
  querystring: documentedOnly({ type: 'object', properties: { wait: waitParameter } }),
  response: {
    202: {
      ...contentResponse('Accepted: durable in Kafka; the result follows', acceptedSchema),
      headers: locationHeader,
    },
    200: {
      ...contentResponse('The finished result (with `?wait=`)', resultViewSchema),
      headers: locationHeader,
    },
    ...problemResponses(400, 413, 415, 422, 500, 503),
  },
};
