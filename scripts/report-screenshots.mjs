#!/usr/bin/env node
/**
 * Regenerates the HTML report screenshots in docs/img (referenced from docs/readme-report.md and
 * README.md): the bundled samples' reports rendered by the built CLI (npm run build first) and shot in
 * headless Chromium (/usr/bin/chromium or $CHROMIUM_PATH, driven by playwright-core) at 1400 px and
 * 800 px. Usage: node scripts/report-screenshots.mjs
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const img = join(root, 'docs/img');
const tmp = mkdtempSync(join(tmpdir(), 'meshsleuth-shots-'));

function report(sample) {
  const out = join(tmp, `${sample}.html`);
  execFileSync(process.execPath, [join(root, 'dist/src/cli/main.js'), 'report', `samples/${sample}`, '--out', out], { cwd: root, env: { ...process.env, SOURCE_DATE_EPOCH: '1795392000' }, stdio: ['ignore', 'ignore', 'inherit'] });
  return pathToFileURL(out).href;
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  const bank = report('bank-breach');
  const bookinfo = report('bookinfo-authz');
  const shot = async (url, width, name, what) => {
    const page = await browser.newPage({ viewport: { width, height: 900 }, deviceScaleFactor: 1 });
    await page.goto(url);
    await what(page);
    await page.close();
    process.stderr.write(`wrote docs/img/${name}\n`);
  };
  // Summary cards and the first findings.
  await shot(bank, 1400, 'report-bank-breach-top.png', (p) => p.screenshot({ path: join(img, 'report-bank-breach-top.png') }));
  // The service graph.
  await shot(bank, 1400, 'report-bank-breach-graph.png', (p) => p.locator('#graph').screenshot({ path: join(img, 'report-bank-breach-graph.png') }));
  // One click from the critical finding: its connection's timeline row, opened.
  await shot(bank, 1400, 'report-bank-breach-timeline.png', async (p) => {
    await p.locator('details.finding[data-finding="identity-address-mismatch"] .evidence a', { hasText: 'timeline' }).first().click();
    await p.evaluate(() => {
      const t = document.querySelector(':target');
      if (t instanceof HTMLDetailsElement) t.open = true;
    });
    await p.screenshot({ path: join(img, 'report-bank-breach-timeline.png') });
  });
  // Before and after each policy stage.
  await shot(bookinfo, 1400, 'report-bookinfo-authz-time-axis.png', (p) => p.locator('#time-axis').screenshot({ path: join(img, 'report-bookinfo-authz-time-axis.png') }));
  // A narrow window: the same page at 800 px.
  await shot(bank, 800, 'report-bank-breach-800.png', (p) => p.screenshot({ path: join(img, 'report-bank-breach-800.png') }));
} finally {
  await browser.close();
  rmSync(tmp, { recursive: true, force: true });
}
