/**
 * The FHIR server as the sink sees it: every call goes through fhir-kit-client with a timeout,
 * is timed into a histogram, and fails only with an EngineError that says whether trying again
 * can help (fhirError):
 *  - no answer (connection refused/reset, DNS, timeout), 5xx, 429, 408 → FHIR_UNAVAILABLE,
 *    retriable: the consumer pauses the partition and tries the same record again;
 *  - any other 4xx → FHIR_REJECTED, not retriable: the record is dead-lettered with the
 *    server's OperationOutcome text, since resending the same resources cannot succeed.
 */
import type Client from 'fhir-kit-client';
import type { Histogram } from 'prom-client';
import { EngineError } from '../../../engine/errors';
import {
  type Bundle,
  ERROR_SEVERITIES,
  type FhirResource,
  type Identifier,
  identifierQuery,
  outcomeIssues,
  outcomeText,
} from './resources';

import {
  type FhirKitHttpError,
  createFhirClient,
  fhirError,
  isHttpError,
} from '../../shared/fhir/client';

export { fhirError, retriableStatus } from '../../shared/fhir/client';

export interface FhirGatewayOptions {
  baseUrl: string;
  headers: Readonly<Record<string, string>>;
  /** Per request, ms. */
  timeoutMs: number;
  latency: Histogram<'operation' | 'status'>;
}

/** The calls the sink makes, each bounded by the timeout, timed, and failing as fhirError. */
export class FhirGateway {
  private readonly client: Client;

  constructor(private readonly options: FhirGatewayOptions) {
    this.client = createFhirClient({ ...options, headers: { ...options.headers } });
  }

  private async call<T>(
    operation: string,
    what: string,
    run: (requestOptions: { signal: AbortSignal }) => Promise<unknown>,
  ): Promise<T> {
    const stop = this.options.latency.startTimer({ operation });
    try {
      const answer = (await run({ signal: AbortSignal.timeout(this.options.timeoutMs) })) as T;
      stop({ status: '2xx' });
      return answer;
    } catch (err) {
      stop({ status: isHttpError(err) ? `${Math.floor(err.response.status / 100)}xx` : 'error' });
      throw fhirError(err, what);
    }
  }

  /** POST the transaction; answers the transaction-response Bundle. */
  transaction(bundle: Bundle, what: string): Promise<Bundle> {
    return this.call('transaction', what, (options) =>
      this.client.transaction({ body: { ...bundle, type: 'transaction' }, options }),
    );
  }

  /** GET Patient?identifier=system|value */
  searchPatient(identifier: Identifier): Promise<Bundle> {
    return this.call('search', 'searching the Patient by identifier', (options) =>
      this.client.request(`Patient?${identifierQuery(identifier)}`, { options }),
    );
  }

  /** GET metadata — the readiness probe (not cached, unlike capabilityStatement()). */
  metadata(): Promise<FhirResource> {
    return this.call('metadata', `GET ${this.options.baseUrl}/metadata`, (options) =>
      this.client.request('metadata', { options }),
    );
  }

  /**
   * POST [type]/$validate; resolves with the error-severity issue text ('' = valid). HAPI
   * answers 412 with the OperationOutcome when the resource is invalid: that is a verdict,
   * not a failure of the call.
   */
  async validate(resource: FhirResource): Promise<string> {
    const what = `${resource.resourceType}/$validate`;
    try {
      const outcome = await this.call<unknown>('validate', what, (options) =>
        this.client.operation({
          resourceType: resource.resourceType,
          name: '$validate',
          input: resource,
          options,
        }),
      );
      return outcomeText(outcome, ERROR_SEVERITIES);
    } catch (err) {
      const status = (err as EngineError).details?.status;
      const data = isHttpError((err as EngineError).cause)
        ? ((err as EngineError).cause as FhirKitHttpError).response.data
        : undefined;
      if (status === 412 || (status === 400 && outcomeIssues(data).length > 0)) {
        return outcomeText(data, ERROR_SEVERITIES) || (err as Error).message;
      }
      throw err;
    }
  }
}
