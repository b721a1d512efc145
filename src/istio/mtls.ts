/**
 * Inbound mTLS mode per port, derived from the filter chains that actually exist (not from
 * PeerAuthentication objects, which the dump does not carry).
 *
 * How Istio renders modes (research/istio.md §2.4, pilot `filterchain_options.go`):
 *  - STRICT: every chain for the port terminates TLS and requires a client certificate;
 *  - PERMISSIVE: mTLS chains plus `raw_buffer` (plaintext) twins, and a `tls` pass-through chain for
 *    non-mesh TLS clients;
 *  - DISABLE: only chains that accept plaintext (raw_buffer, or no transport constraint) and do not terminate TLS.
 * Inbound listeners considered: the capture listener `virtualInbound` (INBOUND + use_original_dst; its chains
 * are grouped by `destination_port`, chains without one form the catch-all `*` group; the 15006
 * blackhole chain is skipped), legacy per-IP inbound listeners bound to one of the node's IPs (Istio ≤ 1.4),
 * and the HBONE terminator `connect_terminate` (15008). Internal listeners (`main_internal`) sit
 * behind HBONE and are not classified on their own.
 */
import type { ConfigDump, FilterChain, Listener } from '../envoy/model.js';

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE' | 'UNKNOWN';

/** What one chain does with the connection's transport. */
export type ChainSecurity =
  /** terminates TLS and requires a client certificate */
  | 'mtls'
  /** terminates TLS without requiring a client certificate */
  | 'tls'
  /** matches TLS but does not terminate it (pass-through to the app) */
  | 'tls-passthrough'
  /** accepts plaintext (raw_buffer match) */
  | 'plaintext'
  /** no transport constraint and no TLS termination: plaintext and TLS both pass through */
  | 'any-passthrough';

export interface ChainMtls {
  name: string;
  index: number;
  security: ChainSecurity;
  transportProtocol: string;
  applicationProtocols: string[];
  requireClientCertificate: boolean;
  jsonPath: string;
}

export interface PortMtls {
  listener: string;
  /** Destination port, or '*' for the catch-all chains of virtualInbound. */
  port: number | '*';
  mode: MtlsMode;
  /** True when this port's chains give a different mode than the listener's catch-all (a per-port override). */
  override: boolean;
  /** HBONE (15008) termination. */
  hbone: boolean;
  chains: ChainMtls[];
  note: string;
}

export function chainSecurity(c: FilterChain): ChainSecurity {
  const tls = c.transportSocket?.tls ?? null;
  const tp = c.match.transportProtocol;
  if (tls) return tls.requireClientCertificate ? 'mtls' : 'tls';
  if (tp === 'tls') return 'tls-passthrough';
  if (tp === 'raw_buffer') return 'plaintext';
  return 'any-passthrough';
}

function chainInfo(c: FilterChain): ChainMtls {
  return {
    name: c.name,
    index: c.index,
    security: chainSecurity(c),
    transportProtocol: c.match.transportProtocol,
    applicationProtocols: c.match.applicationProtocols,
    requireClientCertificate: c.transportSocket?.tls?.requireClientCertificate ?? false,
    jsonPath: c.jsonPath,
  };
}

/** Mode of a group of chains that serve the same port. */
export function modeOf(chains: ChainMtls[]): { mode: MtlsMode; note: string } {
  const has = (s: ChainSecurity) => chains.some((c) => c.security === s);
  const mtls = has('mtls');
  const plain = has('plaintext') || has('any-passthrough');
  const oneWay = has('tls');
  if (chains.length === 0) return { mode: 'UNKNOWN', note: 'no filter chains' };
  if (mtls && !plain && !oneWay && !has('tls-passthrough')) return { mode: 'STRICT', note: 'every chain terminates TLS and requires a client certificate' };
  if (mtls && plain) {
    const extra = has('tls-passthrough') ? '; non-mesh TLS passes through untouched' : '';
    return { mode: 'PERMISSIVE', note: `mTLS chains and plaintext chains both accept connections${extra}` };
  }
  if (!mtls && !oneWay && plain) {
    const pt = has('any-passthrough') || has('tls-passthrough') ? ' (TLS, if any, passes through without termination)' : '';
    return { mode: 'DISABLE', note: `no chain terminates TLS: plaintext accepted${pt}` };
  }
  if (mtls && has('tls-passthrough')) return { mode: 'UNKNOWN', note: 'mTLS chains plus a TLS pass-through chain without a plaintext chain: not an Istio mode' };
  if (oneWay) return { mode: 'UNKNOWN', note: 'TLS is terminated without requiring a client certificate (one-way TLS), not an Istio inbound mode' };
  return { mode: 'UNKNOWN', note: 'only TLS pass-through chains' };
}

/** The inbound capture listener (`virtualInbound`, 15006) if the dump has one. */
export function inboundCaptureListener(dump: ConfigDump): Listener | null {
  const live = dump.listeners.filter((l) => l.state === 'active' || l.state === 'static');
  return (
    live.find((l) => l.name === 'virtualInbound') ??
    live.find((l) => l.trafficDirection === 'INBOUND' && l.useOriginalDst && l.address !== null && !l.internal) ??
    null
  );
}

/** Legacy per-IP inbound listeners: bound to one of the node's own IPs. */
export function perIpInboundListeners(dump: ConfigDump): Listener[] {
  const ips = new Set(dump.node?.ips ?? []);
  return dump.listeners.filter(
    (l) => (l.state === 'active' || l.state === 'static') && l.address !== null && ips.has(l.address.address) && l.name !== 'virtualInbound',
  );
}

function isBlackhole(c: FilterChain, l: Listener): boolean {
  return c.name === 'virtualInbound-blackhole' || (l.address !== null && c.match.destinationPort === l.address.port);
}

export function inboundMtlsModes(dump: ConfigDump): PortMtls[] {
  const out: PortMtls[] = [];
  const vi = inboundCaptureListener(dump);
  if (vi) {
    const groups = new Map<number | '*', ChainMtls[]>();
    for (const c of [...vi.filterChains, ...(vi.defaultFilterChain ? [vi.defaultFilterChain] : [])]) {
      if (isBlackhole(c, vi)) continue;
      const key = c.match.destinationPort ?? '*';
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(chainInfo(c));
    }
    const catchAll = groups.has('*') ? modeOf(groups.get('*')!).mode : null;
    const keys = [...groups.keys()].sort((a, b) => (a === '*' ? -1 : b === '*' ? 1 : a - b));
    for (const k of keys) {
      const chains = groups.get(k)!;
      const { mode, note } = modeOf(chains);
      out.push({ listener: vi.displayName, port: k, mode, override: k !== '*' && catchAll !== null && catchAll !== mode, hbone: false, chains, note });
    }
  }
  for (const l of perIpInboundListeners(dump)) {
    const chains = [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])].map(chainInfo);
    const { mode, note } = modeOf(chains);
    out.push({ listener: l.displayName, port: l.address!.port, mode, override: false, hbone: false, chains, note });
  }
  const live = dump.listeners.filter((l) => l.state === 'active' || l.state === 'static');
  for (const l of live) {
    if (l.name !== 'connect_terminate') continue;
    const chains = [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])].map(chainInfo);
    const { mode, note } = modeOf(chains);
    out.push({ listener: l.displayName, port: l.address?.port ?? 15008, mode, override: false, hbone: true, chains, note: `HBONE (CONNECT over mTLS): ${note}` });
  }
  return out;
}
