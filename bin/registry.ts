/**
 * The component registry: every component medstream can run, listed explicitly (no import side
 * effects). The runtime starts those whose role was selected, in this order, and stops them in
 * reverse — sinks before processors before sources would lose nothing either way, because every
 * consumer commits only what it finished.
 */
import { resultStoreSink } from '../connectors/sinks/result-store';
import { queryApi } from '../connectors/sinks/query-api';
import { httpVitalsSource } from '../connectors/sources/http-vitals';
import type { AnyComponent } from '../engine/contracts';
import type { ConfigSchema } from '../engine/config/json-schema';
import { icuRiskProcessor } from '../processors/icu-risk';

export const COMPONENTS: readonly AnyComponent[] = [
  resultStoreSink,
  icuRiskProcessor,
  httpVitalsSource,
  queryApi,
];

export function componentSchemas(): Record<string, ConfigSchema> {
  return Object.fromEntries(COMPONENTS.map((c) => [c.name, c.configSchema]));
}
