import { describe, expect, it } from 'vitest';
import { checkAgainstConfig, judge, rfc3339, type ConnFacts, type ProxyPorts } from '../../src/analysis/flows.js';
import type { StreamFacts } from '../../src/protocols/stream.js';
import type { Flow, FlowTls } from '../../src/model/records.js';

const conn = (o: Partial<ConnFacts> = {}): ConnFacts => ({ wire: { c2s: 500, s2c: 3000 }, notCaptured: { c2s: 0, s2c: 0 }, lost: { c2s: 0, s2c: 0 }, midStream: false, ...o });

function tls(o: Partial<FlowTls> = {}): FlowTls {
  return { version: 'TLSv1.2', sni: 'api.example.com', alpn: ['h2', 'http/1.1'], alpnSelected: 'http/1.1', clientCertificateRequested: false, clientCertificateSent: null, uriSans: [], dnsSans: [], resumed: false, frames: { clientHello: 4 }, ...o };
}
function facts(o: Partial<StreamFacts> = {}): StreamFacts {
  return { protocol: 'tls', tls: null, http: [], cleartext: false, seen: { c2s: 500, s2c: 3000 }, missing: { c2s: 0, s2c: 0 }, notes: [], ...o };
}
const ISTIO = { sni: 'outbound_.8000_._.httpbin.foo.svc.cluster.local', alpn: ['istio-http/1.1', 'istio', 'http/1.1'] };

describe('security verdict', () => {
  it('mtls from a non-empty client Certificate (TLS ≤ 1.2), not inferred', () => {
    const v = judge(facts({ tls: tls({ clientCertificateRequested: true, clientCertificateSent: true, uriSans: ['spiffe://cluster.local/ns/foo/sa/sleep'] }) }), conn());
    expect(v).toMatchObject({ security: 'mtls', evidence: ['client-certificate'], inferred: false });
  });

  it('an EMPTY client Certificate is not mTLS, even with Istio markers', () => {
    const v = judge(facts({ tls: tls({ ...ISTIO, clientCertificateRequested: true, clientCertificateSent: false }) }), conn());
    expect(v).toMatchObject({ security: 'tls', evidence: ['client-certificate-empty'], inferred: false });
  });

  it('one-way TLS 1.2: the server flight had no CertificateRequest', () => {
    expect(judge(facts({ tls: tls() }), conn())).toMatchObject({ security: 'tls', evidence: ['no-certificate-request'] });
  });

  it('TLS 1.3 with Istio ALPN and SNI: mtls, inferred, with both markers as evidence', () => {
    const v = judge(facts({ tls: tls({ ...ISTIO, version: 'TLSv1.3', alpnSelected: null, clientCertificateRequested: null }) }), conn());
    expect(v).toMatchObject({ security: 'mtls', evidence: ['istio-alpn', 'istio-sni', 'tls13-certificates-encrypted'], inferred: true });
  });

  it('TLS 1.3 with only the Istio ALPN (istio-peer-exchange) still infers mtls', () => {
    const v = judge(facts({ tls: tls({ version: 'TLSv1.3', sni: 'tcp-echo', alpn: ['istio-peer-exchange', 'istio'], clientCertificateRequested: null }) }), conn());
    expect(v).toMatchObject({ security: 'mtls', evidence: ['istio-alpn', 'tls13-certificates-encrypted'], inferred: true });
  });

  it('TLS 1.3 without Istio markers: tls, undetermined', () => {
    const v = judge(facts({ tls: tls({ version: 'TLSv1.3', clientCertificateRequested: null }) }), conn());
    expect(v).toMatchObject({ security: 'tls', evidence: ['tls13-certificates-encrypted'], inferred: false });
  });

  it('resumed TLS 1.2: explicit outcome, mtls only when inferred from Istio markers', () => {
    expect(judge(facts({ tls: tls({ resumed: true, clientCertificateRequested: null }) }), conn())).toMatchObject({ security: 'tls', evidence: ['session-resumed'] });
    expect(judge(facts({ tls: tls({ ...ISTIO, resumed: true, clientCertificateRequested: null }) }), conn())).toMatchObject({ security: 'mtls', evidence: ['istio-alpn', 'istio-sni', 'session-resumed'], inferred: true });
  });

  it('a CertificateRequest but the capture ends before the client answers: tls, handshake incomplete', () => {
    const v = judge(facts({ tls: tls({ clientCertificateRequested: true, clientCertificateSent: null }) }), conn());
    expect(v).toMatchObject({ security: 'tls', evidence: ['certificate-request', 'handshake-incomplete'] });
  });

  it('a one-way server never gets mTLS from Istio markers alone', () => {
    const v = judge(facts({ tls: tls({ ...ISTIO, clientCertificateRequested: false }) }), conn());
    expect(v.security).toBe('tls');
    expect(v.notes.join(' ')).toMatch(/did not request a client certificate/);
  });

  it('a client Certificate whose certificates were cut by the snap length is still mTLS', () => {
    const v = judge(facts({ tls: tls({ clientCertificateRequested: null, clientCertificateSent: true, clientChain: [] }) }), conn({ notCaptured: { c2s: 3000, s2c: 100 } }));
    expect(v).toMatchObject({ security: 'mtls', evidence: ['client-certificate', 'payload-not-captured'] });
  });

  it('ClientHello not seen (mid-stream or cut): says so', () => {
    const v = judge(facts({ tls: tls({ sni: null, alpn: [], frames: { serverHello: 6 }, clientCertificateRequested: null }) }), conn({ notCaptured: { c2s: 400, s2c: 0 } }));
    expect(v.security).toBe('tls');
    expect(v.evidence).toContain('client-hello-not-seen');
    expect(v.evidence).toContain('payload-not-captured');
  });

  it('plaintext with its protocol: cleartext-http for HTTP/1.x and h2c, cleartext-tcp otherwise', () => {
    expect(judge(facts({ protocol: 'http/1.1', cleartext: true }), conn())).toMatchObject({ security: 'plaintext', evidence: ['cleartext-http'] });
    expect(judge(facts({ protocol: 'h2c', cleartext: true }), conn())).toMatchObject({ security: 'plaintext', evidence: ['cleartext-http'] });
    expect(judge(facts({ protocol: 'tcp', cleartext: true }), conn())).toMatchObject({ security: 'plaintext', evidence: ['cleartext-tcp'] });
  });

  it('a ClientHello answered in cleartext is plaintext (the server leaked)', () => {
    const v = judge(facts({ protocol: 'tls', cleartext: true, tls: tls({ version: null, alpnSelected: null, clientCertificateRequested: null }) }), conn());
    expect(v).toMatchObject({ security: 'plaintext', evidence: ['cleartext-tcp', 'tls-to-plaintext-server'] });
  });

  it('unknown: no payload, or payload not captured (snap length) — never plaintext', () => {
    expect(judge(facts({ protocol: 'unknown', seen: { c2s: 0, s2c: 0 } }), conn({ wire: { c2s: 0, s2c: 0 } }))).toMatchObject({ security: 'unknown', evidence: ['no-payload'] });
    const v = judge(facts({ protocol: 'unknown', seen: { c2s: 0, s2c: 0 }, missing: { c2s: 800, s2c: 90 } }), conn({ wire: { c2s: 800, s2c: 90 }, notCaptured: { c2s: 800, s2c: 90 } }));
    expect(v).toMatchObject({ security: 'unknown', evidence: ['payload-not-captured'] });
  });
});

