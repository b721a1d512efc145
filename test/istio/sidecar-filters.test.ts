import { describe, expect, it } from 'vitest';
import { assumedIstioClientAlpn, customProviderOf, istioHttpFilterEffect, istioNetworkFilterEffect } from '../../src/istio/sidecar-filters.js';
import type { RequestAttrs } from '../../src/model/attrs.js';

const mtls: RequestAttrs = { tls: { uriSans: ['spiffe://cluster.local/ns/default/sa/sleep'], dnsSans: [], subject: '', peerCertificateValidated: true } };

describe("Istio sidecar filters' effect on RBAC attributes", () => {
  it('istio_authn (network) publishes the peer URI SAN as filter state io.istio.peer_principal', () => {
    const e = istioNetworkFilterEffect({ name: 'istio_authn', typeUrl: '', config: {} }, mtls);
    expect(e?.req.filterState).toEqual({ 'io.istio.peer_principal': 'spiffe://cluster.local/ns/default/sa/sleep' });
  });

  it('does nothing on plaintext, for other filters, or when the filter state is already given', () => {
    expect(istioNetworkFilterEffect({ name: 'istio_authn', typeUrl: '', config: {} }, {})).toBeNull();
    expect(istioNetworkFilterEffect({ name: 'envoy.filters.network.tcp_proxy', typeUrl: '', config: {} }, mtls)).toBeNull();
    expect(istioNetworkFilterEffect({ name: 'istio_authn', typeUrl: '', config: {} }, { ...mtls, filterState: { 'io.istio.peer_principal': 'x' } })).toBeNull();
  });

  it('legacy istio_authn (HTTP) publishes source.principal without the spiffe:// scheme', () => {
    const e = istioHttpFilterEffect({ name: 'istio_authn', typeUrl: '', config: {} }, mtls);
    expect(e?.req.metadata).toEqual({ istio_authn: { 'source.principal': 'cluster.local/ns/default/sa/sleep', 'source.user': 'cluster.local/ns/default/sa/sleep' } });
  });

  it("assumes an Istio client's ALPN per protocol and says so", () => {
    expect(assumedIstioClientAlpn(true, false).alpn[0]).toBe('istio-http/1.1');
    expect(assumedIstioClientAlpn(true, true).alpn[0]).toBe('istio-h2');
    expect(assumedIstioClientAlpn(false, false).alpn).toEqual(['istio-peer-exchange', 'istio']);
    expect(assumedIstioClientAlpn(false, false).note).toMatch(/assumed/);
  });

  it('reads the CUSTOM provider from the policy id when it carries one', () => {
    expect(customProviderOf('istio-ext-authz-my-provider-ns[foo]-policy[p]-rule[0]')).toBe('my-provider');
    expect(customProviderOf('istio-ext-authz-ns[foo]-policy[p]-rule[0]')).toBeNull();
    expect(customProviderOf(undefined)).toBeNull();
  });
});
