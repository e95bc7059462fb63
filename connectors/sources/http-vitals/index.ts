import { randomUUID } from 'node:crypto';
import type { Component } from '../../../engine/contracts';
import { TOPICS } from '../../../engine/kafka/topics';
import { resultView, waitForResult } from '../../shared/result-view';
import { parseWaitParam } from '../../shared/wait-param';
import { submitVitalsSchema } from './route-schemas';
import { type VitalsRequest, vitalsRequestToEvent } from './vitals-request';

interface HttpVitalsConfig {
  maxWaitMs: number;
}

/**
 * connectors/sources/http-vitals — POST /api/v1/vitals.
 * 1. validate (400 malformed, 413 too large, 415 not JSON, 422 naming each bad field);
 * 2. publish VitalSignsSubmitted to medstream.ingest.vitals.v1 keyed by patient, await acks=all
 *    (Kafka unavailable → 503 + Retry-After, nothing written anywhere);
 * 3. record the submission as pending in the store (best effort: the result is written anyway);
 * 4. answer 202 + Location, or with `?wait=` the finished result (200) once it is there.
 */
export const httpVitalsSource: Component<HttpVitalsConfig> = {
  name: 'http-vitals',
  role: 'ingest',
  description: 'REST intake of bedside vital signs (POST /api/v1/vitals)',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      maxWaitMs: {
        type: 'integer',
        minimum: 0,
        default: 60000,
        description: 'Longest `?wait=` a client may ask for.',
      },
    },
  },
  create(config, ctx) {
    ctx.http.post<{ Body: VitalsRequest; Querystring: { wait?: string } }>(
      '/api/v1/vitals',
      { schema: submitVitalsSchema },
      async (request, reply) => {
        const waitMs = parseWaitParam(request.query.wait, config.maxWaitMs);
        const id = randomUUID();
        const receivedAt = Date.now();
        const event = vitalsRequestToEvent(request.body, id, receivedAt);
        await ctx.producer.send(
          [
            {
              topic: TOPICS.ingestVitals,
              key: event.patientId,
              value: event,
              headers: { 'correlation-id': id },
            },
          ],
          'http-vitals',
        );
        await ctx.store
          .insertPending({
            id,
            kind: 'news2',
            patientId: event.patientId,
            submittedAt: new Date(receivedAt),
          })
          .catch((err: unknown) =>
            ctx.logger.warn({ err, id }, 'accepted, but the pending row could not be written'),
          );

        const location = `/api/v1/results/${id}`;
        reply.header('location', location);
        if (waitMs > 0) {
          const row = await waitForResult(ctx.store, id, waitMs);
          if (row && row.status !== 'pending') return reply.code(200).send(resultView(row));
        }
        return reply.code(202).send({ id, status: 'pending', links: { self: location } });
      },
    );
    return { start: async () => undefined, stop: async () => undefined };
  },
};
