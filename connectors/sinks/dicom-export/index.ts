import sharp from 'sharp';
import { Counter } from 'prom-client';
import dimse from 'dcmjs-dimse';
import type { Component } from '../../../engine/contracts';
import { EngineError } from '../../../engine/errors';
import { TOPICS } from '../../../engine/kafka/topics';
import { sleep } from '../../../engine/time';
import { configureDicomImplementation } from '../../../dicom/implementation';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../../../dicom/uids';
import { secondaryCaptureDataset } from './secondary-capture';

const { Client, Dataset } = dimse;
const { CStoreRequest } = dimse.requests;

interface DicomExportConfig {
  enabled: boolean;
  destination: { aeTitle: string; host: string; port: number };
  callingAeTitle: string;
  seriesNumber: number;
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  timeoutMs: number;
}

/** Why one C-STORE attempt did not succeed, and whether trying again can help. */
class StoreAttemptFailed extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
  ) {
    super(message);
  }
}

/** C-STORE statuses: 0x0000 success, 0xB000/0xB007/0xB006 warnings (stored); others failed. */
const stored = (status: number) => status === 0 || (status & 0xf000) === 0xb000;
/** Out of resources (A7xx) and processing failure (0110) can pass; A9xx, Cxxx, 0122 cannot. */
const retriableStatus = (status: number) => (status & 0xff00) === 0xa700 || status === 0x0110;

export function backoffMs(attempt: number, initial: number, max: number): number {
  return Math.min(max, initial * 2 ** (attempt - 1));
}

/**
 * connectors/sinks/dicom-export — sends each DICOM-sourced imaging result's heatmap back to the
 * PACS as a Secondary Capture in a new series of the same study (secondary-capture.ts), by
 * C-STORE SCU to the configured destination.
 *  - Off unless `enabled`; results of non-DICOM input (no study to join) are not exported.
 *  - Bounded retry: a transient association rejection, a network error, no C-STORE response
 *    (e.g. the PACS accepted the association but not the Secondary Capture context) or an
 *    out-of-resources / processing-failure status is tried again after 1, 2, 4 … s (capped) up
 *    to `maxAttempts`; then, or at once for a permanent refusal, the result goes to
 *    medstream.dlq.v1 with the reason. Never forever.
 *  - Idempotent: UIDs derive from the result id, so a redelivery replaces, not duplicates.
 */
export const dicomExportSink: Component<DicomExportConfig> = {
  name: 'dicom-export',
  role: 'sink',
  description: 'Heatmaps back to the PACS as DICOM Secondary Capture (C-STORE SCU)',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      enabled: { type: 'boolean', default: false },
      destination: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          aeTitle: { type: 'string', minLength: 1, maxLength: 16, default: 'PACS' },
          host: { type: 'string', default: '127.0.0.1' },
          port: { type: 'integer', minimum: 1, maximum: 65535, default: 104 },
        },
      },
      callingAeTitle: { type: 'string', minLength: 1, maxLength: 16, default: 'MEDSTREAM' },
      seriesNumber: { type: 'integer', minimum: 1, default: 9901 },
      maxAttempts: { type: 'integer', minimum: 1, maximum: 20, default: 5 },
      initialBackoffMs: { type: 'integer', minimum: 10, default: 1000 },
      maxBackoffMs: { type: 'integer', minimum: 10, default: 30000 },
      timeoutMs: {
        type: 'integer',
        minimum: 100,
        default: 30000,
        description: 'Connect, association and PDU timeout of one attempt.',
      },
    },
  },
  create(config, ctx) {
    const exports = new Counter({
      name: 'medstream_dicom_exports_total',
      help: 'Secondary Captures sent back to the PACS, by outcome (stored, retried, failed)',
      labelNames: ['outcome'],
      registers: [ctx.metrics.registry],
    });

    const storeOnce = (elements: Record<string, unknown>) =>
      new Promise<void>((resolve, reject) => {
        const client = new Client();
        const request = new CStoreRequest(new Dataset(elements, EXPLICIT_VR_LITTLE_ENDIAN));
        let status: number | undefined;
        let failure: StoreAttemptFailed | undefined;
        request.on('response', (response) => (status = response.getStatus()));
        client.on('associationRejected', (reject_) => {
          const r = reject_ as { result?: number };
          // result 2 = rejected-transient: the peer may accept later
          failure = new StoreAttemptFailed('association rejected by the PACS', r.result === 2);
        });
        client.on('networkError', (err: Error) => {
          failure = new StoreAttemptFailed(`network error: ${err.message}`, true);
          reject(failure);
        });
        client.on('closed', () => {
          if (failure) return reject(failure);
          if (status === undefined)
            return reject(
              new StoreAttemptFailed('no C-STORE response (association not accepted?)', true),
            );
          if (stored(status)) return resolve();
          const hex = `0x${status.toString(16).padStart(4, '0')}`;
          reject(new StoreAttemptFailed(`C-STORE status ${hex}`, retriableStatus(status)));
        });
        client.addRequest(request);
        client.send(
          config.destination.host,
          config.destination.port,
          config.callingAeTitle,
          config.destination.aeTitle,
          {
            connectTimeout: config.timeoutMs,
            associationTimeout: config.timeoutMs,
            pduTimeout: config.timeoutMs,
          },
        );
      });

    const consumer = ctx.createConsumer({
      topics: [TOPICS.resultsImaging],
      handle: async (record) => {
        const result = record.value;
        if (!result.dicom || !result.heatmap) return [];
        const [source, overlay] = await Promise.all([
          ctx.blobs.get(result.input.uri),
          ctx.blobs.get(result.heatmap.overlayUri),
        ]);
        const { data, info } = await sharp(overlay)
          .removeAlpha()
          .toColourspace('srgb')
          .raw()
          .toBuffer({ resolveWithObject: true });
        const elements = secondaryCaptureDataset({
          source,
          resultId: result.resultId,
          model: result.model,
          label: result.heatmap.label,
          probability: result.probabilities[result.heatmap.classIndex] ?? 0,
          syntheticModel: result.syntheticModel,
          rgb: data,
          width: info.width,
          height: info.height,
          seriesNumber: config.seriesNumber,
        });
        for (let attempt = 1; ; attempt++) {
          try {
            await storeOnce(elements);
            exports.inc({ outcome: 'stored' });
            return [];
          } catch (err) {
            const failure =
              err instanceof StoreAttemptFailed ? err : new StoreAttemptFailed(String(err), false);
            if (!failure.retriable || attempt >= config.maxAttempts) {
              exports.inc({ outcome: 'failed' });
              throw new EngineError(
                'EXPORT_FAILED',
                `Secondary Capture to ${config.destination.aeTitle}@${config.destination.host}:${config.destination.port} failed after ${attempt} attempt(s): ${failure.message}`,
              );
            }
            exports.inc({ outcome: 'retried' });
            ctx.logger.warn(
              { attempt, reason: failure.message },
              'Secondary Capture export retried',
            );
            await sleep(backoffMs(attempt, config.initialBackoffMs, config.maxBackoffMs));
          }
        }
      },
    });
    return {
      start: async () => {
        if (!config.enabled) return;
        configureDicomImplementation();
        await consumer.start();
      },
      stop: async () => {
        if (config.enabled) await consumer.stop();
      },
    };
  },
};
