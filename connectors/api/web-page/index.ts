import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Component } from '../../../engine/contracts';
import { contentResponse, problemResponses } from '../../../engine/http/openapi';
import { projectRoot } from '../../../engine/paths';

/** Only our own files, no inline script: the page works under a strict CSP. */
const CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'";

const FILES = {
  '/': ['page.html', 'text/html; charset=utf-8', 'getWebPage', 'The demo web page'],
  '/ui/app.js': ['app.js', 'text/javascript; charset=utf-8', 'getWebPageScript', 'Its script'],
  '/ui/style.css': ['style.css', 'text/css; charset=utf-8', 'getWebPageStyle', 'Its style sheet'],
} as const;

/**
 * connectors/api/web-page — the small web page of the origin demo, on the durable pipeline:
 * choose an image, see the classification, the probabilities and the Grad-CAM heatmap; look up
 * the results of a DICOM study. It calls the public REST API only (no server-side state).
 */
export const webPage: Component<Record<string, never>> = {
  name: 'web-page',
  role: 'api',
  description: 'Demo web page: upload an image, see the result and heatmap; study results',
  configSchema: { type: 'object', additionalProperties: false, properties: {} },
  create(_config, ctx) {
    const dir = join(projectRoot(), 'connectors', 'api', 'web-page');
    for (const [path, [file, type, operationId, summary]] of Object.entries(FILES)) {
      const body = readFileSync(join(dir, file));
      const schema = {
        summary,
        operationId,
        tags: ['web'],
        response: {
          200: contentResponse(file, { type: 'string' }, type.split(';')[0]),
          ...problemResponses(500),
        },
      };
      ctx.http.get(path, { schema }, async (_request, reply) =>
        reply
          .type(type)
          .header('content-security-policy', CSP)
          .header('x-content-type-options', 'nosniff')
          .header('cache-control', 'no-cache')
          .send(body),
      );
    }
    return { start: async () => undefined, stop: async () => undefined };
  },
};
