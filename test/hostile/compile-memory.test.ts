/**
 * `compile` of many rich AuthorizationPolicies in a heap set from outside: the output (about 21 KB of YAML per
 * policy here) is written piece by piece and the documents read are not kept as parse trees. Serialising the whole
 * output document at once needed about 630 MB of RSS on these 1,000 policies and ran out of this 256 MB heap.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { richPolicy } from '../../src/synth/hostile.js';
import { runCli } from '../helpers/cli.js';

const N = 1_000;
const HEAP = { NODE_OPTIONS: '--max-old-space-size=256' };

describe('compile on many rich policies', { timeout: 300_000 }, () => {
  it(`compiles ${N.toLocaleString('en-US')} rich AuthorizationPolicies (3 rules each) in a 256 MB heap, every rule in the YAML and the JSON output`, async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-compile-')), 'rich.yaml');
    writeFileSync(f, Array.from({ length: N }, (_, i) => richPolicy(i)).join('---\n'));
    const args = ['compile', f, '--workload', 'default/details', '--labels', 'app=details', '--ports', '9080/http'];
    const y = await runCli(args, { env: HEAP });
    expect(y.code, y.stderr.slice(-1000)).toBe(0);
    // every rule of every policy is an RBAC policy of the HTTP filter (the TCP chains drop them: HTTP-only fields)
    const rules = new Set([...y.stdout.matchAll(/^ {10}ns\[default\]-policy\[rich-(\d+)\]-rule\[(\d)\]:$/gm)].map((m) => `${m[1]}/${m[2]}`));
    expect(rules.size).toBe(3 * N);
    expect(y.stdout).toMatch(/^diagnostics:\n/m);
    expect(y.stderr.match(/skipped rule ns\[default\]-policy\[rich-\d+\]-rule\[\d\] on TCP filter chain/g)).toHaveLength(3 * N);
    const j = await runCli([...args, '-o', 'json'], { env: HEAP });
    expect(j.code, j.stderr.slice(-1000)).toBe(0);
    const doc = JSON.parse(j.stdout) as { httpFilters: { typedConfig: { rules: { policies: Record<string, unknown> } } }[] };
    expect(Object.keys(doc.httpFilters[0]!.typedConfig.rules.policies)).toHaveLength(3 * N);
  });
});