describe('timestamps', () => {
  it('RFC 3339 UTC with the capture precision', () => {
    expect(rfc3339(1_418_145_369, 924_505_488, 9)).toBe('2014-12-09T17:16:09.924505488Z');
    expect(rfc3339(1_418_145_369, 924_505_000, 6)).toBe('2014-12-09T17:16:09.924505Z');
    expect(rfc3339(0, 0, 0)).toBe('1970-01-01T00:00:00Z');
  });
});

describe('--config: verdict against the destination port mTLS mode', () => {
  const flow = (security: Flow['security'], o: Partial<Flow> = {}): Flow => ({
    id: 'x#0', file: 'x', client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '10.44.1.27', port: 8080 }, start: '', end: '', startMs: 0, endMs: 0, packets: 1,
    bytes: { clientToServer: 0, serverToClient: 0 }, frames: [], security, evidence: [], tls: null, protocol: 'tcp', http: [], sidecarLocal: false, notes: [], ...o,
  });
  const proxies: ProxyPorts[] = [
    { proxy: 'httpbin', ips: ['10.44.1.27'], ports: [{ listener: 'virtualInbound', port: '*', mode: 'STRICT', note: '' }, { listener: 'virtualInbound', port: 8080, mode: 'PERMISSIVE', note: '' }] },
    { proxy: 'other', ips: ['10.44.1.99'], ports: [{ listener: 'virtualInbound', port: '*', mode: 'STRICT', note: '' }] },
  ];
  it('plaintext accepted by a PERMISSIVE port is said so', () => {
    expect(checkAgainstConfig(flow('plaintext'), proxies)).toMatchObject({ proxy: 'httpbin', matchedBy: 'server-ip', port: 8080, mode: 'PERMISSIVE', consistent: true, note: expect.stringMatching(/plaintext accepted by a PERMISSIVE port/) });
  });
  it('plaintext to a STRICT port contradicts the config', () => {
    expect(checkAgainstConfig(flow('plaintext', { server: { ip: '10.44.1.27', port: 9000 } }), proxies)).toMatchObject({ port: '*', mode: 'STRICT', consistent: false });
    expect(checkAgainstConfig(flow('mtls', { server: { ip: '10.44.1.27', port: 9000 } }), proxies)).toMatchObject({ mode: 'STRICT', consistent: true });
  });
  it('no check for sidecar-local legs or unknown servers when several dumps are given', () => {
    expect(checkAgainstConfig(flow('plaintext', { sidecarLocal: true }), proxies)).toBeNull();
    expect(checkAgainstConfig(flow('plaintext', { server: { ip: '10.9.9.9', port: 80 } }), proxies)).toBeNull();
    expect(checkAgainstConfig(flow('plaintext', { server: { ip: '10.9.9.9', port: 80 } }), [proxies[1]!])).toMatchObject({ matchedBy: 'only-dump', consistent: false });
  });
});
