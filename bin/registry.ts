/**
 * The component registry: every component medstream can run, listed explicitly (no import side
 * effects). The runtime starts those whose role was selected, in this order, and stops them in
 * reverse — sinks before processors before sources would lose nothing either way, because every
 * consumer commits only what it finished.
 */
import { dicomExportSink } from '../connectors/sinks/dicom-export';
import { fhirSink } from '../connectors/sinks/fhir';
import { resultStoreSink } from '../connectors/sinks/result-store';
import { webPage } from '../connectors/api/web-page';
import { queryApi } from '../connectors/api/query-api';
import { dicomDimseSource } from '../connectors/sources/dicom-dimse';
import { dicomwebStowSource } from '../connectors/sources/dicomweb-stow';
import { fhirSubscriptionSource } from '../connectors/sources/fhir-subscription';
import { httpImageSource } from '../connectors/sources/http-image';
import { httpVitalsSource } from '../connectors/sources/http-vitals';
import { seedCovid19Api } from '../connectors/sources/seed-covid19';
import type { AnyComponent } from '../engine/contracts';
import type { ConfigSchema } from '../engine/config/json-schema';
import { icuRiskProcessor } from '../processors/icu-risk';
import { imagingProcessor } from '../processors/imaging';

export const COMPONENTS: readonly AnyComponent[] = [
  resultStoreSink,
  dicomExportSink,
  fhirSink,
  icuRiskProcessor,
  imagingProcessor,
  httpVitalsSource,
  httpImageSource,
  dicomDimseSource,
  dicomwebStowSource,
  fhirSubscriptionSource,
  seedCovid19Api,
  queryApi,
  webPage,
];

export function componentSchemas(): Record<string, ConfigSchema> {
  return Object.fromEntries(COMPONENTS.map((c) => [c.name, c.configSchema]));
}
