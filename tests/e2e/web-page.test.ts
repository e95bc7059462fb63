import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser';
import { projectRoot } from '../../engine/paths';
import type { RunningEngine } from '../../engine/runtime';
import { createTestSettings, startTestEngine } from '../helpers/test-env';

// Debian's Chromium, driven by playwright-core (no browser download).
describe('[REQ-WEB-01] the demo page in a real browser', () => {
  let engine: RunningEngine;
  let cleanup: () => Promise<void>;
  let browser: Browser | undefined;
  // playwright gives the browser a fresh temporary profile; this folder holds the screenshot
  const shots = mkdtempSync(join(tmpdir(), 'medstream-web-page-'));

  beforeAll(async () => {
    const fixture = await createTestSettings('pglite');
    cleanup = fixture.cleanup;
    engine = await startTestEngine(['ingest', 'process', 'sink', 'api'], fixture.settings);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await engine?.stop();
    await cleanup?.();
    rmSync(shots, { recursive: true, force: true });
  });

  it('uploads a chest X-ray, shows the label, probabilities, disclaimer and the loaded heatmap', async () => {
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : undefined));
    await page.goto(engine.url);
    await page.getByText('not for clinical use').first().waitFor();
    await page
      .locator('#file')
      .setInputFiles(join(projectRoot(), 'models', 'cxr-demo', '1.0.0', 'samples', 'covid19.png'));
    await page.locator('#submit').click();
    await page.locator('#result').waitFor({ state: 'visible', timeout: 60000 });
    expect(await page.locator('#verdict').textContent()).toMatch(/^covid19 — \d+\.\d %$/);
    expect(await page.locator('#disclaimer').textContent()).toBe(
      'synthetic training data — not for clinical use',
    );
    expect(await page.locator('#probabilities tbody tr').count()).toBe(3);
    // the heatmap really loaded (an image the browser decoded, at the input's size)
    // (page code as strings: this project compiles without the DOM library)
    await page.waitForFunction(
      "(() => { const img = document.getElementById('heatmap'); return img.complete && img.naturalWidth > 0; })()",
    );
    const size = await page.evaluate(
      "(() => { const img = document.getElementById('heatmap'); return [img.naturalWidth, img.naturalHeight]; })()",
    );
    expect(size).toEqual([256, 256]);
    await page.screenshot({
      path: process.env.MEDSTREAM_TEST_SCREENSHOT ?? join(shots, 'page.png'),
      fullPage: true,
    });
    expect(errors).toEqual([]);
  });

  it('shows the problem for a file that is not an image', async () => {
    const page = await browser!.newPage();
    await page.goto(engine.url);
    await page.locator('#file').setInputFiles({
      name: 'notes.png',
      mimeType: 'image/png',
      buffer: Buffer.from('definitely not a PNG'),
    });
    await page.locator('#submit').click();
    await page.locator('#error').waitFor({ state: 'visible' });
    expect(await page.locator('#error').textContent()).toMatch(/^400 /);
  });
});
