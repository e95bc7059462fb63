import {
  SECURITY_SCHEMES,
  contentResponse,
  documentedBody,
  documentedOnly,
  problemResponses,
} from '../../../engine/http/openapi';

/** The one auth scheme medstream has today: the subscription's shared header secret. */
const SCHEME = 'fhirCallbackSecret';

const resourceSchema = {
  type: 'object',
  required: ['resourceType'],
  properties: { resourceType: { type: 'string' }, id: { type: 'string' } },
  description: 'A FHIR R4 resource (or, at the callback root, a subscription-notification Bundle)',
} as const;

const operationOutcome = {
  type: 'object',
  required: ['resourceType', 'issue'],
  properties: { resourceType: { const: 'OperationOutcome' }, issue: { type: 'array' } },
} as const;

type Kind = 'root' | 'resource' | 'resourceWithId' | 'putResource' | 'delete';

const DOC: Record<Kind, { summary: string; operationId: string }> = {
  root: {
    summary:
      'Subscription callback: an R4B/R5 notification Bundle, or an empty body (R4 id-only rest-hook)',
    operationId: 'receiveFhirNotification',
  },
  resource: {
    summary: 'R4 rest-hook with the full resource',
    operationId: 'receiveFhirResource',
  },
  resourceWithId: {
    summary: 'R4 rest-hook with the full resource, id in the path',
    operationId: 'postFhirResourceWithId',
  },
  putResource: {
    summary: 'R4 rest-hook (PUT) with the full resource',
    operationId: 'putFhirResource',
  },
  delete: {
    summary: 'The resource was deleted (its patient is read from its history)',
    operationId: 'receiveFhirDelete',
  },
};

/**
 * The OpenAPI schema of one callback route. `named`: under `/sub/{name}` (a configured
 * subscription); `authHeader`: the header carrying the secret (components.fhir-subscription).
 * Everything is checked by the handler: the schemas document, they do not enforce.
 */
export function callbackSchema(kind: Kind, named: boolean, authHeader: string) {
  const params: Record<string, unknown> = {};
  if (named) params.name = { type: 'string', description: 'The configured subscription' };
  if (kind !== 'root') params.type = { type: 'string', description: 'FHIR resource type' };
  if (kind !== 'root' && kind !== 'resource')
    params.id = { type: 'string', description: 'FHIR resource id' };
  const json = { ...resourceSchema };
  return {
    ...DOC[kind],
    operationId: `${DOC[kind].operationId}${named ? 'OfSubscription' : ''}`,
    tags: ['ingest'],
    security: [{ [SCHEME]: [] }],
    [SECURITY_SCHEMES]: {
      [SCHEME]: {
        type: 'apiKey',
        in: 'header',
        name: authHeader,
        description:
          'The Subscription channel header: the shared secret configured for the subscription (components.fhir-subscription.secret).',
      },
    },
    ...(Object.keys(params).length
      ? { params: documentedOnly({ type: 'object', properties: params }) }
      : {}),
    ...(kind === 'delete'
      ? {}
      : {
          body: documentedBody(
            {
              'application/fhir+json': json,
              'application/json+fhir': json,
              'application/json': json,
              ...(kind === 'root'
                ? { 'application/x-www-form-urlencoded': { type: 'string', maxLength: 0 } }
                : {}),
            },
            kind === 'root' ? 'Empty for an id-only rest-hook' : undefined,
          ),
        }),
    response: {
      200: contentResponse(
        'Taken in (durable in Kafka): an informational OperationOutcome',
        operationOutcome,
        'application/fhir+json',
      ),
      ...problemResponses(400, 401, 413, 415, 422, 500, 503),
    },
  };
}
