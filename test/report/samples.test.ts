/**
 * The report over each bundled incident sample shows the findings its story promises, in all three
 * formats (JSON, SARIF, HTML). Samples live in samples/<incident>/ (see each README.md).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, runCli } from '../helpers/cli.js';

const STORIES: Record<string, { ids: string[]; check?: (m: Report) => void }> = {
  'bank-breach': {
    ids: ['identity-address-mismatch', 'rbac-denied'],
    check: (m) => {
      const f = m.findings.find((x) => x.id === 'identity-address-mismatch')!;
      expect(f.details.presentedIdentity).toBe('spiffe://cluster.local/ns/bank/sa/account-summary');
      expect(f.details.addressOwner).toMatchObject({ namespace: 'ops', serviceAccount: 'default' });
    },
  },
  'bookinfo-authz': { ids: ['allow-nothing-in-effect', 'rbac-denied'] },
  'details-path': { ids: ['rbac-denied'] },
  'legacy-plaintext': {
    ids: ['plaintext-flow', 'plaintext-accepted', 'strict-rejected-plaintext'],
    check: (m) => expect(m.findings.find((x) => x.id === 'plaintext-flow')!.details.sourceNamespace).toBe('legacy'),
  },
  'tcp-echo': {
    ids: ['http-only-fields-on-tcp', 'rbac-denied', 'plaintext-flow'],
    // Issue 14: the port-9002 plaintext is the client's (undeclared port → PassthroughCluster); STRICT would break it.
    check: (m) => {
      for (const id of ['plaintext-flow', 'plaintext-accepted']) {
        const f = m.findings.find((x) => x.id === id && /port 9002/.test(x.summary))!;
        if (id === 'plaintext-flow') expect(f.summary).toContain('undeclared port 9002');
        expect(f.summary).toContain('PassthroughCluster');
        expect(f.fix).toMatch(/^Fix the client side first: declare port 9002 in the Service/);
        expect(f.fix).not.toMatch(/Set a PeerAuthentication|Require mTLS/);
        expect(f.details).toMatchObject({ fixFirst: 'client', clientHalf: { paths: [{ cluster: 'PassthroughCluster', mode: 'passthrough' }] } });
      }
    },
  },
};

interface Report {
  findings: { id: string; severity: string; summary: string; fix: string; details: Record<string, unknown> }[];
  manifest: { inputs: { sha256: string }[] };
}

for (const [sample, story] of Object.entries(STORIES)) {
  const dir = join('samples', sample);
  describe.skipIf(!existsSync(join(REPO, dir)))(`report over ${dir} (needs ${dir})`, () => {
    it(`shows ${story.ids.join(', ')} in JSON, SARIF and HTML`, async () => {
      const out = mkdtempSync(join(tmpdir(), `meshsleuth-sample-${sample}-`));
      for (const ext of ['json', 'sarif', 'html']) {
        const r = await runCli(['report', dir, '--out', join(out, `r.${ext}`)]);
        expect(r.code, r.stderr).toBe(0);
      }
      const m = JSON.parse(readFileSync(join(out, 'r.json'), 'utf8')) as Report;
      const ids = new Set(m.findings.map((f) => f.id));
      for (const id of story.ids) expect(ids, `${sample}: ${id}`).toContain(id);
      expect(m.manifest.inputs.every((i) => /^[0-9a-f]{64}$/.test(i.sha256))).toBe(true);
      story.check?.(m);
      const sarif = JSON.parse(readFileSync(join(out, 'r.sarif'), 'utf8')) as { runs: { results: { ruleId: string }[] }[] };
      const sarifIds = new Set(sarif.runs[0]!.results.map((x) => x.ruleId));
      for (const id of story.ids) expect(sarifIds).toContain(id);
      const html = readFileSync(join(out, 'r.html'), 'utf8');
      for (const id of story.ids) expect(html).toContain(`data-finding="${id}"`);
      expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg" id="service-graph"');
    });
  });
}
