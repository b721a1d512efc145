/**
 * What Istio's own sidecar filters do to the attributes that the RBAC filters after them read, and
 * what an Istio sidecar client offers when the evidence does not say. The Envoy composition
 * (src/envoy/decide.ts) asks this module instead of knowing Istio itself.
 */
import type { RequestAttrs } from '../model/attrs.js';
import type { ProtoObject } from '../envoy/model.js';
import { parsePolicyId } from './policy-id.js';

/** A filter as the composition sees it: name, type URL and (snake_case) config. */
export interface SidecarFilter {
  name: string;
  typeUrl: string;
  config: ProtoObject;
}

/** The request as a later filter sees it, and one line saying what changed. */
export interface AttributeEffect {
  req: RequestAttrs;
  reason: string;
}

function isIstioNetworkAuthn(f: SidecarFilter): boolean {
  return f.name === 'istio_authn' || /io\.istio\.network\.authn/.test(String(f.config.type_url ?? f.typeUrl ?? ''));
}

/**
 * Istio's `istio_authn` network filter (1.17–1.19) publishes the peer's URI SAN as filter state
 * `io.istio.peer_principal`, which Istio's RBAC principals then match.
 */
export function istioNetworkFilterEffect(f: SidecarFilter, req: RequestAttrs): AttributeEffect | null {
  const san = req.tls?.uriSans[0];
  if (!isIstioNetworkAuthn(f) || !san || (req.filterState && 'io.istio.peer_principal' in req.filterState)) return null;
  return {
    req: { ...req, filterState: { ...(req.filterState ?? {}), 'io.istio.peer_principal': san } },
    reason: `istio_authn sets filter state io.istio.peer_principal = ${san}`,
  };
}

/**
 * The legacy Istio (≤ 1.10) `istio_authn` HTTP filter publishes the peer identity, without `spiffe://`,
 * as dynamic metadata istio_authn["source.principal"] for the RBAC filter after it.
 */
export function istioHttpFilterEffect(f: SidecarFilter, req: RequestAttrs): AttributeEffect | null {
  const san = req.tls?.uriSans[0];
  if (f.name !== 'istio_authn' || !san || (req.metadata && 'istio_authn' in req.metadata)) return null;
  const principal = san.replace(/^spiffe:\/\//, '');
  return {
    req: { ...req, metadata: { ...(req.metadata ?? {}), istio_authn: { 'source.principal': principal, 'source.user': principal } } },
    reason: `istio_authn (HTTP) sets metadata istio_authn["source.principal"] = ${principal}`,
  };
}

/**
 * The ALPN an Istio sidecar client offers (its `istio.alpn` filter), assumed for a TLS request whose
 * evidence does not carry ALPN; the note says it was assumed.
 */
export function assumedIstioClientAlpn(isHttp: boolean, h2: boolean): { alpn: string[]; note: string } {
  if (isHttp) {
    const first = h2 ? 'istio-h2' : 'istio-http/1.1';
    return { alpn: [first, 'istio', h2 ? 'h2' : 'http/1.1'], note: `ALPN not given: assumed an Istio sidecar client's (${first})` };
  }
  return { alpn: ['istio-peer-exchange', 'istio'], note: "ALPN not given: assumed an Istio sidecar client's TCP ALPN (istio-peer-exchange, istio)" };
}

/** The ext_authz provider named by an Istio CUSTOM policy id, when the id carries it. */
export function customProviderOf(policyId: string | undefined): string | null {
  return policyId ? parsePolicyId(policyId).provider : null;
}
