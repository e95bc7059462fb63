import { Counter, Histogram } from 'prom-client';
import type { Component } from '../../../engine/contracts';
import { type RetryConfig, retryConfigSchema } from '../../../engine/config/retry';
import { EngineError } from '../../../engine/errors';
import { TOPICS } from '../../../engine/kafka/topics';
import type { RiskResult } from '../../../schemas/records';
import { FhirGateway } from './client';
import {
  type Bundle,
  type ImagingResultRecord,
  type PatientConfig,
  type ResolvedSubject,
  imagingResultToBundle,
  planSubject,
  riskResultToBundle,
  subjectFromSearch,
  transactionOutcomes,
} from './resources';

export interface FhirSinkConfig {
  retry: RetryConfig;
  enabled: boolean;
  baseUrl: string;
  headers: Record<string, string>;
  timeoutMs: number;
  identifierSystem: string;
  patient: PatientConfig;
  attachHeatmap: boolean;
  validate: boolean;
  partitionsConsumedConcurrently: number;
}

/**
 * connectors/sinks/fhir — writes every AI result to a FHIR R4 server, one transaction per
 * result (resources.ts): an imaging result → an Observation per finding + a DiagnosticReport
 * with the heatmap; a risk result → one Observation (NEWS2 with sub-score components, or the
 * learned model's probability).
 *  - Idempotent: each resource is a conditional create on `identifier` = resultId, so a
 *    redelivery matches what exists and creates nothing twice.
 *  - Server down, timeout, 5xx, 429 → FHIR_UNAVAILABLE (retriable): the partition waits with
 *    the `retry` backoff (default: forever) and the same result is sent again — nothing is
 *    skipped. 4xx → FHIR_REJECTED: the
 *    result is dead-lettered with the server's OperationOutcome text.
 *  - `validate`: each resource is POSTed to [type]/$validate first; error issues dead-letter it.
 */
