/**
 * The HTML report in a real browser: Debian's headless Chromium (installed by .ci/run) driven by
 * playwright-core. Checks that the service graph and the findings are visible, that captured text
 * containing <script> is shown as text and never runs, and that nothing is fetched when viewed.
 * Skips, saying so, when /usr/bin/chromium is not installed.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { runCli } from '../helpers/cli.js';
import { esc, renderGraphSvg } from '../../src/report/html.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`test/report/html.test.ts: browser checks skipped: ${CHROMIUM} not found (apt-get install chromium; .ci/run installs it)`);

describe('HTML escaping (no browser needed)', () => {
  it('escapes markup, quotes and control characters', () => {
    expect(esc('<script>alert("x")</script>&\'')).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
    expect(esc('a\u0000b\u001bc')).toBe('a\\x00b\\x1bc');
  });

  it('draws workloads as nodes and marks edges by security', () => {
    const svg = renderGraphSvg(
      [
        { id: 'a/x', label: 'x', namespace: 'a', kind: 'workload', serviceAccount: 'x', pods: [], ips: ['10.0.0.1'], sidecar: true, findings: [] },
        { id: 'b/<y>', label: '<y>', namespace: 'b', kind: 'workload', serviceAccount: null, pods: [], ips: ['10.0.0.2'], sidecar: false, findings: ['plaintext-flow'] },
      ],
      [{ from: 'a/x', to: 'b/<y>', port: 80, flows: { mtls: 0, tls: 0, plaintext: 2, unknown: 0 }, requests: { allowed: 1, denied: 1, rejected: 0 }, requestSecurity: { mtls: 0, tls: 0, plaintext: 0, unknown: 0 }, marks: ['plaintext', 'denied'], security: 'plaintext' }],
    );
    expect(svg).toContain('data-security="plaintext"');
    expect(svg).toContain('stroke-dasharray');
    expect(svg).toContain('&lt;y&gt;');
    expect(svg).not.toContain('<y>');
  });
});

describe.skipIf(!hasChromium)('HTML report in headless Chromium (needs /usr/bin/chromium)', () => {
  let browser: Browser;
  let file: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-html-'));
    file = join(dir, 'report.html');
    const r = await runCli(['report', 'test/report/fixtures/incident', '--out', file]);
    expect(r.code, r.stderr).toBe(0);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('is one self-contained file with no script element', () => {
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\s(src|href)=["']?(https?:)?\/\//i);
    expect(html).toContain("default-src 'none'");
  });

  it('shows the graph and the findings, shows <script> from the capture as text, runs nothing and fetches nothing', async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    const dialogs: string[] = [];
    const errors: string[] = [];
    page.on('request', (req) => requests.push(req.url()));
    page.on('dialog', async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
    page.on('pageerror', (e) => errors.push(e.message));
    const url = pathToFileURL(file).href;
    await page.goto(url);

    // The service graph: an SVG with workload nodes and edges, laid out with a real size.
    const graph = page.locator('svg#service-graph');
    await expect(graph.isVisible()).resolves.toBe(true);
    const box = await graph.boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    expect(box!.height).toBeGreaterThan(100);
    const nodes = await page.locator('svg#service-graph g.node').evaluateAll((els) => els.map((e) => e.getAttribute('data-node')));
    expect(nodes).toEqual(expect.arrayContaining(['default/details', 'legacy/sleep', 'default/debug-shell', 'default/productpage']));
    const edges = await page.locator('svg#service-graph g.edge').evaluateAll((els) => els.map((e) => e.getAttribute('data-marks')));
    expect(edges).toEqual(expect.arrayContaining(['plaintext', 'mtls', 'mtls denied']));
    expect(await page.locator('svg#service-graph g.node').first().isVisible()).toBe(true);

    // Findings are visible, the stolen-keys one among them.
    const finding = page.locator('[data-finding="identity-address-mismatch"]');
    expect(await finding.isVisible()).toBe(true);
    expect(await finding.innerText()).toContain('spiffe://cluster.local/ns/default/sa/bookinfo-productpage');
    expect(await page.locator('#findings .finding').count()).toBeGreaterThanOrEqual(6);

    // The captured path and header with <script> are text, not elements, and did not run.
    const bodyText = await page.locator('body').innerText();
    expect(bodyText).toContain('/details/<script>alert(1)</script>');
    expect(bodyText).toContain('<script>document.title="pwned"</script>');
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.title()).not.toContain('pwned');
    expect(await page.title()).toContain('meshsleuth incident report');
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    // The bearer token is redacted in the page.
    expect(bodyText).not.toContain('c2VjcmV0');
    expect(bodyText).toContain('Bearer [redacted]');
    // Nothing but the file itself was requested.
    expect(requests).toEqual([url]);
    await page.close();
  });
});
