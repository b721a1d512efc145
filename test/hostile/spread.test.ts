/**
 * Inputs with more items than a JavaScript call can take as arguments (`push(...a)` throws "Maximum call stack
 * size exceeded" at about 120k): every command still answers.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendAll, maxOf } from '../../src/model/arrays.js';
import { PcapWriter } from '../../src/synth/pcap-writer.js';
import { readK8sPaths } from '../../src/readers/k8s.js';
import { runCli } from '../helpers/cli.js';

const N = 150_000;
const tmp = (): string => mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-spread-'));

/** N SYN-only connections from distinct source ports and addresses to 10.0.0.2:80 (Ethernet, IPv4, TCP). */
function synFlood(n: number): Buffer {
  const w = new PcapWriter();
  for (let i = 0; i < n; i++) {
    const f = Buffer.alloc(14 + 20 + 20);
    f.writeUInt16BE(0x0800, 12);
    const ip = 14;
    f[ip] = 0x45;
    f.writeUInt16BE(40, ip + 2);
    f[ip + 8] = 64;
    f[ip + 9] = 6;
    f.set([10, 1 + ((i >> 16) & 0xff), (i >> 8) & 0xff, i & 0xff], ip + 12);
    f.set([10, 0, 0, 2], ip + 16);
    const tcp = ip + 20;
    f.writeUInt16BE(1024 + (i % 60000), tcp);
    f.writeUInt16BE(80, tcp + 2);
    f.writeUInt32BE(i * 7919, tcp + 4);
    f[tcp + 12] = 0x50;
    f[tcp + 13] = 0x02; // SYN
    f.writeUInt16BE(65535, tcp + 14);
    w.add({ timeNs: BigInt(1_700_000_000_000 + i) * 1_000_000n, data: f });
  }
  return w.toBuffer();
}

// Generating and reading these inputs takes tens of seconds on a loaded 2-core machine: a generous ceiling, not a timing.
describe('more items than a call takes arguments', { timeout: 240_000 }, () => {
  it('appendAll and maxOf take arrays far past the argument limit', () => {
    const big = Array.from({ length: 500_000 }, (_, i) => i);
    expect(appendAll([-1], big)).toHaveLength(500_001);
    expect(maxOf(big)).toBe(499_999);
    expect(maxOf([], 0)).toBe(0);
  });

  it(`flows on a capture of ${N.toLocaleString('en-US')} connections lists every one (exit 0)`, async () => {
    const f = join(tmp(), 'syn.pcap');
    writeFileSync(f, synFlood(N));
    const r = await runCli(['flows', f, '-o', 'ndjson']);
    expect(r.stderr).not.toMatch(/Maximum call stack/);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(N);
  });

  it(`policies on a dump with ${N.toLocaleString('en-US')} malformed listeners answers with the diagnostics, not an internal error`, async () => {
    const f = join(tmp(), 'dump.json');
    const listeners = Array.from({ length: N }, (_, i) => ({ listener: { name: `l${i}`, filter_chains: 'not-a-list' } }));
    writeFileSync(f, JSON.stringify({ configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', dynamic_listeners: listeners.map((l, i) => ({ name: `l${i}`, active_state: l })) }] }));
    const r = await runCli(['policies', f]);
    expect(r.stderr).not.toMatch(/Maximum call stack/);
    expect([0, 2]).toContain(r.code);
  });

  it(`the manifest reader behind compile/check --policies keeps all ${N.toLocaleString('en-US')} documents of one file`, async () => {
    const f = join(tmp(), 'policies.yaml');
    const doc = (i: number) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p${i}\n  namespace: ns${i % 7}\nspec:\n  action: DENY\n`;
    writeFileSync(f, Array.from({ length: N }, (_, i) => doc(i)).join('---\n'));
    const r = await readK8sPaths([f]);
    expect(r.objects).toHaveLength(N);
  });
});