export const fhirSink: Component<FhirSinkConfig> = {
  name: 'fhir',
  role: 'sink',
  description: 'Results to a FHIR R4 server (Observation, DiagnosticReport; conditional create)',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      retry: retryConfigSchema(),
      enabled: { type: 'boolean', default: false },
      baseUrl: {
        type: 'string',
        default: '',
        description: 'FHIR R4 base URL, e.g. http://127.0.0.1:8080/fhir (required when enabled)',
      },
      headers: {
        type: 'object',
        additionalProperties: { type: 'string' },
        default: {},
        secret: true,
        description: 'Extra request headers, e.g. {Authorization: "Bearer …"}; masked when printed',
      },
      timeoutMs: {
        type: 'integer',
        minimum: 100,
        default: 30000,
        description: 'Timeout of one FHIR request; a timeout is retried like a 5xx.',
      },
      identifierSystem: {
        type: 'string',
        minLength: 1,
        default: 'urn:medstream:result-id',
        description: 'System of the identifier (value = resultId) every created resource carries',
      },
      patient: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          identifierSystem: {
            type: 'string',
            minLength: 1,
            default: 'urn:medstream:patient-id',
            description: 'System of a bare patientId (not Patient/<id>, not system|value)',
          },
          mode: {
            type: 'string',
            enum: ['search', 'conditional-create', 'identifier'],
            default: 'search',
            description:
              'search: GET Patient?identifier=…, one match → its reference, else a logical reference; ' +
              'conditional-create: the Patient in the same transaction (ifNoneExist); identifier: logical reference only',
          },
        },
      },
      attachHeatmap: {
        type: 'boolean',
        default: true,
        description: 'Attach the Grad-CAM overlay PNG to the DiagnosticReport (presentedForm)',
      },
      validate: {
        type: 'boolean',
        default: false,
        description: 'POST each resource to [type]/$validate first; error issues → dead letter',
      },
      partitionsConsumedConcurrently: { type: 'integer', minimum: 1, default: 4 },
    },
  },
  create(config, ctx) {
    if (!config.enabled) return { start: async () => undefined, stop: async () => undefined };
    if (!config.baseUrl) {
      throw new EngineError('CONFIG_INVALID', 'components.fhir.baseUrl: is required when enabled');
    }
    const written = new Counter({
      name: 'medstream_fhir_resources_total',
      help: 'Resources sent to the FHIR server, by type and outcome (created, existed, failed)',
      labelNames: ['type', 'outcome'],
      registers: [ctx.metrics.registry],
    });
    const latency = new Histogram({
      name: 'medstream_fhir_request_seconds',
      help: 'FHIR request latency, by operation (transaction, search, validate, metadata) and status class',
      labelNames: ['operation', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [ctx.metrics.registry],
    });
    const fhir = new FhirGateway({
      baseUrl: config.baseUrl,
      headers: config.headers,
      timeoutMs: config.timeoutMs,
      latency,
    });
    ctx.addReadinessCheck('fhir', async () => {
      const capability = (await fhir.metadata()) as { fhirVersion?: string };
      return { baseUrl: config.baseUrl, fhirVersion: capability.fhirVersion };
    });

    const resolveSubject = async (
      patientId: string | null | undefined,
    ): Promise<ResolvedSubject | undefined> => {
      const plan = planSubject(patientId, config.patient);
      if (plan.kind === 'none') return undefined;
      if (plan.kind === 'resolved') return plan.subject;
      return subjectFromSearch(await fhir.searchPatient(plan.identifier), plan.fallback);
    };

    const imagingBundle = async (result: ImagingResultRecord): Promise<Bundle> => {
      const heatmapPng =
        config.attachHeatmap && result.heatmap
          ? await ctx.blobs.get(result.heatmap.overlayUri)
          : undefined;
      return imagingResultToBundle(result, {
        identifierSystem: config.identifierSystem,
        subject: await resolveSubject(result.patientId),
        heatmapPng,
      });
    };

    const riskBundle = async (result: RiskResult): Promise<Bundle> =>
      riskResultToBundle(result, {
        identifierSystem: config.identifierSystem,
        subject: await resolveSubject(result.patientId),
      });

    const validateAll = async (bundle: Bundle, resultId: string) => {
      const problems: string[] = [];
      for (const entry of bundle.entry ?? []) {
        if (!entry.resource) continue;
        const errors = await fhir.validate(entry.resource);
        if (errors) problems.push(`${entry.resource.resourceType}: ${errors}`);
      }
      if (problems.length > 0) {
        throw new EngineError(
          'FHIR_REJECTED',
          `result ${resultId}: $validate failed: ${problems.join(' | ')}`.slice(0, 4000),
        );
      }
    };

    const consumer = ctx.createConsumer({
      retry: config.retry,
      topics: [TOPICS.resultsImaging, TOPICS.resultsRisk],
      partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
      handle: async (record) => {
        const { value } = record;
        let bundle: Bundle | undefined;
        try {
          bundle =
            record.topic === TOPICS.resultsImaging
              ? await imagingBundle(record.value)
              : await riskBundle(record.value);
          if (config.validate) await validateAll(bundle, value.resultId);
          const response = await fhir.transaction(
            bundle,
            `transaction of result ${value.resultId}`,
          );
          for (const { type, outcome } of transactionOutcomes(bundle, response)) {
            written.inc({ type, outcome });
          }
          return [];
        } catch (err) {
          // retriable failures are retried (medstream_retries_total); count what is given up
          if (bundle && !(err instanceof EngineError && err.retriable)) {
            for (const entry of bundle.entry ?? []) {
              written.inc({ type: entry.resource?.resourceType ?? 'unknown', outcome: 'failed' });
            }
          }
          throw err;
        }
      },
    });
    return { start: () => consumer.start(), stop: () => consumer.stop() };
  },
};
