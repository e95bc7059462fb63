/**
 * `medstream fhir subscribe`: creates (or updates) on the FHIR server one R4 rest-hook
 * Subscription per configured subscription, pointing at this medstream's callback URL with the
 * secret header, and waits until the server reports each one active.
 */
import { EngineError } from '../../../engine/errors';
import { sleep } from '../../../engine/time';
import { createFhirClient, fhirError } from '../../shared/fhir/client';
import { type FhirSubscriptionConfig, type SubscriptionSpec, callbackUrl } from './index';

export interface SubscribeOutcome {
  name: string;
  reference: string;
  action: 'created' | 'updated';
  status: string;
  endpoint: string;
  error?: string;
}

interface Subscription {
  resourceType: 'Subscription';
  id?: string;
  status: string;
  reason: string;
  criteria: string;
  error?: string;
  channel: { type: 'rest-hook'; endpoint: string; payload?: string; header: string[] };
}

export function subscriptionResource(
  config: FhirSubscriptionConfig,
  spec: SubscriptionSpec,
): Subscription {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: spec.reason,
    criteria: spec.criteria,
    channel: {
      type: 'rest-hook',
      endpoint: callbackUrl(config, spec.name),
      ...(spec.payload === 'full-resource' ? { payload: 'application/fhir+json' } : {}),
      header: [`${config.authHeader}: ${spec.secret || config.secret}`],
    },
  };
}

export async function subscribe(
  config: FhirSubscriptionConfig,
  { activationTimeoutMs = 30000 } = {},
): Promise<SubscribeOutcome[]> {
  if (!config.secret && config.subscriptions.some((s) => !s.secret))
    throw new EngineError('CONFIG_INVALID', 'components.fhir-subscription.secret is empty');
  const client = createFhirClient(config.fhirServer);
  const options = () => ({ signal: AbortSignal.timeout(config.fhirServer.timeoutMs) });
  const outcomes: SubscribeOutcome[] = [];
  for (const spec of config.subscriptions) {
    const wanted = subscriptionResource(config, spec);
    try {
      const found = (await client.search({
        resourceType: 'Subscription',
        searchParams: { url: wanted.channel.endpoint },
        options: options(),
      })) as { entry?: { resource?: Subscription }[] };
      const existing = (found.entry ?? [])
        .map((e) => e.resource)
        .find((s) => s?.criteria === spec.criteria);
      let saved: Subscription;
      if (existing?.id) {
        saved = (await client.update({
          resourceType: 'Subscription',
          id: existing.id,
          body: { ...wanted, id: existing.id },
          options: options(),
        })) as Subscription;
      } else {
        saved = (await client.create({
          resourceType: 'Subscription',
          body: wanted,
        })) as Subscription;
      }
      const deadline = Date.now() + activationTimeoutMs;
      while (saved.status === 'requested' && Date.now() < deadline) {
        await sleep(250);
        saved = (await client.read({
          resourceType: 'Subscription',
          id: saved.id as string,
        })) as Subscription;
      }
      outcomes.push({
        name: spec.name,
        reference: `Subscription/${saved.id}`,
        action: existing ? 'updated' : 'created',
        status: saved.status,
        endpoint: wanted.channel.endpoint,
        ...(saved.error ? { error: saved.error } : {}),
      });
    } catch (err) {
      throw fhirError(err, `creating the ${spec.name} Subscription`);
    }
  }
  return outcomes;
}
