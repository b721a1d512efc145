/**
 * The graph's nodes list the findings that name one of their addresses exactly — an IP, or an endpoint
 * `ip:port` / `[v6]:port` — never a finding about a longer address that starts or ends like theirs.
 */
import { describe, expect, it } from 'vitest';
import { addressesInDetails, buildReportModel, type BuildOptions, type Evidence, type ReportModel } from '../../src/analysis/report-model.js';
import type { Flow } from '../../src/model/records.js';
import { flow, T0, tls } from './report-fixtures.js';

const OPTS: BuildOptions = { skewMs: 2000, showSecrets: false, generatedAt: '2026-01-01T00:00:00.000Z' };

function evidence(flows: Flow[]): Evidence {
  return { inputs: [], hashes: new Map(), items: new Map(), problems: new Map(), unreadable: new Map(), flows, records: [], explanations: [], proxies: [], inventory: null, policies: [], diagnostics: [] };
}

/** A captured connection between two addresses (IPv4 or IPv6): plaintext HTTP, or mTLS (no finding of its own). */
function conn(client: string, server: string, port: number, security: 'plaintext' | 'mtls', i: number): Flow {
  const f = flow({ client: '0.0.0.0:1', server: '0.0.0.0:1', startMs: T0 + i * 1000, ...(security === 'mtls' ? { security, evidence: ['client-certificate'], tls: tls(), protocol: 'tls' } : {}) });
  return { ...f, id: `f${i}`, client: { ip: client, port: 40_000 + i }, server: { ip: server, port } };
}

function nodeFindings(m: ReportModel): Record<string, string[]> {
  return Object.fromEntries(m.graph.nodes.map((n) => [n.id, n.findings]));
}

describe('findings per graph node', () => {
  it('a node 10.1.0.10 beside 10.1.0.104 and 110.1.0.10 gets none of their findings; the endpoint ip:port names its server', () => {
    const m = buildReportModel(
      evidence([
        conn('10.1.0.104', '10.2.0.1', 80, 'plaintext', 1),
        conn('110.1.0.10', '10.2.0.1', 80, 'plaintext', 2),
        conn('10.1.0.10', '10.2.0.10', 80, 'mtls', 3),
      ]),
      OPTS,
    );
    const plain = m.findings.filter((f) => f.id === 'plaintext-flow');
    expect(plain.map((f) => f.details?.server)).toEqual([{ address: '10.2.0.1:80' }, { address: '10.2.0.1:80' }]);
    expect(nodeFindings(m)).toEqual({
      'ip:10.1.0.10': [],
      'ip:10.1.0.104': ['plaintext-flow'],
      'ip:10.2.0.1': ['plaintext-flow'],
      'ip:10.2.0.10': [],
      'ip:110.1.0.10': ['plaintext-flow'],
    });
  });

  it('IPv6: fd00::1 beside fd00::10 and fd00::1:5; [fd00::10] and the endpoint [fd00::1]:80 name theirs', () => {
    const m = buildReportModel(
      evidence([
        conn('fd00::10', 'fd00::1', 80, 'plaintext', 1),
        conn('fd00::1:5', 'fd00::2', 80, 'mtls', 2),
        conn('fd00::1:6', 'fd00::1:7', 80, 'mtls', 3),
      ]),
      OPTS,
    );
    expect(m.findings.find((f) => f.id === 'plaintext-flow')?.details).toMatchObject({ client: { address: '[fd00::10]' }, server: { address: '[fd00::1]:80' } });
    expect(nodeFindings(m)).toEqual({
      'ip:fd00::1': ['plaintext-flow'],
      'ip:fd00::10': ['plaintext-flow'],
      'ip:fd00::1:5': [],
      'ip:fd00::1:6': [],
      'ip:fd00::1:7': [],
      'ip:fd00::2': [],
    });
  });

  it('the addresses a finding names: values that are an IP or an endpoint, at any depth; not prose, prefixes, keys or host names', () => {
    const details = {
      client: { address: '10.1.0.5' },
      server: { address: '10.1.0.7:9080' },
      sources: ['10.3.0.1', 'spiffe://cluster.local/ns/a/sa/b', 'ns/workload'],
      destination: '[FD00::A]:8080',
      hbone: 'fd00::b',
      bracketed: '[fd00::c]',
      mapped: '::ffff:10.4.0.1',
      explanation: 'no Service port matches 10.9.0.9:9002, so it went through PassthroughCluster',
      proxy: 'sidecar~10.9.0.8~sleep-1.foo~foo.svc.cluster.local',
      notAnAddress: ['10.1.0.5:', '10.1.0.5:x', '10.1.0.5:80:81', '[10.1.0.5]:80', '999.1.0.1', '10.1.0', 'details:9080', 'a:b'],
      '10.9.0.7': 'key, not value',
      count: 3,
      none: null,
    };
    expect([...addressesInDetails(details)]).toEqual(['10.1.0.5', '10.1.0.7', '10.3.0.1', 'fd00::a', 'fd00::b', 'fd00::c', '10.4.0.1']);
  });
});
