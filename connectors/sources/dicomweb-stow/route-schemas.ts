import {
  contentResponse,
  documentedBody,
  documentedOnly,
  problemResponses,
} from '../../../engine/http/openapi';

/** The DICOM JSON answer (PS3.18 §10.5.3): Referenced and Failed SOP Sequences. */
const stowResponseSchema = {
  type: 'object',
  description:
    'DICOM JSON (PS3.18 F.2) keyed by tag: 00081199 ReferencedSOPSequence (stored), 00081198 FailedSOPSequence (refused, each with 00081197 FailureReason)',
  additionalProperties: {
    type: 'object',
    required: ['vr'],
    properties: { vr: { type: 'string' }, Value: { type: 'array' } },
  },
} as const;

/** POST /dicomweb/studies[/{study}]: the handler checks the UID and parses the multipart body. */
export const storeInstancesSchema = {
  summary: 'STOW-RS: store DICOM instances (one Part-10 file per part)',
  description:
    'multipart/related; type="application/dicom". Each instance is stored as received and published once Kafka acknowledged it. With a study UID in the path, instances of other studies are refused (0xC409).',
  operationId: 'storeInstances',
  tags: ['ingest'],
  params: documentedOnly({
    type: 'object',
    properties: {
      study: {
        type: 'string',
        pattern: '^[0-9]+(\\.[0-9]+)*$',
        description: 'Study Instance UID every instance must belong to',
      },
    },
  }),
  body: documentedBody({
    'multipart/related': {
      type: 'string',
      description: 'Parts of type application/dicom (Part-10 files); boundary in the header',
    },
  }),
  response: {
    200: contentResponse('Every instance stored', stowResponseSchema, 'application/dicom+json'),
    202: contentResponse(
      'Some instances stored, some refused (FailedSOPSequence says why)',
      stowResponseSchema,
      'application/dicom+json',
    ),
    409: contentResponse('No instance stored', stowResponseSchema, 'application/dicom+json'),
    ...problemResponses(400, 413, 415, 500, 503),
  },
};
