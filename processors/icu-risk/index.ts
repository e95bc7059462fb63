import { Counter } from 'prom-client';
import type { Component, ComponentContext } from '../../engine/contracts';
import { type RetryConfig, retryConfigSchema } from '../../engine/config/retry';
import { EngineError, isEngineError } from '../../engine/errors';
import type { IncomingRecordOf } from '../../engine/kafka/record-consumer';
import type { OutgoingRecord } from '../../engine/kafka/producer';
import { TOPICS } from '../../engine/kafka/topics';
import type { FhirResourceReceived, RiskResult } from '../../schemas/records';
import { type ObservationResource, extractSamples } from './fhir-observations';
import { type RiskSettings, learnedFromState, news2FromState } from './fhir-risk';
import { openLearnedModel } from './learned-model';
import {
  type PatientState,
  emptyState,
  observationId,
  stateFromRecord,
  withObservation,
  withPatient,
} from './patient-state';
import { vitalsToRiskResult } from './vitals-to-risk-result';

interface IcuRiskConfig {
  retry: RetryConfig;
  partitionsConsumedConcurrently: number;
  freshness: { vitalsHours: number; labsHours: number };
  retentionHours: number;
  maxSamplesPerVariable: number;
  spo2Scale: 1 | 2;
  learnedModel: {
    enabled: boolean;
    modelsDir: string;
    name: string;
    version: string;
    minInputs: number;
  };
}

/**
 * Per-patient state, restored from the compacted changelog medstream.state.icu-risk.v1 each
 * time this replica joins the group (only the partitions it owns: the changelog has the input
 * topic's key and partition count, so partition p of one holds the patients of partition p of
 * the other). Every state change is published with the results, before the input is committed.
 */
class StateTable {
  private readonly states = new Map<string, PatientState>();
  private owned: ReadonlySet<number> | undefined;
  private restoring: Promise<void> | undefined;

  constructor(private readonly ctx: ComponentContext) {}

  onAssignment(assignment: Record<string, number[]>): void {
    this.owned = new Set(assignment[TOPICS.ingestFhir] ?? []);
    this.states.clear();
    this.restoring = undefined;
  }

  async ready(): Promise<void> {
    this.restoring ??= this.restore();
    try {
      await this.restoring;
    } catch (err) {
      this.restoring = undefined;
      throw new EngineError('KAFKA_UNAVAILABLE', `cannot restore patient state: ${String(err)}`, {
        cause: err,
        retriable: true,
      });
    }
  }

  get(patientRef: string): PatientState {
    return this.states.get(patientRef) ?? emptyState(patientRef);
  }

  set(state: PatientState): void {
    this.states.set(state.patientRef, state);
  }

  private async restore(): Promise<void> {
    const owned = this.owned;
    const started = Date.now();
    const { read, skipped } = await this.ctx.readTopic(
      TOPICS.stateIcuRisk,
      (partition, key, value) => {
        if (!key || (owned && !owned.has(partition))) return;
        this.states.set(key, stateFromRecord(value));
      },
    );
    this.ctx.logger.info(
      { patients: this.states.size, read, skipped, ms: Date.now() - started },
      'patient state restored',
    );
  }
}

/**
 * processors/icu-risk — risk scores per patient.
 *  - medstream.ingest.vitals.v1 (REST vitals): NEWS2 per submission, stateless.
 *  - medstream.ingest.fhir.v1 (FHIR subscription): LOINC-coded Observations (UCUM-converted)
 *    and Patients update the patient's state; each change yields NEWS2 (when its five measured
 *    parameters are fresh) and the learned ICU-admission probability, each listing the source
 *    Observation versions, missing and imputed inputs. An Observation with units that cannot be
 *    converted (or implausible values) is dead-lettered with the reason.
 */
