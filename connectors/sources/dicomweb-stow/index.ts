import { Counter } from 'prom-client';
import type { Component } from '../../../engine/contracts';
import { EngineError, isEngineError } from '../../../engine/errors';
import { HttpProblem } from '../../../engine/http/problem';
import { publishDicomInstance } from '../../shared/dicom/intake';
import { isUnreadableDicom, readInstanceHeader } from '../../../dicom/part10';
import { parseMultipartRelated, parseMultipartRelatedType } from './multipart-related';
import { storeInstancesSchema } from './route-schemas';
import {
  FAILURE_REASON,
  type FailedInstance,
  type StoredInstance,
  stowResponse,
  stowStatus,
} from './stow-response';

interface StowConfig {
  maxBodyBytes: number;
  maxInstances: number;
}

const UID = /^[0-9]+(\.[0-9]+)*$/;

/**
 * connectors/sources/dicomweb-stow — STOW-RS (PS3.18 §10.5): `POST /dicomweb/studies[/{study}]`
 * with `multipart/related; type="application/dicom"`, one Part-10 instance per part.
 *  1. Each part is stored as received and published as DicomInstanceReceived (the same event as
 *     the C-STORE SCP) — one after another, each acknowledged by Kafka before the answer.
 *  2. The answer lists stored instances in ReferencedSOPSequence and refused ones in
 *     FailedSOPSequence with a FailureReason: 200 all stored, 202 some, 409 none.
 *  3. The whole request is refused with problem+json: 415 not multipart/related of DICOM,
 *     400 malformed multipart, 413 over `maxBodyBytes`, 503 (Retry-After) when nothing could be
 *     made durable because Kafka or the blob store is down.
 */
export const dicomwebStowSource: Component<StowConfig> = {
  name: 'dicomweb-stow',
  role: 'ingest',
  description: 'DICOMweb STOW-RS into medstream.ingest.dicom.v1',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      maxBodyBytes: {
        type: 'integer',
        minimum: 1024,
        default: 536870912,
        description: 'Largest STOW-RS request body (bytes); larger ones get 413.',
      },
      maxInstances: {
        type: 'integer',
        minimum: 1,
        default: 1000,
        description: 'Most instances in one request.',
      },
    },
  },
  create(config, ctx) {
    const instances = new Counter({
      name: 'medstream_stow_instances_total',
      help: 'Instances received by STOW-RS, by outcome (stored or the failure reason, hex)',
      labelNames: ['outcome'],
      registers: [ctx.metrics.registry],
    });

    ctx.http.register(async (app) => {
      app.addContentTypeParser(
        'multipart/related',
        { parseAs: 'buffer', bodyLimit: config.maxBodyBytes },
        (_req, body, done) => done(null, body),
      );
      app.post<{ Params: { study?: string } }>(
        '/dicomweb/studies/:study?',
        { bodyLimit: config.maxBodyBytes, schema: storeInstancesSchema },
        async (request, reply) => {
          const study = request.params.study;
          if (study !== undefined && !UID.test(study))
            throw new HttpProblem(
              400,
              'invalid-parameter',
              'Invalid Study Instance UID',
              `"${study}" is not a UID`,
            );
          // not multipart/related → 415, malformed → 400: EngineErrors the server answers
          const { boundary, type } = parseMultipartRelatedType(request.headers['content-type']);
          if (type && type !== 'application/dicom')
            throw new HttpProblem(
              415,
              'unsupported-media-type',
              'Only application/dicom instances are accepted',
              `multipart/related type "${type}" (use type="application/dicom")`,
            );
          const parts = parseMultipartRelated(request.body as Buffer, boundary);
          if (parts.length > config.maxInstances)
            throw new HttpProblem(
              413,
              'too-many-instances',
              'Too many instances in one request',
              `${parts.length} parts; at most ${config.maxInstances}`,
            );

          const stored: StoredInstance[] = [];
          const failed: FailedInstance[] = [];
          let unavailable = 0;
          for (const part of parts) {
            const partType = (part.headers['content-type'] ?? 'application/dicom')
              .split(';')[0]!
              .trim()
              .toLowerCase();
            let header;
            try {
              if (partType !== 'application/dicom')
                throw new EngineError(
                  'DECODE_FAILED',
                  `part of type ${partType} is not application/dicom`,
                );
              header = readInstanceHeader(part.body);
            } catch (err) {
              if (!isUnreadableDicom(err)) throw err;
              failed.push({
                sopClassUid: null,
                sopInstanceUid: null,
                reason: FAILURE_REASON.cannotUnderstand,
              });
              instances.inc({ outcome: 'c000' });
              ctx.logger.warn({ reason: err.message }, 'STOW-RS part refused');
              continue;
            }
            const ids = { sopClassUid: header.sopClassUid, sopInstanceUid: header.sopInstanceUid };
            if (study && header.studyInstanceUid !== study) {
              failed.push({ ...ids, reason: FAILURE_REASON.studyMismatch });
              instances.inc({ outcome: 'c409' });
              continue;
            }
            try {
              await publishDicomInstance(ctx, {
                part10: part.body,
                header,
                source: 'stow',
                remoteHost: request.ip,
              });
              // No RetrieveURL: medstream is no WADO-RS origin server.
              stored.push(ids);
              instances.inc({ outcome: 'stored' });
            } catch (err) {
              const retriable =
                isEngineError(err) && (err.retriable || err.code === 'STORE_FAILED');
              if (retriable) unavailable++;
              const reason = retriable
                ? FAILURE_REASON.outOfResources
                : FAILURE_REASON.processingFailure;
              failed.push({ ...ids, reason });
              instances.inc({ outcome: reason.toString(16).padStart(4, '0') });
              ctx.logger.warn({ err }, 'STOW-RS instance not stored');
            }
          }
          if (stored.length === 0 && unavailable > 0)
            throw new HttpProblem(
              503,
              'unavailable',
              'Service unavailable',
              'Kafka or the blob store is unavailable; nothing was stored',
              undefined,
              { 'retry-after': '5' },
            );
          return reply
            .code(stowStatus(stored.length, failed.length))
            .type('application/dicom+json')
            .send(stowResponse(stored, failed));
        },
      );
    });
    return { start: async () => undefined, stop: async () => undefined };
  },
};
