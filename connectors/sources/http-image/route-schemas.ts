import {
  contentResponse,
  documentedBody,
  documentedOnly,
  problemResponses,
} from '../../../engine/http/openapi';
import {
  acceptedSchema,
  locationHeader,
  resultViewSchema,
  waitParameter,
} from '../../shared/result-schemas';

/** The options that go with an image, as the handler checks them (index.ts optionProperties). */
export function submitImageSchema(optionProperties: Record<string, unknown>) {
  const asText = Object.fromEntries(
    Object.entries(optionProperties).map(([name, schema]) => [
      name,
      { type: 'string', description: `as text: ${JSON.stringify(schema)}` },
    ]),
  );
  const image = (type: string) => ({ type: 'string', contentMediaType: type });
  return {
    summary: 'Submit a PNG or JPEG image for classification (and a Grad-CAM heatmap)',
    description:
      'Three ways: a JSON body with the image base64-encoded in `b64`; the raw image bytes with options in the query string; or a multipart form with one file part and option fields. The image is checked (format, size) without decoding its pixels.',
    operationId: 'submitImage',
    tags: ['ingest'],
    // the handler validates the body by its content type (and the query string's options)
    body: documentedBody({
      'application/json': {
        type: 'object',
        additionalProperties: false,
        required: ['b64'],
        properties: {
          b64: { type: 'string', contentEncoding: 'base64', description: 'The PNG or JPEG' },
          ...optionProperties,
        },
      },
      'image/png': image('image/png'),
      'image/jpeg': image('image/jpeg'),
      'multipart/form-data': {
        type: 'object',
        required: ['file'],
        properties: { file: { type: 'string', contentMediaType: 'image/png' }, ...asText },
      },
    }),
    querystring: documentedOnly({
      type: 'object',
      properties: { wait: waitParameter, ...asText },
    }),
    response: {
      202: {
        ...contentResponse(
          'Accepted: stored and durable in Kafka; the result follows',
          acceptedSchema,
        ),
        headers: locationHeader,
      },
      200: {
        ...contentResponse('The finished result (with `?wait=`)', resultViewSchema),
        headers: locationHeader,
      },
      ...problemResponses(400, 413, 415, 422, 500, 503),
    },
  };
}
