/**
 * "Plaintext that left the pod" has one definition (src/analysis/scope.ts), so `flows --fail-on
 * plaintext` and `report --fail-on plaintext` agree on every capture, and both say why.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describeShared, runCli, SHARED } from '../helpers/cli.js';
import { gatherEvidence } from '../../src/analysis/evidence.js';
import { buildReportModel } from '../../src/analysis/report-model.js';
import { failOnHits } from '../../src/analysis/findings.js';
import { isPlaintextThatLeftThePod, legScope } from '../../src/analysis/scope.js';

describe('scope of a leg', () => {
  const at = (client: string, server: string, sidecarLocal = false) => ({ client: { ip: client }, server: { ip: server }, sidecarLocal });
  it('a loopback address at either end never left the pod, and is not the sidecar leg unless the capture says so', () => {
    expect(legScope(at('127.0.0.1', '127.0.0.1'))).toBe('loopback');
    expect(legScope(at('::ffff:127.0.0.1', '10.0.0.1'))).toBe('loopback');
    expect(legScope(at('::1', '::1'))).toBe('loopback');
    expect(legScope(at('127.0.0.6', '10.0.0.1', true))).toBe('sidecar-local');
  });
  it('without an inventory no address is a workload: public-internet traffic is unattributed, not between workloads', () => {
    expect(legScope(at('141.142.228.5', '192.150.187.43'))).toBe('unattributed');
    const known = new Set(['10.0.0.1', '10.0.0.2']);
    const resolve = (ip: string) => (known.has(ip) ? ip : undefined);
    expect(legScope(at('10.0.0.1', '10.0.0.2'), resolve)).toBe('between-workloads');
    expect(legScope(at('10.0.0.1', '192.150.187.43'), resolve)).toBe('unattributed');
    expect(isPlaintextThatLeftThePod({ ...at('10.0.0.1', '10.0.0.2'), security: 'plaintext' }, resolve)).toBe(true);
    expect(isPlaintextThatLeftThePod({ ...at('127.0.0.1', '127.0.0.1'), security: 'plaintext' }, resolve)).toBe(false);
  });
});

describeShared('flows and report agree on --fail-on plaintext (../shared/captures)', () => {
  const captures = readdirSync(join(SHARED, 'captures')).filter((f) => /\.pcap(ng)?$/.test(f)).sort();

  it('on every shared capture, the flows that trip flows --fail-on plaintext are exactly the report\'s plaintext findings', async () => {
    for (const name of captures) {
      const ev = await gatherEvidence([join(SHARED, 'captures', name)]);
      const m = buildReportModel(ev, { skewMs: 2000, showSecrets: false, generatedAt: '2026-01-01T00:00:00Z' });
      const flowsTrips = ev.flows.some((f) => isPlaintextThatLeftThePod(f));
      const reportTrips = failOnHits(m.findings, new Set(['plaintext'])).length > 0;
      expect(reportTrips, name).toBe(flowsTrips);
      expect(m.summary.flows.plaintextLeftPod, name).toBe(ev.flows.filter((f) => isPlaintextThatLeftThePod(f)).length);
      expect(m.summary.flows.plaintextBetweenWorkloads, `${name}: no inventory, so nothing is between workloads`).toBe(0);
    }
  }, 120_000);

  it('synthetic-istio-lo-mtu1500.pcap: plaintext between loopback addresses did not leave the pod: both commands exit 0 and say "loopback"', async () => {
    const cap = join(SHARED, 'captures', 'synthetic-istio-lo-mtu1500.pcap');
    const flows = await runCli(['flows', cap, '--fail-on', 'plaintext']);
    const report = await runCli(['report', cap, '--fail-on', 'plaintext']);
    expect(flows.code, flows.stderr).toBe(0);
    expect(report.code, report.stderr).toBe(0);
    expect(flows.stdout).toMatch(/127\.0\.0\.1:\d+\s+127\.0\.0\.1:18005\s+plaintext \(loopback\)\s+cleartext-tcp/);
    expect(flows.stdout).toContain('24 flows: 13 mtls (9 inferred), 6 tls, 5 plaintext (5 loopback)');
    expect(report.stdout).toContain('plaintext 5 (0 left the pod; 5 loopback)');
    const json = await runCli(['flows', cap, '-o', 'json', '--security', 'plaintext']);
    const parsed = JSON.parse(json.stdout) as { flows: { scope: string }[] } | { scope: string }[];
    const list = Array.isArray(parsed) ? parsed : parsed.flows;
    expect(list.map((f) => f.scope)).toEqual(['loopback', 'loopback', 'loopback', 'loopback', 'loopback']);
  });

  it('zeek-http-get.pcap: public-internet HTTP left the pod but is unattributed: both commands exit 1', async () => {
    const cap = join(SHARED, 'captures', 'zeek-http-get.pcap');
    const flows = await runCli(['flows', cap, '--fail-on', 'plaintext']);
    const report = await runCli(['report', cap, '--fail-on', 'plaintext', '-o', 'json']);
    expect(flows.code).toBe(1);
    expect(report.code).toBe(1);
    const m = JSON.parse(report.stdout) as { summary: { flows: Record<string, number> }; findings: { id: string; summary: string; details: { scope: string } }[] };
    expect(m.summary.flows).toMatchObject({ plaintextLeftPod: 1, plaintextUnattributed: 1, plaintextBetweenWorkloads: 0 });
    const f = m.findings.find((x) => x.id === 'plaintext-flow')!;
    expect(f.details.scope).toBe('unattributed');
    expect(f.summary).toContain('neither end is a known workload');
  });
});
