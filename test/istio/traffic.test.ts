import { describe, expect, it } from 'vitest';
import { isIstioAlpn, isLoopbackInterfaceName, ISTIO_MTLS_ALPNS, parseIstioSni, sidecarLocalReason } from '../../src/istio/traffic.js';

describe('Istio SNI outbound_.<port>_.<subset>_.<fqdn>', () => {
  it('parses the DNS subset key a client sidecar sends', () => {
    expect(parseIstioSni('outbound_.8000_._.httpbin.foo.svc.cluster.local')).toEqual({ direction: 'outbound', port: 8000, subset: '', host: 'httpbin.foo.svc.cluster.local' });
    expect(parseIstioSni('outbound_.9080_.v1_.reviews.default.svc.cluster.local')).toEqual({ direction: 'outbound', port: 9080, subset: 'v1', host: 'reviews.default.svc.cluster.local' });
    expect(parseIstioSni('inbound_.8080_._.x.y.svc.cluster.local')?.direction).toBe('inbound');
  });
  it('rejects ordinary host names and malformed keys', () => {
    for (const s of ['httpbin.foo.svc.cluster.local', 'outbound|8000||httpbin.foo.svc.cluster.local', 'outbound_.0_._.x', 'outbound_.70000_._.x', 'outbound_.80_._.', '', null, undefined]) {
      expect(parseIstioSni(s)).toBeNull();
    }
  });
});

describe('Istio ALPN', () => {
  it('recognises every mTLS ALPN pilot sets, and nothing else', () => {
    for (const a of ISTIO_MTLS_ALPNS) expect(isIstioAlpn(a)).toBe(true);
    for (const a of ['h2', 'http/1.1', 'h2c', 'istiod', 'Istio']) expect(isIstioAlpn(a)).toBe(false);
  });
});

describe('sidecar-local legs (app ↔ Envoy inside the pod)', () => {
  const leg = (client: string, cport: number, server: string, sport: number, o: { lo?: boolean; tls?: boolean } = {}) =>
    sidecarLocalReason({ client: { ip: client, port: cport }, server: { ip: server, port: sport }, loopbackInterface: o.lo ?? false, tls: o.tls ?? false });
  it('Envoy inbound passthrough from 127.0.0.6 to the app', () => {
    expect(leg('127.0.0.6', 41000, '10.44.1.27', 8080)).toMatch(/127\.0\.0\.6/);
  });
  it('the app redirected to Envoy outbound 15001 / inbound 15006', () => {
    expect(leg('10.44.1.27', 50000, '127.0.0.1', 15001)).toMatch(/15001/);
    expect(leg('10.0.0.9', 50000, '10.44.1.27', 15006)).toMatch(/15006/);
  });
  it('a plaintext flow on a loopback interface; not a TLS one, not an ordinary pod-to-pod flow', () => {
    expect(leg('127.0.0.1', 50000, '127.0.0.1', 8080, { lo: true })).toMatch(/loopback/);
    expect(leg('127.0.0.1', 50000, '127.0.0.1', 8080, { lo: true, tls: true })).toBeNull();
    expect(leg('10.44.1.23', 37652, '10.44.1.27', 80)).toBeNull();
  });
  it('knows loopback interface names', () => {
    for (const n of ['lo', 'lo0', 'Loopback', '\\Device\\NPF_Loopback']) expect(isLoopbackInterfaceName(n)).toBe(true);
    for (const n of ['eth0', 'any', 'lorawan', undefined]) expect(isLoopbackInterfaceName(n)).toBe(false);
  });
});
