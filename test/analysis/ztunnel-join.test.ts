/** HBONE flows joined to the ztunnel records of the tunnels they carried (client pod IP, dst.addr :15008, time), and decided from the ztunnel config alone. */
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { decideHboneFlows, joinHboneFlows } from '../../src/analysis/ztunnel.js';
import { parseZtunnelConfig } from '../../src/readers/configdump/ztunnel.js';
import { readAccessLogs } from '../../src/readers/accesslog/index.js';
import type { AccessRecord, Flow } from '../../src/model/records.js';

const T = '\t';
const LINE = `2026-12-03T06:10:00.100000Z${T}info${T}access${T}connection complete${T}src.addr=10.244.2.21:41000 src.identity="spiffe://cluster.local/ns/shop/sa/frontend" dst.addr=10.244.2.20:15008 dst.hbone_addr=10.244.2.20:8080 dst.identity="spiffe://cluster.local/ns/shop/sa/cart" direction="outbound" bytes_sent=1 bytes_recv=2 duration="4ms"`;

const flow = (o: Partial<Flow> = {}): Flow => ({
  id: 'c#0', file: 'c.pcap', client: { ip: '10.244.2.21', port: 50000 }, server: { ip: '10.244.2.20', port: 15008 },
  start: '', end: '', startMs: Date.parse('2026-12-03T06:09:59.900Z'), endMs: Date.parse('2026-12-03T06:10:00.200Z'), packets: 10,
  bytes: { clientToServer: 1, serverToClient: 1 }, frames: [1], security: 'mtls', evidence: ['istio-hbone', 'tls13-certificates-encrypted'], inferred: true,
  tls: null, protocol: 'tls', http: [], sidecarLocal: false, notes: [], ...o,
});

async function records(text: string): Promise<AccessRecord[]> {
  const out: AccessRecord[] = [];
  for await (const r of readAccessLogs({ path: 'zt.log', stream: Readable.from([text]) })) out.push(r);
  return out;
}

describe('joinHboneFlows', () => {
  it('notes the identities the ztunnel log shows for an HBONE flow', async () => {
    const f = flow();
    expect(joinHboneFlows([f], await records(LINE + '\n'))).toBe(1);
    expect(f.notes[0]).toMatch(/zt\.log:1 outbound spiffe:\/\/cluster\.local\/ns\/shop\/sa\/frontend → spiffe:\/\/cluster\.local\/ns\/shop\/sa\/cart \(10\.244\.2\.20:8080\)/);
  });
  it('does not join another client, another time, or a flow that is not HBONE', async () => {
    const recs = await records(LINE + '\n');
    const others = [flow({ client: { ip: '10.244.2.99', port: 1 } }), flow({ startMs: 0, endMs: 1 }), flow({ evidence: ['istio-alpn'] })];
    expect(joinHboneFlows(others, recs)).toBe(0);
    expect(others.every((f) => f.notes.length === 0)).toBe(true);
  });
});

describe('decideHboneFlows (ztunnel config + capture, no log)', () => {
  const dump = JSON.parse(readFileSync('samples/ambient-bookinfo/config_dumps/ztunnel-q8n7d.istio-system.ztunnel.json', 'utf8')) as { policies: Array<{ name: string; rules: unknown[][][] }> };
  const toRatings = () => flow({ client: { ip: '10.244.1.15', port: 39470 }, server: { ip: '10.244.2.21', port: 15008 } });

  it('decides a tunnel to a workload with the client workload\'s identity, naming the policy and its condition', () => {
    const f = toRatings();
    expect(decideHboneFlows([f], [parseZtunnelConfig(dump, 'zt.json')])).toBe(1);
    expect(f.notes[0]).toContain('zt.json decides DENY: explicitly denied by: bookinfo/ratings-deny-other-namespaces (source.namespace: "default" — matches none of [exact "bookinfo"])');
  });

  it('does not decide when a policy reads the port (inside the encrypted CONNECT), nor for an unknown client', () => {
    const withPort = structuredClone(dump);
    withPort.policies.find((p) => p.name === 'ratings-deny-other-namespaces')!.rules[0]![0]!.push({ destinationPorts: [9080] });
    const f = toRatings();
    expect(decideHboneFlows([f], [parseZtunnelConfig(withPort, 'zt.json')])).toBe(0);
    expect(f.notes[0]).toBe('ztunnel config: not decided: bookinfo/ratings-deny-other-namespaces read the destination port, which is inside the encrypted CONNECT (the ztunnel log\'s dst.hbone_addr has it)');
    const stranger = flow({ client: { ip: '10.9.9.9', port: 1 }, server: { ip: '10.244.2.21', port: 15008 } });
    expect(decideHboneFlows([stranger], [parseZtunnelConfig(dump, 'zt.json')])).toBe(0);
    expect(stranger.notes[0]).toContain('no ztunnel config has a workload with the client IP 10.9.9.9');
  });
});
