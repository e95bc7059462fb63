import formbody from '@fastify/formbody';
import type { FastifyRequest } from 'fastify';
import type { Component, ComponentContext } from '../../../engine/contracts';
import { HttpProblem } from '../../../engine/http/problem';
import { resultImage } from '../../shared/result-image';
import { waitForResult } from '../../shared/result-view';
import { decodeBase64Image, submitImage } from '../../shared/submit-image';
import { seedHealthcheckSchema, seedImageSchema, seedPredictSchema } from './route-schemas';
import { idFromSeedFile, seedResponse } from './seed-response';
import type { ImagingResult } from '../../../schemas/records';

interface SeedConfig {
  waitMs: number;
  model: string;
  positiveLabel: string;
  maxImageBytes: number;
}

const baseUrlOf = (request: FastifyRequest) =>
  `${request.protocol}://${request.headers.host ?? `${request.hostname}`}`;

async function staticImage(
  ctx: ComponentContext,
  file: string,
  section: 'input' | 'heatmap',
  key: string,
): Promise<Buffer> {
  const id = idFromSeedFile(file);
  if (!id) throw new HttpProblem(404, 'not-found', 'Not found', `no image named ${file}`);
  return resultImage(ctx, id, section, key);
}

/**
 * connectors/sources/seed-covid19 — the origin demo's API (shared/SEED_API.md), over the durable
 * pipeline: the image goes through Kafka like any other; the route waits for the result and
 * answers in the demo's shape. Form field `b64` as Python `requests.post(url, data={'b64': …})`
 * sends it (a JSON `{"b64"}` body works too). Image URLs are absolute, built from the request's
 * Host, and served under /static/source and /static/result as the demo did.
 */
export const seedCovid19Api: Component<SeedConfig> = {
  name: 'seed-covid19-api',
  role: 'ingest',
  description: 'The 2020 demo’s /covid19/api/v1 routes, answered by the pipeline',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      waitMs: {
        type: 'integer',
        minimum: 1000,
        default: 60000,
        description: 'How long a predict call waits for its result before answering 503.',
      },
      model: {
        type: 'string',
        default: 'cxr-demo',
        description: 'Model the seed routes use (name or name@version).',
      },
      positiveLabel: {
        type: 'string',
        default: 'covid19',
        description: 'Label reported as the COVID-19 probability.',
      },
      maxImageBytes: { type: 'integer', minimum: 1024, default: 33554432 },
    },
  },
  create(config, ctx) {
    const limits = { minSide: 32, maxSide: 8192, maxPixels: 8192 * 8192 };
    ctx.http.register(async (app) => {
      await app.register(formbody, {
        bodyLimit: Math.ceil((config.maxImageBytes * 4) / 3) * 3 + 1024,
      });
      app.get(
        '/covid19/api/v1/healthcheck',
        { schema: seedHealthcheckSchema },
        async (_request, reply) => reply.type('text/plain').send('Covid19 detector API is live!'),
      );

      for (const [path, withHeatmap] of [
        ['/covid19/api/v1/predict', false],
        ['/covid19/api/v1/predict/heatmap', true],
      ] as const) {
        const bodyLimit = Math.ceil((config.maxImageBytes * 4) / 3) * 3 + 1024;
        app.post<{ Body: Record<string, unknown> | undefined }>(
          path,
          { bodyLimit, schema: seedPredictSchema(withHeatmap) },
          async (request, reply) => {
            const bytes = decodeBase64Image(request.body?.b64);
            const id = await submitImage(
              ctx,
              { bytes, model: config.model, gradcam: withHeatmap, source: 'seed-covid19-api' },
              limits,
            );
            const row = await waitForResult(ctx.store, id, config.waitMs);
            if (!row || row.status === 'pending') {
              throw new HttpProblem(
                503,
                'timeout',
                'The result is not ready yet',
                `result ${id} is still pending; read it at /api/v1/results/${id}`,
                undefined,
                {
                  'retry-after': '5',
                  location: `/api/v1/results/${id}`,
                },
              );
            }
            if (row.status === 'failed') {
              throw new HttpProblem(
                422,
                'image-failed',
                'The image could not be classified',
                row.error?.message ?? 'failed',
              );
            }
            const p = row.payload as unknown as ImagingResult;
            return reply.send(
              seedResponse({
                id,
                baseUrl: baseUrlOf(request),
                model: p.model,
                labels: p.labels,
                probabilities: p.probabilities,
                label: p.label,
                positiveLabel: config.positiveLabel,
                disclaimer: p.disclaimer,
                withHeatmap,
              }),
            );
          },
        );
      }

      app.get<{ Params: { file: string } }>(
        '/static/source/:file',
        { schema: seedImageSchema('source') },
        async (request, reply) =>
          reply
            .type('image/png')
            .send(await staticImage(ctx, request.params.file, 'input', 'displayUri')),
      );
      app.get<{ Params: { file: string } }>(
        '/static/result/:file',
        { schema: seedImageSchema('result') },
        async (request, reply) =>
          reply
            .type('image/png')
            .send(await staticImage(ctx, request.params.file, 'heatmap', 'overlayUri')),
      );
    });
    return { start: async () => undefined, stop: async () => undefined };
  },
};
