import type { Component } from '../../../engine/contracts';
import { HttpProblem } from '../../../engine/http/problem';
import { resultView } from '../../shared/result-view';

interface QueryApiConfig {
  maxPageSize: number;
}

/**
 * connectors/sinks/query-api — read-only REST over the result store.
 *   GET /api/v1/results/{id}                 one result (pending | done | failed), 404 if unknown
 *   GET /api/v1/patients/{id}/results        a patient's results, newest first, paged
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
    ctx.http.get<{ Params: { id: string } }>('/api/v1/results/:id', async (request) => {
      const row = await ctx.store.get(request.params.id);
      if (!row)
        throw new HttpProblem(
          404,
          'not-found',
          'No such result',
          `no result with id ${request.params.id}`,
        );
      return resultView(row);
    });

    ctx.http.get<{ Params: { id: string }; Querystring: { limit: number; offset: number } }>(
      '/api/v1/patients/:id/results',
      {
        schema: {
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              limit: { type: 'integer', minimum: 1, maximum: config.maxPageSize, default: 50 },
              offset: { type: 'integer', minimum: 0, default: 0 },
            },
          },
        },
      },
      async (request) => {
        const { limit, offset } = request.query;
        const rows = await ctx.store.listByPatient(request.params.id, limit, offset);
        return { patientId: request.params.id, limit, offset, items: rows.map(resultView) };
      },
    );
    return { start: async () => undefined, stop: async () => undefined };
  },
};