export const icuRiskProcessor: Component<IcuRiskConfig> = {
  name: 'icu-risk',
  role: 'process',
  description: 'NEWS2 and a learned ICU-admission risk from REST vitals and FHIR Observations',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      retry: retryConfigSchema(),
      partitionsConsumedConcurrently: {
        type: 'integer',
        minimum: 1,
        default: 4,
        description: 'Partitions this replica works on at once.',
      },
      freshness: {
        type: 'object',
        additionalProperties: false,
        default: {},
        description: 'How old a value may be (before the newest of the patient) and still count.',
        properties: {
          vitalsHours: { type: 'number', minimum: 0.1, default: 12 },
          labsHours: { type: 'number', minimum: 0.1, default: 48 },
        },
      },
      retentionHours: { type: 'number', minimum: 0.1, default: 72 },
      maxSamplesPerVariable: { type: 'integer', minimum: 1, default: 48 },
      spo2Scale: {
        enum: [1, 2],
        default: 1,
        description: 'NEWS2 SpO2 scale for FHIR-sourced scores.',
      },
      learnedModel: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          enabled: { type: 'boolean', default: true },
          modelsDir: { type: 'string', default: 'models' },
          name: { type: 'string', default: 'icu-risk-demo' },
          version: { type: 'string', default: '', description: 'Empty: the newest version.' },
          minInputs: {
            type: 'integer',
            minimum: 1,
            default: 3,
            description: 'Fresh variables needed before the learned model scores.',
          },
        },
      },
    },
  },
  async create(config, ctx) {
    const fhirEvents = new Counter({
      name: 'medstream_icu_risk_fhir_events_total',
      help: 'FHIR resources seen by icu-risk, by type and what came of them',
      labelNames: ['type', 'outcome'],
      registers: [ctx.metrics.registry],
    });
    const learnedModel = config.learnedModel.enabled
      ? await openLearnedModel(config.learnedModel, ctx.logger)
      : undefined;
    const settings: RiskSettings = {
      freshness: config.freshness,
      spo2Scale: config.spo2Scale,
      minLearnedInputs: config.learnedModel.minInputs,
    };
    const limits = {
      retentionHours: config.retentionHours,
      maxSamplesPerVariable: config.maxSamplesPerVariable,
    };
    const table = new StateTable(ctx);

    const riskRecord = (
      result: RiskResult | ReturnType<typeof vitalsToRiskResult>,
      correlation: string,
      traceparent?: string,
    ): OutgoingRecord => ({
      topic: TOPICS.resultsRisk,
      key: result.patientId,
      value: result,
      headers: {
        'correlation-id': correlation,
        ...(traceparent ? { traceparent } : {}),
      },
    });

    const handleVitals = (record: IncomingRecordOf<typeof TOPICS.ingestVitals>) => {
      const vitals = record.value;
      let result;
      try {
        result = vitalsToRiskResult(vitals, Date.now());
      } catch (err) {
        throw new EngineError('VALIDATION_FAILED', (err as Error).message, { cause: err });
      }
      return [
        riskRecord(
          result,
          record.headers['correlation-id'] ?? vitals.id,
          record.headers.traceparent,
        ),
      ];
    };

    const handleFhir = async (
      record: IncomingRecordOf<typeof TOPICS.ingestFhir>,
    ): Promise<OutgoingRecord[]> => {
      const event = record.value;
      await table.ready();
      const before = table.get(event.patientRef);
      const now = Date.now();
      let after: PatientState;
      if (event.resourceType === 'Patient') {
        if (event.action === 'delete') {
          fhirEvents.inc({ type: 'Patient', outcome: 'ignored' });
          return [];
        }
        const patient = parseResource(event) as { birthDate?: unknown };
        const birthDate = typeof patient.birthDate === 'string' ? patient.birthDate : null;
        const version = event.versionId ? `/_history/${event.versionId}` : '';
        after = withPatient(before, birthDate, `Patient/${event.resourceId}${version}`, now);
      } else if (event.resourceType === 'Observation') {
        const observation = `Observation/${event.resourceId}`;
        if (event.action === 'delete') {
          after = withObservation(before, observation, [], limits, now);
        } else {
          const resource = parseResource(event) as unknown as ObservationResource;
          let extracted;
          try {
            extracted = extractSamples({ ...resource, id: event.resourceId }, event.receivedAt);
          } catch (err) {
            if (isEngineError(err) && err.code === 'VALIDATION_FAILED')
              fhirEvents.inc({ type: 'Observation', outcome: 'refused' });
            throw err;
          }
          const hadSamples = before.samples.some((s) => observationId(s.ref) === observation);
          if (!extracted.retracted || (extracted.samples.length === 0 && !hadSamples)) {
            fhirEvents.inc({ type: 'Observation', outcome: 'ignored' });
            return [];
          }
          after = withObservation(before, observation, extracted.samples, limits, now);
        }
      } else {
        fhirEvents.inc({ type: event.resourceType, outcome: 'ignored' });
        return [];
      }
      fhirEvents.inc({ type: event.resourceType, outcome: 'applied' });
      table.set(after);
      const outputs: OutgoingRecord[] = [
        {
          topic: TOPICS.stateIcuRisk,
          key: after.patientRef,
          value: after,
        },
      ];
      if (after.samples.length === 0) return outputs;
      const asOf = Math.max(...after.samples.map((s) => s.at));
      const correlation = record.headers['correlation-id'] ?? event.id;
      const news2 = news2FromState(after, asOf, settings, event.id, now);
      if ('result' in news2)
        outputs.push(riskRecord(news2.result, correlation, record.headers.traceparent));
      if (learnedModel) {
        const model = await learnedModel.current();
        const learned = await learnedFromState(after, asOf, settings, model, event.id, now);
        if ('result' in learned)
          outputs.push(riskRecord(learned.result, correlation, record.headers.traceparent));
      }
      return outputs;
    };

    const consumer = ctx.createConsumer({
      retry: config.retry,
      topics: [TOPICS.ingestVitals, TOPICS.ingestFhir],
      partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
      onAssignment: (assignment) => table.onAssignment(assignment),
      handle: async (record) =>
        record.topic === TOPICS.ingestFhir ? handleFhir(record) : handleVitals(record),
    });
    return {
      start: () => consumer.start(),
      stop: async () => {
        await consumer.stop();
        await learnedModel?.close();
      },
    };
  },
};

function parseResource(event: FhirResourceReceived): Record<string, unknown> {
  try {
    const parsed = JSON.parse(event.resource ?? '') as unknown;
    if (typeof parsed === 'object' && parsed !== null) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new EngineError(
    'DECODE_FAILED',
    `${event.resourceType}/${event.resourceId}: the resource is not JSON`,
  );
}
