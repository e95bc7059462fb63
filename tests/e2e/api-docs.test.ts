import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser';
import { DOCS_CSP, DOCS_PATH } from '../../engine/http/openapi';
import { buildRoutesOnlyApp } from '../helpers/routes-only-app';

// Debian's Chromium, driven by playwright-core (no browser download). The reference needs only
// the routes, so the registry's ingest and api components are built without Kafka or a store.
describe('[REQ-HTTP-03] the API reference (/docs) in a real browser', () => {
  let app: FastifyInstance;
  let url: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    app = await buildRoutesOnlyApp();
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('renders the operations from its own files under its own CSP, with no console errors', async () => {
    const page = await browser!.newPage();
    const errors: string[] = [];
    const elsewhere: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : undefined));
    page.on('request', (r) => (r.url().startsWith(url) ? undefined : elsewhere.push(r.url())));
    const response = await page.goto(`${url}${DOCS_PATH}/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toBe(DOCS_CSP);
    // an operation of every tag group is rendered from /docs/json
    for (const summary of [
      'Submit one set of bedside vital signs for NEWS2 scoring',
      'STOW-RS: store DICOM instances (one Part-10 file per part)',
      'One result: pending, done or failed',
      'Liveness: the process answers',
    ])
      await page.getByText(summary, { exact: true }).first().waitFor({ timeout: 30000 });
    // open one operation: its responses, problem+json included, are rendered
    await page.getByText('One result: pending, done or failed', { exact: true }).first().click();
    await page.getByText('application/problem+json').first().waitFor({ timeout: 30000 });
    expect(errors).toEqual([]);
    expect(elsewhere).toEqual([]);
  });
});
