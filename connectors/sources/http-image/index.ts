import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { Component } from '../../../engine/contracts';
import { HttpProblem } from '../../../engine/http/problem';
import { createBodyValidator } from '../../../engine/http/validate';
import { resultView, waitForResult } from '../../shared/result-view';
import { type ImageSubmission, decodeBase64Image, submitImage } from '../../shared/submit-image';
import { parseWaitParam } from '../../shared/wait-param';
import { submitImageSchema } from './route-schemas';

export interface HttpImageConfig {
  maxImageBytes: number;
  minSide: number;
  maxSide: number;
  maxPixels: number;
  maxWaitMs: number;
}

/** Options that go with an image, in a JSON body, multipart fields or the query string. */
const optionProperties = {
  patientId: {
    type: 'string',
    minLength: 1,
    maxLength: 64,
    pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]*$',
  },
  studyRef: { type: 'string', minLength: 1, maxLength: 128 },
  model: {
    type: 'string',
    minLength: 1,
    maxLength: 128,
    pattern: '^[a-z0-9][a-z0-9._-]*(@[A-Za-z0-9._-]+)?$',
  },
  gradcam: { type: 'boolean' },
  classIndex: { type: 'integer', minimum: 0 },
  colormap: { type: 'string', enum: ['jet', 'inferno', 'gray'] },
  opacity: { type: 'number', minimum: 0, maximum: 1 },
} as const;

type ImageOptions = Omit<ImageSubmission, 'bytes' | 'source'>;

const validateJson = createBodyValidator<ImageOptions & { b64: string }>({
  type: 'object',
  additionalProperties: false,
  required: ['b64'],
  properties: { b64: { type: 'string' }, ...optionProperties },
});
const validateOptions = createBodyValidator<ImageOptions>({
  type: 'object',
  additionalProperties: false,
  properties: optionProperties,
});

/** Multipart and query values are text; turn the known numeric/boolean ones into their types. */
function typedOptions(fields: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...fields };
  if (fields.gradcam !== undefined)
    out.gradcam =
      fields.gradcam === 'true' ? true : fields.gradcam === 'false' ? false : fields.gradcam;
  for (const key of ['classIndex', 'opacity'] as const) {
    if (fields[key] !== undefined && fields[key] !== '' && Number.isFinite(Number(fields[key])))
      out[key] = Number(fields[key]);
  }
  return out;
}

async function readMultipart(
  request: FastifyRequest,
): Promise<{ bytes: Buffer; fields: Record<string, string> }> {
  let bytes: Buffer | undefined;
  const fields: Record<string, string> = {};
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      if (bytes)
        throw new HttpProblem(
          400,
          'too-many-files',
          'One image per request',
          'the form holds more than one file',
        );
      bytes = await part.toBuffer();
    } else {
      fields[part.fieldname] = String(part.value);
    }
  }
  if (!bytes) {
    throw new HttpProblem(
      400,
      'missing-file',
      'Missing image',
      'the form must hold one file part (the image)',
      [{ field: 'file', message: 'is required' }],
    );
  }
  return { bytes, fields };
}

/**
 * connectors/sources/http-image — POST /api/v1/images, three ways:
 *   application/json   {"b64": "<base64 PNG/JPEG>", "patientId"?, "model"?, "gradcam"?, …}
 *   image/png|jpeg     the image bytes; options in the query string
 *   multipart/form-data one file part plus option fields
 * The image is checked (format, size) without decoding pixels, stored in the blob store, and
 * published as ImageSubmitted once Kafka acks: 202 + Location, or with `?wait=` the result.
 * Not an image → 415; undecodable / bad base64 → 400; too small → 422; too big → 413.
 */
export const httpImageSource: Component<HttpImageConfig> = {
  name: 'http-image',
  role: 'ingest',
  description: 'REST intake of images (JSON base64, raw PNG/JPEG, multipart)',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      maxImageBytes: {
        type: 'integer',
        minimum: 1024,
        default: 33554432,
        description: 'Largest image accepted (bytes); base64 bodies may be 4/3 of it.',
      },
      minSide: {
        type: 'integer',
        minimum: 1,
        default: 32,
        description: 'Smallest width/height accepted (px).',
      },
      maxSide: {
        type: 'integer',
        minimum: 1,
        default: 8192,
        description: 'Largest width/height accepted (px).',
      },
      maxPixels: {
        type: 'integer',
        minimum: 1,
        default: 67108864,
        description: 'Largest width × height accepted.',
      },
      maxWaitMs: {
        type: 'integer',
        minimum: 0,
        default: 120000,
        description: 'Longest `?wait=` a client may ask for.',
      },
    },
  },
  create(config, ctx) {
    const limits = {
      minSide: config.minSide,
      maxSide: config.maxSide,
      maxPixels: config.maxPixels,
    };
    ctx.http.register(async (app) => {
      await app.register(multipart, {
        limits: { fileSize: config.maxImageBytes, files: 1, fields: 20 },
        throwFileSizeLimit: true,
      });
      app.addContentTypeParser(
        ['image/png', 'image/jpeg'],
        { parseAs: 'buffer', bodyLimit: config.maxImageBytes },
        (_req, body, done) => done(null, body),
      );
      app.post<{ Querystring: Record<string, string> }>(
        '/api/v1/images',
        {
          bodyLimit: Math.ceil((config.maxImageBytes * 4) / 3) + 65536,
          schema: submitImageSchema(optionProperties),
        },
        async (request, reply) => {
          const { wait, ...query } = request.query;
          const waitMs = parseWaitParam(wait, config.maxWaitMs);
          let submission: ImageSubmission;
          if (request.isMultipart()) {
            const { bytes, fields } = await readMultipart(request);
            submission = { bytes, ...validateOptions(typedOptions(fields)), source: 'http-image' };
          } else if (Buffer.isBuffer(request.body)) {
            submission = {
              bytes: request.body,
              ...validateOptions(typedOptions(query)),
              source: 'http-image',
            };
          } else {
            const { b64, ...options } = validateJson(request.body);
            submission = { bytes: decodeBase64Image(b64), ...options, source: 'http-image' };
          }
          const id = await submitImage(ctx, submission, limits);
          const location = `/api/v1/results/${id}`;
          reply.header('location', location);
          if (waitMs > 0) {
            const row = await waitForResult(ctx.store, id, waitMs);
            if (row && row.status !== 'pending') return reply.code(200).send(resultView(row));
          }
          return reply.code(202).send({ id, status: 'pending', links: { self: location } });
        },
      );
    });
    return { start: async () => undefined, stop: async () => undefined };
  },
};
