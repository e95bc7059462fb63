import { availableParallelism } from 'node:os';
import { Counter, Histogram } from 'prom-client';
import type { Component } from '../../engine/contracts';
import { type RetryConfig, retryConfigSchema } from '../../engine/config/retry';
import { EngineError, isEngineError, toEngineError } from '../../engine/errors';
import type { IncomingRecordOf } from '../../engine/kafka/record-consumer';
import type { OutgoingRecordOf } from '../../engine/kafka/producer';
import { TOPICS } from '../../engine/kafka/topics';
import { fromProjectRoot } from '../../engine/paths';
import { DynamicBatcher } from '../shared/dynamic-batcher';
import type { DicomInstanceReceived } from '../../schemas/records';
import type { DicomPixelInfo } from '../../dicom/pixels';
import { ImageRejected } from '../shared/image-decode';
import { DEFAULT_DICOM_ROUTES, type DicomRoute, routeDicomInstance } from './dicom-routing';
import { ImageWorkPool } from '../shared/image-work/pool';
import type { ClassifierOutput } from '../shared/runtime/classifier';
import { type LoadedModel, ModelRepository } from '../shared/runtime/model-repository';

interface ImagingConfig {
  retry: RetryConfig;
  modelsDir: string;
  defaultModel: string;
  pins: Record<string, string>;
  runtime: 'auto' | 'onnx' | 'tfjs';
  tfjsBackend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  reloadIntervalMs: number;
  partitionsConsumedConcurrently: number;
  maxBatchRecords: number;
  maxSide: number;
  maxPixels: number;
  imageWorkers: number;
  dicomRouting: DicomRoute[];
  dicomHeatmap: { colormap: 'jet' | 'inferno' | 'gray'; opacity: number };
}

/** The topics this processor reads. */
type ImagingInput = IncomingRecordOf<typeof TOPICS.ingestImage | typeof TOPICS.ingestDicom>;

/** One image to classify, whichever door it came in by (HTTP image or DICOM instance). */
interface ImageJob {
  id: string;
  receivedAt: number;
  blobUri: string;
  contentType: string;
  patientId: string | null;
  /** Result key and store subject: the study UID for DICOM, the study ref or job id otherwise. */
  subject: string;
  model: string | null;
  gradcam: boolean;
  classIndex: number | null;
  colormap: 'jet' | 'inferno' | 'gray';
  opacity: number;
  dicom?: { event: DicomInstanceReceived; frame: number };
}

/** The ImagingResult.dicom record: the instance a result belongs to and how it was read. */
export function dicomSource(event: DicomInstanceReceived, pixels: DicomPixelInfo) {
  return {
    studyInstanceUid: event.studyInstanceUid,
    seriesInstanceUid: event.seriesInstanceUid,
    sopInstanceUid: event.sopInstanceUid,
    sopClassUid: event.sopClassUid,
    accessionNumber: event.accessionNumber,
    modality: event.modality,
    transferSyntaxUid: event.transferSyntaxUid,
    frame: pixels.frame,
    numberOfFrames: pixels.numberOfFrames,
    photometricInterpretation: pixels.photometricInterpretation,
    windowCenter: pixels.window.center,
    windowWidth: pixels.window.width,
    windowSource: pixels.window.source,
    inverted: pixels.inverted,
    callingAe: event.callingAe,
    source: event.source,
  };
}

interface InferenceItem {
  tensor: Float32Array;
  classIndex: number | undefined;
  gradcam: boolean;
}

const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;

/**
 * processors/imaging — classification + Grad-CAM for every ImageSubmitted.
 *  1. per record: blob → decode (PNG/JPEG, 8/16-bit, RGB→gray) → preprocess per the model's
 *     manifest (window, resize, normalise);
 *  2. dynamic batching per model: items from all records in flight (any partition) are run
 *     together up to the manifest's maxBatchSize / maxQueueDelayMs;
 *  3. heatmap overlay + raw map + display image → blob store; ImagingResult → Kafka.
 * A corrupt image or unknown model dead-letters that record only; a model failure on one item
 * fails that item only (the batcher re-runs the others alone).
 */
