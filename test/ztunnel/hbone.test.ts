/**
 * HBONE on the wire (ztunnel src/tls: TLS 1.3, ALPN exactly h2, no SNI, to port 15008): mtls
 * inferred with evidence `istio-hbone`; near misses stay `tls`. The ambient kubelet probe source
 * 169.254.7.127 is recognised.
 */
import { describe, expect, it } from 'vitest';
import { judge, type ConnFacts } from '../../src/analysis/flows.js';
import type { StreamFacts } from '../../src/protocols/stream.js';
import type { FlowTls } from '../../src/model/records.js';
import { hboneEvidence, isAmbientKubeletProbe } from '../../src/ztunnel/hbone.js';

const conn = (port: number): ConnFacts => ({ wire: { c2s: 500, s2c: 3000 }, notCaptured: { c2s: 0, s2c: 0 }, lost: { c2s: 0, s2c: 0 }, midStream: false, serverPort: port });
const tls = (o: Partial<FlowTls> = {}): FlowTls => ({ version: 'TLSv1.3', sni: null, alpn: ['h2'], alpnSelected: null, clientCertificateRequested: null, clientCertificateSent: null, uriSans: [], dnsSans: [], frames: { clientHello: 4 }, ...o });
const facts = (t: FlowTls): StreamFacts => ({ protocol: 'tls', tls: t, http: [], cleartext: false, seen: { c2s: 500, s2c: 3000 }, missing: { c2s: 0, s2c: 0 }, notes: [] });

describe('HBONE fingerprint', () => {
  it('TLS 1.3 to 15008 with ALPN [h2] and no SNI is mtls inferred (istio-hbone)', () => {
    const v = judge(facts(tls()), conn(15008));
    expect(v).toMatchObject({ security: 'mtls', inferred: true });
    expect(v.evidence[0]).toBe('istio-hbone');
    expect(v.notes.join(' ')).toMatch(/ztunnel access log/);
  });
  it('near misses are plain TLS: another port, an SNI, other ALPN, TLS 1.2', () => {
    expect(judge(facts(tls()), conn(443)).security).toBe('tls');
    expect(judge(facts(tls({ sni: 'example.com' })), conn(15008)).security).toBe('tls');
    expect(judge(facts(tls({ alpn: ['h2', 'http/1.1'] })), conn(15008)).security).toBe('tls');
    expect(hboneEvidence(tls({ version: 'TLSv1.2' }), 15008)).toBeNull();
    expect(hboneEvidence(tls({ version: null }), 15008)).toEqual(['istio-hbone']);
  });
  it('knows the ambient kubelet probe source', () => {
    expect(isAmbientKubeletProbe('169.254.7.127')).toBe(true);
    expect(isAmbientKubeletProbe('10.0.0.1')).toBe(false);
  });
});
