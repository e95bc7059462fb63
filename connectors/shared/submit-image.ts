import { randomUUID } from 'node:crypto';
import type { ComponentContext } from '../../engine/contracts';
import { HttpProblem } from '../../engine/http/problem';
import { TOPICS } from '../../engine/kafka/topics';
import { type DecodeLimits, ImageRejected, probeImage } from '../../processors/shared/image-decode';

export interface ImageSubmission {
  bytes: Buffer;
  patientId?: string | null;
  studyRef?: string | null;
  model?: string | null;
  gradcam?: boolean;
  classIndex?: number | null;
  colormap?: 'jet' | 'inferno' | 'gray';
  opacity?: number;
  source: string;
}

const STATUS_BY_PROBLEM = {
  unsupported: 415,
  corrupt: 400,
  'too-small': 422,
  'too-large': 413,
} as const;

/** An image the decoder refused, as the HTTP answer a client can act on. */
export function imageProblem(err: ImageRejected): HttpProblem {
  return new HttpProblem(
    STATUS_BY_PROBLEM[err.problem],
    `image-${err.problem}`,
    'The image cannot be used',
    err.message,
  );
}

/**
 * The one intake path for images over HTTP (REST and seed routes): check it is a PNG/JPEG of a
 * usable size (without decoding pixels), store the bytes (claim check), publish ImageSubmitted
 * and wait for Kafka's ack, then record the job as pending. Returns the job id.
 */
export async function submitImage(
  ctx: ComponentContext,
  submission: ImageSubmission,
  limits: DecodeLimits,
): Promise<string> {
  let probe;
  try {
    probe = await probeImage(submission.bytes, limits);
  } catch (err) {
    if (err instanceof ImageRejected) throw imageProblem(err);
    throw err;
  }
  const blob = await ctx.blobs.put(submission.bytes);
  const id = randomUUID();
  const receivedAt = Date.now();
  await ctx.producer.send(
    [
      {
        topic: TOPICS.ingestImage,
        key: id,
        value: {
          id,
          receivedAt,
          contentType: `image/${probe.format}`,
          blob,
          width: probe.width,
          height: probe.height,
          patientId: submission.patientId ?? null,
          studyRef: submission.studyRef ?? null,
          model: submission.model ?? null,
          gradcam: submission.gradcam ?? true,
          classIndex: submission.classIndex ?? null,
          colormap: submission.colormap ?? 'jet',
          opacity: submission.opacity ?? 0.45,
          source: submission.source,
        },
        headers: { 'correlation-id': id },
      },
    ],
    submission.source,
  );
  await ctx.store
    .insertPending({
      id,
      kind: 'imaging',
      patientId: submission.patientId ?? null,
      subject: id,
      submittedAt: new Date(receivedAt),
    })
    .catch((err: unknown) =>
      ctx.logger.warn({ err, id }, 'accepted, but the pending row could not be written'),
    );
  return id;
}

/** Base64 text (standard or URL-safe alphabet, whitespace and data: prefix tolerated) → bytes. */
export function decodeBase64Image(text: unknown, field = 'b64'): Buffer {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new HttpProblem(
      400,
      'invalid-base64',
      'Missing image',
      `${field} must be a non-empty base64 string`,
      [{ field, message: 'is required' }],
    );
  }
  const body = text.replace(/^data:[^,]*,/, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(body) || body.length % 4 === 1) {
    throw new HttpProblem(400, 'invalid-base64', 'Invalid base64', `${field} is not valid base64`, [
      { field, message: 'is not valid base64' },
    ]);
  }
  return Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}