export const imagingProcessor: Component<ImagingConfig> = {
  name: 'imaging',
  role: 'process',
  description: 'Image classification with exact Grad-CAM heatmaps, dynamically batched',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      retry: retryConfigSchema(),
      modelsDir: {
        type: 'string',
        default: 'models',
        description: 'Model repository root (relative: to the medstream install).',
      },
      defaultModel: {
        type: 'string',
        default: 'cxr-demo',
        description: 'Model used when a submission names none.',
      },
      pins: {
        type: 'object',
        additionalProperties: { type: 'string' },
        default: {},
        description: 'name → version to serve instead of the newest (e.g. {"cxr-demo": "1.0.0"}).',
      },
      runtime: {
        type: 'string',
        enum: ['auto', 'onnx', 'tfjs'],
        default: 'auto',
        description: 'auto: ONNX where the model has an ONNX artifact.',
      },
      tfjsBackend: { type: 'string', enum: ['auto', 'tensorflow', 'wasm', 'cpu'], default: 'auto' },
      reloadIntervalMs: {
        type: 'integer',
        minimum: 100,
        default: 2000,
        description: 'How often the repository looks for new model versions.',
      },
      partitionsConsumedConcurrently: { type: 'integer', minimum: 1, default: 4 },
      maxBatchRecords: {
        type: 'integer',
        minimum: 1,
        default: 64,
        description: 'Records handed to the processor at once.',
      },
      maxSide: { type: 'integer', minimum: 32, default: 8192 },
      maxPixels: { type: 'integer', minimum: 1024, default: 67108864 },
      dicomRouting: {
        type: 'array',
        default: DEFAULT_DICOM_ROUTES,
        description:
          'Which DICOM instances go to which model: the first rule whose modalities / sopClassUids / bodyParts all match decides; no match = skipped.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['model'],
          properties: {
            modalities: { type: 'array', items: { type: 'string', minLength: 1 } },
            sopClassUids: { type: 'array', items: { type: 'string', pattern: '^[0-9.]+$' } },
            bodyParts: { type: 'array', items: { type: 'string', minLength: 1 } },
            model: { type: 'string', minLength: 1 },
            frame: { type: 'integer', minimum: 0 },
          },
        },
      },
      dicomHeatmap: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          colormap: { type: 'string', enum: ['jet', 'inferno', 'gray'], default: 'jet' },
          opacity: { type: 'number', minimum: 0, maximum: 1, default: 0.45 },
        },
      },
      imageWorkers: {
        type: 'integer',
        minimum: -1,
        maximum: 256,
        default: -1,
        description:
          'Worker threads for decoding, preprocessing and heatmap rendering (-1: one per CPU core; 0: in the main thread).',
      },
    },
  },
  create(config, ctx) {
    const repository = new ModelRepository({
      root: fromProjectRoot(config.modelsDir),
      pins: config.pins,
      runtime: config.runtime,
      tfjsBackend: config.tfjsBackend,
      pollIntervalMs: config.reloadIntervalMs,
      logger: ctx.logger,
    });
    const inferenceSeconds = new Histogram({
      name: 'medstream_inference_seconds',
      help: 'Model run time per batch (classification + Grad-CAM), by model and runtime',
      labelNames: ['model', 'runtime', 'backend', 'device'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [ctx.metrics.registry],
    });
    const inferenceBatch = new Histogram({
      name: 'medstream_inference_batch_size',
      help: 'Images per model run (dynamic batching), by model',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [ctx.metrics.registry],
    });
    const dicomSkipped = new Counter({
      name: 'medstream_dicom_skipped_total',
      help: 'DICOM instances not sent to a model, by reason (not-an-image, no-route)',
      labelNames: ['reason'],
      registers: [ctx.metrics.registry],
    });
    ctx.addReadinessCheck('models', async () => {
      const status = repository.status();
      const main = status.find((m) => m.name === config.defaultModel);
      if (!main || main.state !== 'ready') {
        throw new Error(
          `default model ${config.defaultModel} is ${main?.state ?? 'missing'}${main?.error ? `: ${main.error}` : ''}`,
        );
      }
      return { models: status };
    });

    let pool: ImageWorkPool = new ImageWorkPool({ size: 0 });
    const batchers = new Map<string, DynamicBatcher<InferenceItem, ClassifierOutput>>();
    const batcherFor = (model: LoadedModel) => {
      let batcher = batchers.get(model.ref);
      if (!batcher) {
        const labels = {
          model: model.ref,
          runtime: model.runtime.kind,
          backend: model.runtime.backend,
          device: model.runtime.device,
        };
        batcher = new DynamicBatcher<InferenceItem, ClassifierOutput>(
          async (items) => {
            const end = inferenceSeconds.startTimer(labels);
            inferenceBatch.observe({ model: model.ref }, items.length);
            try {
              return await model.runtime.classify(
                items.map((i) => i.tensor),
                {
                  gradcam: items.some((i) => i.gradcam),
                  classIndex: items.map((i) => i.classIndex),
                },
              );
            } finally {
              end();
            }
          },
          () => model.manifest.batching,
        );
        batchers.set(model.ref, batcher);
      }
      return batcher;
    };

    const modelFor = async (requested: string | null): Promise<LoadedModel> => {
      const [name, version] = (requested ?? config.defaultModel).split('@') as [
        string,
        string | undefined,
      ];
      try {
        return await repository.get(name, version);
      } catch (err) {
        const error = toEngineError(err, 'VALIDATION_FAILED');
        throw isEngineError(err) ? err : error;
      }
    };

    const processOne = async (record: ImagingInput): Promise<ImagingOutput[]> => {
      if (record.topic === TOPICS.ingestDicom) {
        const event = record.value;
        const decision = routeDicomInstance(config.dicomRouting, event);
        if (!decision.route) {
          dicomSkipped.inc({ reason: decision.reason });
          ctx.logger.info(
            { id: event.id, modality: event.modality, reason: decision.reason },
            `DICOM instance skipped: ${decision.detail}`,
          );
          return [];
        }
        return [
          await classify(record, {
            id: event.id,
            receivedAt: event.receivedAt,
            blobUri: event.blob.uri,
            contentType: 'application/dicom',
            patientId: event.patientId,
            subject: event.studyInstanceUid,
            model: decision.model,
            gradcam: true,
            classIndex: null,
            colormap: config.dicomHeatmap.colormap,
            opacity: config.dicomHeatmap.opacity,
            dicom: { event, frame: decision.frame },
          }),
        ];
      }
      const job = record.value;
      return [
        await classify(record, {
          id: job.id,
          receivedAt: job.receivedAt,
          blobUri: job.blob.uri,
          contentType: job.contentType,
          patientId: job.patientId,
          subject: job.studyRef ?? job.id,
          model: job.model,
          gradcam: job.gradcam,
          classIndex: job.classIndex,
          colormap: colormapOf(job.colormap),
          opacity: job.opacity,
        }),
      ];
    };

    const classify = async (record: ImagingInput, job: ImageJob): Promise<ImagingOutput> => {
      const started = process.hrtime.bigint();
      const model = await modelFor(job.model);
      const bytes = await ctx.blobs.get(job.blobUri);
      const pre = await pool.prepare(bytes, {
        manifest: model.manifest,
        limits: { minSide: 1, maxSide: config.maxSide, maxPixels: config.maxPixels },
        ...(job.dicom ? { dicom: { frame: job.dicom.frame } } : {}),
      });
      let t = process.hrtime.bigint();
      const { output, batchSize, queuedMs } = await batcherFor(model).submit({
        tensor: pre.tensor,
        classIndex: job.classIndex ?? undefined,
        gradcam: job.gradcam,
      });
      const inferenceMs = ms(t) - queuedMs;
      const { manifest } = model;
      if (job.classIndex !== null && job.classIndex >= manifest.labels.length) {
        throw new EngineError(
          'VALIDATION_FAILED',
          `classIndex ${job.classIndex} is out of range for ${model.ref} (${manifest.labels.length} labels)`,
        );
      }
      t = process.hrtime.bigint();
      const probabilities = Array.from(output.probabilities);
      let top = 0;
      probabilities.forEach((p, i) => (p > (probabilities[top] as number) ? (top = i) : undefined));
      const cam = job.gradcam ? output.cam : undefined;
      const rendered = await pool.render({
        display: pre.display,
        width: pre.width,
        height: pre.height,
        contentBox: pre.contentBox,
        ...(cam ? { cam, colormap: job.colormap, opacity: job.opacity } : {}),
      });
      const [display, overlay, map] = await Promise.all([
        ctx.blobs.put(rendered.displayPng),
        rendered.heatmap && ctx.blobs.put(rendered.heatmap.overlayPng),
        rendered.heatmap && ctx.blobs.put(rendered.heatmap.mapPng),
      ]);
      let heatmap = null;
      if (cam && rendered.heatmap && overlay && map) {
        heatmap = {
          overlayUri: overlay.uri,
          mapUri: map.uri,
          classIndex: cam.classIndex,
          label: manifest.labels[cam.classIndex] ?? String(cam.classIndex),
          peakX: Math.round(rendered.heatmap.peak.x),
          peakY: Math.round(rendered.heatmap.peak.y),
          colormap: job.colormap,
          method: 'grad-cam',
        };
      }
      const renderMs = ms(t);
      return {
        topic: TOPICS.resultsImaging,
        key: job.subject,
        headers: {
          'correlation-id': record.headers['correlation-id'] ?? job.id,
          ...(record.headers.traceparent ? { traceparent: record.headers.traceparent } : {}),
        },
        value: {
          resultId: job.id,
          kind: 'imaging',
          subject: job.subject,
          patientId: job.patientId,
          model: model.ref,
          runtime: {
            kind: model.runtime.kind,
            backend: model.runtime.backend,
            device: model.runtime.device,
          },
          multiLabel: manifest.multiLabel,
          labels: manifest.labels,
          probabilities,
          label: manifest.labels[top] as string,
          labelProbability: probabilities[top] as number,
          heatmap,
          input: {
            uri: job.blobUri,
            displayUri: display.uri,
            contentType: job.contentType,
            width: pre.width,
            height: pre.height,
          },
          timingsMs: {
            decode: pre.decodeMs,
            preprocess: pre.preprocessMs,
            queue: queuedMs,
            inference: inferenceMs,
            render: renderMs,
            total: ms(started),
          },
          batchSize,
          syntheticModel: manifest.syntheticTrainingData,
          disclaimer: manifest.disclaimer ?? null,
          submittedAt: job.receivedAt,
          computedAt: Date.now(),
          dicom: job.dicom && pre.dicom ? dicomSource(job.dicom.event, pre.dicom) : null,
        },
      };
    };

    const consumer = ctx.createConsumer({
      retry: config.retry,
      topics: [TOPICS.ingestImage, TOPICS.ingestDicom],
      partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
      maxBatchRecords: config.maxBatchRecords,
      handleBatch: (records) =>
        Promise.all(
          records.map(async (record) => {
            try {
              return await processOne(record);
            } catch (err) {
              if (err instanceof ImageRejected) return err;
              return toEngineError(err, 'PROCESSING_FAILED');
            }
          }),
        ),
    });
    return {
      start: async () => {
        const size = config.imageWorkers < 0 ? availableParallelism() : config.imageWorkers;
        pool = new ImageWorkPool({
          size,
          onWorkerError: (err) => ctx.logger.error({ err }, 'image worker died; replaced'),
        });
        await repository.start();
        // Load the default model before consuming so the first images do not wait for it; a
        // failure is reported by /readyz and retried when its files change.
        await repository
          .preload([config.defaultModel])
          .catch((err: unknown) => ctx.logger.error({ err }, 'default model did not load'));
        await consumer.start();
      },
      stop: async () => {
        await consumer.stop();
        await repository.close();
        await pool.close();
      },
    };
  },
};

type ImagingOutput = OutgoingRecordOf<typeof TOPICS.resultsImaging>;

const COLORMAPS = ['jet', 'inferno', 'gray'] as const;

/** ImageSubmitted.colormap is a string on the wire; the intake routes only accept these. */
function colormapOf(value: string): (typeof COLORMAPS)[number] {
  const known = COLORMAPS.find((c) => c === value);
  if (!known)
    throw new EngineError('VALIDATION_FAILED', `unknown colormap ${JSON.stringify(value)}`);
  return known;
}
