/**
 * Reading changed resources back from the FHIR server, for id-only notifications:
 *  - an R4 rest-hook without payload is an empty POST: search the subscription's criteria with
 *    `_lastUpdated=ge<watermark>` (following `next` pages), where the watermark is the newest
 *    `meta.lastUpdated` already read (the server's own clock, so no skew) — at start it is
 *    `lookbackSeconds` before now;
 *  - a topic-based id-only notification names each focus: read it.
 * Callbacks for one subscription are read one after another; versions already published by this
 * process are skipped (a bounded memory), and any duplicate that slips through is harmless
 * downstream (event ids are stable, processors and sinks are idempotent).
 */
import type Client from 'fhir-kit-client';
import { fhirError } from '../../shared/fhir/client';
import { type FhirResource, asResource } from './notification';

const versionKey = (r: FhirResource) => `${r.resourceType}/${r.id}/${r.meta?.versionId ?? ''}`;

export class ReadBack {
  private readonly watermarks = new Map<string, string>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly seen = new Set<string>();

  constructor(
    private readonly client: Client,
    private readonly lookbackSeconds: number,
    private readonly timeoutMs: number,
    private readonly maxRemembered = 20000,
    private readonly pageSize = 100,
  ) {}

  /**
   * Reads the resources changed since the last read for this criteria (oldest first), hands the
   * ones not yet published to `publish`, and moves the watermark only once that resolved — so a
   * failed publish reads the same changes again next time.
   */
  changedSince(
    criteria: string,
    publish: (resources: FhirResource[]) => Promise<unknown>,
  ): Promise<number> {
    const previous = this.chains.get(criteria) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const { resources, newest } = await this.readChanged(criteria);
        const fresh = resources.filter((r) => !this.published(r));
        await publish(fresh);
        this.remember(fresh);
        this.watermarks.set(criteria, newest);
        return fresh.length;
      });
    this.chains.set(criteria, next);
    return next;
  }

  async read(type: string, id: string): Promise<FhirResource> {
    try {
      return asResource(
        await this.client.read({ resourceType: type, id, options: this.options() }),
        `${type}/${id}`,
      );
    } catch (err) {
      throw fhirError(err, `reading ${type}/${id} back from the FHIR server`);
    }
  }

  /** The newest version of a resource that still has content (for a deleted one: before it). */
  async lastVersionBefore(type: string, id: string): Promise<FhirResource | undefined> {
    try {
      const history = (await this.client.request(`${type}/${id}/_history?_count=5`, {
        options: this.options(),
      })) as {
        entry?: { resource?: unknown }[];
      };
      const entry = (history.entry ?? []).find((e) => e.resource !== undefined);
      return entry ? asResource(entry.resource, `${type}/${id}'s history`) : undefined;
    } catch (err) {
      throw fhirError(err, `reading the history of deleted ${type}/${id}`);
    }
  }

  /** true when this version of the resource was published by this process already. */
  published(r: FhirResource): boolean {
    return r.meta?.versionId !== undefined && this.seen.has(versionKey(r));
  }

  remember(resources: readonly FhirResource[]): void {
    for (const r of resources) {
      if (!r.meta?.versionId) continue;
      this.seen.add(versionKey(r));
      if (this.seen.size > this.maxRemembered) {
        const oldest = this.seen.values().next().value;
        if (oldest !== undefined) this.seen.delete(oldest);
      }
    }
  }

  private options(): RequestInit {
    return { signal: AbortSignal.timeout(this.timeoutMs) };
  }

  private async readChanged(
    criteria: string,
  ): Promise<{ resources: FhirResource[]; newest: string }> {
    const since =
      this.watermarks.get(criteria) ??
      new Date(Date.now() - this.lookbackSeconds * 1000).toISOString();
    const sep = criteria.includes('?') ? '&' : '?';
    const url = `${criteria}${sep}_lastUpdated=ge${encodeURIComponent(since)}&_sort=_lastUpdated&_count=${this.pageSize}`;
    const out: FhirResource[] = [];
    let newest = since;
    try {
      let page = (await this.client.request(url, { options: this.options() })) as FhirResource;
      for (;;) {
        const entries = (page.entry ?? []) as { resource?: unknown; search?: { mode?: string } }[];
        for (const e of entries) {
          if (e.search?.mode && e.search.mode !== 'match') continue;
          const r = asResource(e.resource, `a search result of ${criteria}`);
          const updated = r.meta?.lastUpdated;
          if (updated && Date.parse(updated) > Date.parse(newest)) newest = updated;
          out.push(r);
        }
        const links = (page.link ?? []) as { relation?: string }[];
        if (!links.some((l) => l.relation === 'next')) break;
        page = (await this.client.nextPage({
          bundle: page as FhirResource & { type: 'searchset' },
          options: this.options(),
        })) as FhirResource;
      }
    } catch (err) {
      throw fhirError(err, `searching ${criteria} for changes since ${since}`);
    }
    return { resources: out, newest };
  }
}
