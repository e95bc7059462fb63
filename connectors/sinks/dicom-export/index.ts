import sharp from 'sharp';
import { Counter } from 'prom-client';
import dimse from 'dcmjs-dimse';
import type { Component } from '../../../engine/contracts';
import { type RetryConfig, retryConfigSchema } from '../../../engine/config/retry';
import { EngineError } from '../../../engine/errors';
import { TOPICS } from '../../../engine/kafka/topics';
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
  retry: RetryConfig;
  timeoutMs: number;
}

/** Why one C-STORE attempt did not succeed, and whether the runtime should try again. */
interface StoreFailure {
  reason: string;
  retriable: boolean;
  status?: number;
}

/** C-STORE statuses: 0x0000 success, 0xB000/0xB007/0xB006 warnings (stored); others failed. */
const stored = (status: number) => status === 0 || (status & 0xf000) === 0xb000;
/** Out of resources (A7xx) and processing failure (0110) can pass; A9xx, Cxxx, 0122 cannot. */
export const retriableStoreStatus = (status: number) =>
  (status & 0xff00) === 0xa700 || status === 0x0110;

/**
 * connectors/sinks/dicom-export — sends each DICOM-sourced imaging result's heatmap back to the
 * PACS as a Secondary Capture in a new series of the same study (secondary-capture.ts), by
 * C-STORE SCU to the configured destination.
 *  - Off unless `enabled`; results of non-DICOM input (no study to join) are not exported.
 *  - One C-STORE attempt per delivery; the handler never sleeps. A transient association
 *    rejection, a network error or timeout, no C-STORE response (e.g. the PACS accepted the
 *    association but not the Secondary Capture context) or an out-of-resources (0xA7xx) /
 *    processing-failure (0x0110) status is a retriable EXPORT_FAILED: the runtime's consumer
 *    tries again with this sink's `retry` backoff (1, 2, 4 … s, capped) up to
 *    `retry.maxAttempts`, then dead-letters the result. Any other failure status or a permanent
 *    rejection dead-letters it at once. The reason names the status and the peer. Never forever.
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
      retry: retryConfigSchema({ maxAttempts: 6, initialBackoffMs: 1000, maxBackoffMs: 30000 }),
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
      new Promise<StoreFailure | undefined>((resolve) => {
        const client = new Client();
        const request = new CStoreRequest(new Dataset(elements, EXPLICIT_VR_LITTLE_ENDIAN));
        let status: number | undefined;
        let failure: StoreFailure | undefined;
        request.on('response', (response) => (status = response.getStatus()));
        client.on('associationRejected', (rejection) => {
          const r = rejection as { result?: number; source?: number; reason?: number };
          // result 2 = rejected-transient: the peer may accept later
          failure = {
            reason: `association rejected (result ${r.result}, source ${r.source}, reason ${r.reason})`,
            retriable: r.result === 2,
          };
        });
        client.on('networkError', (err: Error) => {
          resolve({ reason: `network error: ${err.message}`, retriable: true });
        });
        client.on('closed', () => {
          if (failure) return resolve(failure);
          if (status === undefined)
            return resolve({
              reason: 'no C-STORE response (association not accepted?)',
              retriable: true,
            });
          if (stored(status)) return resolve(undefined);
          const hex = `0x${status.toString(16).padStart(4, '0')}`;
          resolve({
            reason: `C-STORE status ${hex}`,
            retriable: retriableStoreStatus(status),
            status,
          });
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

    const peer = `${config.destination.aeTitle}@${config.destination.host}:${config.destination.port}`;
    const consumer = ctx.createConsumer({
      retry: config.retry,
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
        const failure = await storeOnce(elements);
        if (!failure) {
          exports.inc({ outcome: 'stored' });
          return [];
        }
        const { maxAttempts } = config.retry;
        const tryAgain = failure.retriable && (maxAttempts === 0 || record.attempt < maxAttempts);
        exports.inc({ outcome: tryAgain ? 'retried' : 'failed' });
        throw new EngineError(
          'EXPORT_FAILED',
          `Secondary Capture to ${peer} failed after ${record.attempt} attempt(s): ${failure.reason}`,
          {
            retriable: failure.retriable,
            details: {
              peer,
              attempt: record.attempt,
              ...(failure.status === undefined ? {} : { status: failure.status }),
            },
          },
        );
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
