import type { Component } from '../../../engine/contracts';
import { contentResponse, problemResponses } from '../../../engine/http/openapi';
import { HttpProblem } from '../../../engine/http/problem';
import type { StoredResult } from '../../../engine/store/result-store';
import { resultImage } from '../../shared/result-image';
import { pngSchema, resultViewSchema } from '../../shared/result-schemas';
import { resultView } from '../../shared/result-view';

interface QueryApiConfig {
  maxPageSize: number;
}

/**
 * connectors/api/query-api — read-only REST over the result store.
 *   GET /api/v1/results/{id}                 one result (pending | done | failed), 404 if unknown
 *   GET /api/v1/patients/{id}/results        a patient's results, newest first, paged
 *   GET /api/v1/studies/{uid}/results        a DICOM study's results (and failures), newest first
 */
export const queryApi: Component<QueryApiConfig> = {
  name: 'query-api',
  role: 'api',
  description: 'REST query API over stored results',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      maxPageSize: {
        type: 'integer',
        minimum: 1,
        default: 200,
        description: 'Largest `limit` accepted.',
      },
    },
  },
  create(config, ctx) {
    const idParams = {
      type: 'object',
      required: ['id'],
      properties: {
        id: { type: 'string', description: 'The result id (Location of a submission)' },
      },
    };
    ctx.http.get<{ Params: { id: string } }>(
      '/api/v1/results/:id',
      {
        schema: {
          summary: 'One result: pending, done or failed',
          operationId: 'getResult',
          tags: ['results'],
          params: idParams,
          response: {
            200: contentResponse('The result', resultViewSchema),
            ...problemResponses(404, 500, 503),
          },
        },
      },
      async (request) => {
        const row = await ctx.store.get(request.params.id);
        if (!row)
          throw new HttpProblem(
            404,
            'not-found',
            'No such result',
            `no result with id ${request.params.id}`,
          );
        return resultView(row);
      },
    );

    // Images of a result: the heatmap overlay, the raw normalised map, the input as displayed.
    const images = {
      'heatmap.png': [
        'heatmap',
        'overlayUri',
        'getResultHeatmap',
        'The Grad-CAM heatmap over the input',
      ],
      'heatmap-map.png': ['heatmap', 'mapUri', 'getResultHeatmapMap', 'The raw normalised heatmap'],
      'input.png': ['input', 'displayUri', 'getResultInput', 'The input image as displayed'],
    } as const;
    for (const [file, [section, key, operationId, summary]] of Object.entries(images)) {
      ctx.http.get<{ Params: { id: string } }>(
        `/api/v1/results/:id/${file}`,
        {
          schema: {
            summary,
            operationId,
            tags: ['results'],
            params: idParams,
            response: {
              200: contentResponse('The PNG (immutable, cacheable)', pngSchema, 'image/png'),
              ...problemResponses(404, 500, 503),
            },
          },
        },
        async (request, reply) => {
          const png = await resultImage(ctx, request.params.id, section, key);
          return reply
            .type('image/png')
            .header('cache-control', 'private, max-age=31536000, immutable')
            .send(png);
        },
      );
    }

    /** A paged, newest-first list of results, by patient or by study. */
    const listRoute = (
      path: string,
      doc: { summary: string; operationId: string },
      param: { name: string; schema: Record<string, unknown> },
      list: (key: string, limit: number, offset: number) => Promise<StoredResult[]>,
      answerKey: string,
    ) =>
      ctx.http.get<{
        Params: Record<string, string>;
        Querystring: { limit: number; offset: number };
      }>(
        path,
        {
          schema: {
            ...doc,
            tags: ['results'],
            params: { type: 'object', properties: { [param.name]: param.schema } },
            querystring: {
              type: 'object',
              additionalProperties: false,
              properties: {
                limit: { type: 'integer', minimum: 1, maximum: config.maxPageSize, default: 50 },
                offset: { type: 'integer', minimum: 0, default: 0 },
              },
            },
            response: {
              200: contentResponse('A page of results, newest first', {
                type: 'object',
                required: [answerKey, 'limit', 'offset', 'items'],
                properties: {
                  [answerKey]: { type: 'string' },
                  limit: { type: 'integer' },
                  offset: { type: 'integer' },
                  items: { type: 'array', items: resultViewSchema },
                },
              }),
              ...problemResponses(400, 500, 503),
            },
          },
        },
        async (request) => {
          const { limit, offset } = request.query;
          const key = request.params[param.name]!;
          const rows = await list(key, limit, offset);
          return { [answerKey]: key, limit, offset, items: rows.map(resultView) };
        },
      );
    listRoute(
      '/api/v1/patients/:id/results',
      { summary: 'A patient’s results, newest first, paged', operationId: 'listPatientResults' },
      { name: 'id', schema: { type: 'string' } },
      (id, limit, offset) => ctx.store.listByPatient(id, limit, offset),
      'patientId',
    );
    listRoute(
      '/api/v1/studies/:uid/results',
      {
        summary: 'A DICOM study’s results (and failures), newest first, paged',
        operationId: 'listStudyResults',
      },
      { name: 'uid', schema: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)*$', maxLength: 64 } },
      (uid, limit, offset) => ctx.store.listBySubject(uid, limit, offset),
      'studyInstanceUid',
    );
    return { start: async () => undefined, stop: async () => undefined };
  },
};
