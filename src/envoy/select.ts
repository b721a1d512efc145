/**
 * Which listener and filter chain a connection reaches, as Envoy (plus Istio's iptables) decides it.
 *
 * 1. Listener. With `opts.listener` that listener is used. Otherwise:
 *    - direction: `opts.direction`, else inbound when the destination IP is one of the node's IPs or no
 *      destination address is given, outbound when the node's IPs are known and do not include it;
 *      when the node's IPs are unknown: outbound if a (non-inbound) listener exists for exactly that ip:port
 *      (an Istio outbound service listener), else inbound if the dump has an inbound capture listener.
 *    - iptables: inbound connections are redirected to the inbound capture listener (`virtualInbound`,
 *      15006; Istio < 1.3 sent them to `virtual`, 15001), outbound ones to the outbound capture listener
 *      (`virtualOutbound` / `virtual`, 15001), except inbound ports istio-iptables leaves alone
 *      (15008, 15020, 15021, 15090), which reach the listener bound to that port.
 *    - Envoy hand-off: a capture listener with `use_original_dst: true` hands the connection to the
 *      listener whose address is exactly the original destination ip:port, else to the wildcard
 *      `0.0.0.0:<port>` / `[::]:<port>` listener, else keeps it (Envoy's `getBalancedHandlerByAddress`).
 *      `virtualInbound` has no `use_original_dst`: its chains match the original destination port directly.
 *    - without a capture listener (gateways, dumps without iptables), the bound listener at ip:port, then 0.0.0.0:port.
 *    Only active and static listeners take connections (warming/draining ones do not).
 * 2. Filter chain: with `filter_chain_matcher`, that xDS matcher (filter-chain-matcher.ts); otherwise
 *    Envoy's `FilterChainManagerImpl::findFilterChain` precedence, level by level, each level
 *    preferring the most specific entry and never backtracking to a less specific one once chosen:
 *    destination port (a port-specific subtree with no match falls to the default chain, not to the
 *    port-less chains) → destination IP (longest prefix) → server name (exact, then `*.suffix` from the
 *    longest suffix, then none) → transport protocol (exact, then none) → application protocols (the
 *    client's ALPN in its order, then none) → direct source IP (longest prefix) → source type (local /
 *    external, then any) → source IP (longest prefix) → source port (exact, then none); when nothing matches,
 *    `default_filter_chain`, else no chain (`filter_chain_not_found`).
 *    Transport protocol is what the listener's `tls_inspector` would detect ('raw_buffer' when it is absent or
 *    disabled for the port); ALPN comes from `conn.alpn` when `tls_inspector` (TLS) or `http_inspector`
 *    (plaintext) would read it. Absent ALPN is treated as "no ALPN" (never guessed) and said in the trace.
 */
import type { ConnectionAttrs } from '../model/attrs.js';
import type { ConfigDump, FilterChain, Listener, ListenerFilter, ProtoObject, CidrRange } from './model.js';
import { cidrContains, cidrKey, isLoopback, parseIp, type ParsedIp } from './ip.js';
import { isObj } from './tls.js';
import { canonicalFilterName } from './filters.js';
import { INBOUND_NOT_CAPTURED } from '../istio/ports.js';
import { selectWithChainMatcher } from './filter-chain-matcher.js';
import { maxOf } from '../model/arrays.js';

export interface SelectOptions {
  /** Use this listener (by name or display name) instead of choosing one. */
  listener?: string;
  /** Force the traffic direction used to pick the capture listener. */
  direction?: 'inbound' | 'outbound';
}

export interface ChainSelection {
  listener: Listener | null;
  chain: FilterChain | null;
  /**
   * `matched` (a filter_chain_match matched), `default_filter_chain`, `filter_chain_not_found` (Envoy's
   * response detail: a listener but no chain), `no_listener`, or `undecidable` (the listener uses an xDS
   * matcher tree or a match field we do not understand).
   */
  reason: 'matched' | 'default_filter_chain' | 'filter_chain_not_found' | 'no_listener' | 'undecidable';
  trace: string[];
  /**
   * Set when the chosen chain cannot complete the connection's transport: `tls-handshake-fails` when the chain
   * terminates TLS but the client speaks plaintext (legacy STRICT chains without a transport_protocol match),
   * `tls-not-terminated` when a TLS client lands on a chain that does not terminate TLS (pass-through).
   */
  transportMismatch?: 'tls-handshake-fails' | 'tls-not-terminated';
}

const live = (l: Listener) => l.state === 'active' || l.state === 'static';

function fmtAddr(a: string | undefined, p: number | undefined): string {
  const host = a === undefined ? '?' : a.includes(':') ? `[${a}]` : a;
  return `${host}:${p ?? '?'}`;
}

function isWildcard(addr: string): boolean {
  return addr === '0.0.0.0' || addr === '::' || addr === '[::]';
}

function findByAddress(listeners: Listener[], ip: string | undefined, port: number, pred: (l: Listener) => boolean = () => true): Listener | null {
  if (ip !== undefined) {
    const pip = parseIp(ip);
    const exact = listeners.find((l) => l.address && l.address.port === port && pred(l) && (l.address.address === ip || (pip && parseIp(l.address.address)?.value === pip.value && parseIp(l.address.address)?.family === pip.family)));
    if (exact) return exact;
  }
  return listeners.find((l) => l.address && l.address.port === port && isWildcard(l.address.address) && pred(l)) ?? null;
}

function inboundCapture(ls: Listener[]): Listener | null {
  return ls.find((l) => l.name === 'virtualInbound') ?? ls.find((l) => l.trafficDirection === 'INBOUND' && l.address !== null && !l.internal && l.address.port === 15006) ?? null;
}

function outboundCapture(ls: Listener[]): Listener | null {
  return (
    ls.find((l) => l.name === 'virtualOutbound') ??
    ls.find((l) => l.name === 'virtual' && l.useOriginalDst) ??
    ls.find((l) => l.useOriginalDst && l.address !== null && l.address.port === 15001) ??
    null
  );
}

export function selectListener(dump: ConfigDump, conn: ConnectionAttrs, opts: SelectOptions = {}): { listener: Listener | null; trace: string[] } {
  const trace: string[] = [];
  const ls = dump.listeners.filter(live);
  if (opts.listener !== undefined) {
    const l = ls.find((x) => x.name === opts.listener || x.displayName === opts.listener) ?? null;
    trace.push(l ? `listener ${l.displayName} chosen by name` : `no active listener named ${opts.listener}`);
    return { listener: l, trace };
  }
  const dst = conn.destination;
  const port = dst?.port;
  if (port === undefined) {
    const bound = ls.filter((l) => l.address !== null && !l.internal && l.bindToPort);
    if (bound.length === 1) {
      trace.push(`no destination port given: the config has one listener, ${bound[0]!.displayName} (${fmtAddr(bound[0]!.address?.address, bound[0]!.address?.port)})`);
      return { listener: bound[0]!, trace };
    }
    trace.push(`no destination port given: cannot choose a listener${bound.length > 1 ? ` (${bound.length} listeners)` : ''}`);
    return { listener: null, trace };
  }
  const nodeIps = dump.node?.ips ?? [];
  let direction = opts.direction;
  if (!direction) {
    if (dst?.address === undefined) {
      direction = 'inbound';
      trace.push(`no destination address given: assuming an inbound connection to this proxy's workload on port ${port}`);
    } else if (nodeIps.includes(dst.address)) {
      direction = 'inbound';
      trace.push(`destination ${dst.address} is this proxy's own IP: inbound`);
    } else if (nodeIps.length > 0) {
      direction = 'outbound';
      trace.push(`destination ${dst.address} is not one of this proxy's IPs (${nodeIps.join(', ')}): outbound`);
    } else {
      const exact = ls.find((l) => l.address && l.address.port === port && l.address.address === dst.address && l.trafficDirection !== 'INBOUND');
      if (exact) {
        direction = 'outbound';
        trace.push(`the dump does not say the proxy's IPs, but listener ${exact.displayName} is for ${fmtAddr(dst.address, port)}: outbound`);
      } else {
        direction = inboundCapture(ls) ? 'inbound' : 'outbound';
        trace.push(`the dump does not say the proxy's IPs: assuming ${direction}${direction === 'inbound' ? ' (the dump has an inbound capture listener)' : ''}`);
      }
    }
  } else trace.push(`direction ${direction} (given)`);
  const ip = dst?.address ?? (direction === 'inbound' ? (dump.node?.ip ?? undefined) : undefined);
  if (dst?.address === undefined && ip !== undefined) trace.push(`destination address taken as the node IP ${ip}`);

  let capture: Listener | null = null;
  if (direction === 'inbound') {
    if (INBOUND_NOT_CAPTURED.includes(port)) {
      const bound = findByAddress(ls, ip, port, (l) => l.bindToPort);
      trace.push(`inbound port ${port} is not redirected by istio-iptables: ${bound ? `reaches listener ${bound.displayName} bound to ${fmtAddr(bound.address?.address, bound.address?.port)}` : 'no listener is bound to it'}`);
      return { listener: bound, trace };
    }
    capture = inboundCapture(ls);
    if (capture) trace.push(`iptables redirects inbound traffic to ${capture.displayName} (${fmtAddr(capture.address?.address, capture.address?.port)})`);
    else {
      capture = outboundCapture(ls);
      if (capture) trace.push(`no inbound capture listener (Istio < 1.3): iptables redirects inbound traffic to ${capture.displayName} (${fmtAddr(capture.address?.address, capture.address?.port)})`);
    }
  } else {
    capture = outboundCapture(ls);
    if (capture) trace.push(`iptables redirects outbound traffic to ${capture.displayName} (${fmtAddr(capture.address?.address, capture.address?.port)})`);
  }
  if (!capture) {
    const bound = findByAddress(ls, ip, port, (l) => l.bindToPort);
    trace.push(bound ? `no capture listener: listener ${bound.displayName} is bound to ${fmtAddr(bound.address?.address, bound.address?.port)}` : `no capture listener and no listener bound to ${fmtAddr(ip, port)}`);
    return { listener: bound, trace };
  }
  if (capture.useOriginalDst) {
    const target = findByAddress(ls.filter((l) => l !== capture), ip, port);
    if (target) {
      trace.push(`${capture.displayName} has use_original_dst: hands the connection to ${target.displayName} (${fmtAddr(target.address?.address, target.address?.port)})`);
      return { listener: target, trace };
    }
    trace.push(`${capture.displayName} has use_original_dst but no listener is at ${fmtAddr(ip, port)} or 0.0.0.0:${port}: it keeps the connection`);
  } else {
    trace.push(`${capture.displayName} matches the original destination ${fmtAddr(ip, port)} in its own filter chains`);
  }
  return { listener: capture, trace };
}

// --- listener filters (what the inspectors would detect) -----------------------------------------

/** Evaluates a ListenerFilterChainMatchPredicate for the destination port; null = cannot evaluate. */
function predicateMatches(p: ProtoObject, port: number | undefined): boolean | null {
  if (p.any_match === true) return true;
  if (isObj(p.destination_port_range)) {
    if (port === undefined) return null;
    const start = Number(p.destination_port_range.start ?? 0);
    const end = Number(p.destination_port_range.end ?? 0);
    return port >= start && port < end;
  }
  if (isObj(p.not_match)) {
    const r = predicateMatches(p.not_match, port);
    return r === null ? null : !r;
  }
  for (const [k, isOr] of [['or_match', true], ['and_match', false]] as const) {
    const set = p[k];
    if (isObj(set) && Array.isArray(set.rules)) {
      let unknown = false;
      for (const r of set.rules) {
        const v = isObj(r) ? predicateMatches(r, port) : null;
        if (v === null) unknown = true;
        else if (v === isOr) return isOr;
      }
      return unknown ? null : !isOr;
    }
  }
  return null;
}

function inspectorActive(l: Listener, kind: 'tls_inspector' | 'http_inspector', port: number | undefined, trace: string[]): boolean {
  const f: ListenerFilter | undefined = l.listenerFilters.find((lf) => {
    const canonical = canonicalFilterName(lf.typeUrl);
    return canonical === `envoy.filters.listener.${kind}` || lf.name === `envoy.filters.listener.${kind}` || lf.name === `envoy.listener.${kind}`;
  });
  if (!f) return false;
  if (f.filterDisabled) {
    const d = predicateMatches(f.filterDisabled, port);
    if (d === true) {
      trace.push(`${kind} is disabled for port ${port}`);
      return false;
    }
    if (d === null) trace.push(`${kind} filter_disabled predicate could not be evaluated: assuming the inspector runs`);
  }
  return true;
}

// --- filter-chain match ---------------------------------------------------------------------------

type Level = (cands: FilterChain[]) => { next: FilterChain[]; note: string } | null;

/** Longest-prefix selection over the chains' CIDR lists (empty list = 0.0.0.0/0 and ::/0). */
function byLongestPrefix(cands: FilterChain[], get: (c: FilterChain) => CidrRange[], ip: ParsedIp | null, what: string): { next: FilterChain[]; note: string } | null {
  const entries: { key: string; len: number; chain: FilterChain; label: string }[] = [];
  for (const c of cands) {
    const ranges = get(c);
    if (ranges.length === 0) {
      entries.push({ key: '*', len: -1, chain: c, label: '*' });
      continue;
    }
    for (const r of ranges) {
      const label = `${r.addressPrefix}/${r.prefixLen}`;
      if (ip === null || cidrContains(r.addressPrefix, r.prefixLen, ip)) entries.push({ key: cidrKey(r.addressPrefix, r.prefixLen), len: r.prefixLen, chain: c, label });
    }
  }
  if (ip === null) {
    const anyRange = entries.some((e) => e.key !== '*');
    if (!anyRange) return { next: cands, note: '' };
    const catchAll = entries.filter((e) => e.key === '*' || e.len === 0);
    if (catchAll.length) return { next: unique(catchAll.map((e) => e.chain)), note: `${what} unknown: only chains without a ${what} constraint (or /0) can be assumed to match` };
    return null;
  }
  if (entries.length === 0) return null;
  // An empty list stands for 0.0.0.0/0 + ::/0; it merges with explicit /0 ranges of the same family.
  const norm = entries.map((e) => (e.key === '*' ? { ...e, key: `${ip.family}:0/0`, len: 0 } : e));
  const best = maxOf(norm.map((e) => e.len));
  const bestEntry = norm.find((e) => e.len === best)!;
  return { next: unique(norm.filter((e) => e.key === bestEntry.key).map((e) => e.chain)), note: best > 0 ? `${what} in ${bestEntry.label} (longest prefix)` : '' };
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function chainId(c: FilterChain): string {
  return c.isDefault ? `default_filter_chain${c.name ? ` (${c.name})` : ''}` : `filter_chains[${c.index}]${c.name ? ` (${c.name})` : ''}`;
}

export function selectFilterChain(dump: ConfigDump, conn: ConnectionAttrs, opts: SelectOptions = {}): ChainSelection {
  const { listener, trace } = selectListener(dump, conn, opts);
  if (!listener) return { listener: null, chain: null, reason: 'no_listener', trace };
  // Without a destination address an inbound connection is to the node's own IP; an outbound one's is unknown.
  return { listener, ...selectChainInListener(listener, conn, trace, opts.direction === 'outbound' ? undefined : (dump.node?.ip ?? undefined)) };
}

/** Chain selection within a given listener (exported for callers that already know the listener). */
export function selectChainInListener(
  listener: Listener,
  conn: ConnectionAttrs,
  trace: string[] = [],
  fallbackDestinationIp?: string,
): { chain: FilterChain | null; reason: ChainSelection['reason']; trace: string[]; transportMismatch?: ChainSelection['transportMismatch'] } {
  const port = conn.destination?.port;
  const dstIpStr = conn.destination?.address ?? fallbackDestinationIp;
  const dstIp = dstIpStr !== undefined ? parseIp(dstIpStr) : null;
  const inspectTls = inspectorActive(listener, 'tls_inspector', port, trace);
  const inspectHttp = inspectorActive(listener, 'http_inspector', port, trace);
  const isTls = conn.transportProtocol ? conn.transportProtocol === 'tls' : conn.tls !== undefined;
  let transport: string;
  if (conn.transportProtocol) {
    transport = conn.transportProtocol;
    trace.push(`transport protocol ${transport} (given)`);
  } else if (isTls && !inspectTls) {
    transport = 'raw_buffer';
    trace.push(`TLS connection, but no tls_inspector runs on this listener/port: Envoy detects transport raw_buffer`);
  } else {
    transport = isTls ? 'tls' : 'raw_buffer';
    trace.push(`transport protocol ${transport} (${isTls ? 'TLS facts present' : 'no TLS facts: plaintext'})`);
  }
  const sni = transport === 'tls' && inspectTls ? (conn.sni ?? '').toLowerCase() : '';
  if (conn.sni && !sni) trace.push('SNI ignored: no tls_inspector reads it for this connection');
  let alpn: string[] = [];
  if (!conn.alpn || conn.alpn.length === 0) {
    trace.push('no ALPN given: treated as no ALPN (not guessed)');
  } else if (transport === 'tls' && inspectTls) {
    alpn = conn.alpn;
    trace.push(`ALPN offered: ${alpn.join(', ')}`);
  } else if (transport !== 'tls' && inspectHttp) {
    alpn = conn.alpn;
    trace.push(`application protocol (http_inspector): ${alpn.join(', ')}`);
  } else {
    trace.push(`ALPN ${conn.alpn.join(', ')} ignored: no ${transport === 'tls' ? 'tls_inspector' : 'http_inspector'} reports it on this listener/port`);
  }
  const directSrc = conn.directRemote?.address ?? conn.source?.address;
  const src = conn.source?.address ?? conn.directRemote?.address;
  const directSrcIp = directSrc !== undefined ? parseIp(directSrc) : null;
  const srcIp = src !== undefined ? parseIp(src) : null;
  const srcPort = conn.source?.port;

  if (listener.filterChainMatcher) {
    trace.push(`listener ${listener.displayName} selects chains with filter_chain_matcher (filter_chain_match fields are ignored)`);
    const sel = selectWithChainMatcher(
      listener,
      {
        destinationIp: dstIpStr,
        destinationPort: port,
        sourceIp: src,
        sourcePort: srcPort,
        directSourceIp: directSrc,
        sourceLocal: srcIp === null ? undefined : isLoopback(srcIp) || (dstIp !== null && srcIp.family === dstIp.family && srcIp.value === dstIp.value),
        serverName: sni,
        transportProtocol: transport,
        applicationProtocols: alpn,
        ...(conn.filterState ? { filterState: conn.filterState } : {}),
      },
      trace,
    );
    if (!sel.chain) return { chain: null, reason: sel.reason, trace };
    return withTransportCheck(sel.chain, sel.reason, isTls, trace);
  }

  const levels: [string, Level][] = [
    [
      'destination IP',
      (c) => byLongestPrefix(c, (x) => x.match.prefixRanges, dstIp, 'destination IP'),
    ],
    [
      'server name',
      (c) => {
        const has = (x: FilterChain, n: string) => x.match.serverNames.some((s) => (s.startsWith('*.') ? s.slice(1) : s) === n);
        if (sni) {
          const exact = c.filter((x) => has(x, sni));
          if (exact.length) return { next: exact, note: `server name ${sni} (exact)` };
          for (let pos = sni.indexOf('.', 1); pos !== -1 && pos < sni.length - 1; pos = sni.indexOf('.', pos + 1)) {
            const w = sni.slice(pos);
            const wild = c.filter((x) => has(x, w));
            if (wild.length) return { next: wild, note: `server name ${sni} matches *${w}` };
          }
        }
        const none = c.filter((x) => x.match.serverNames.length === 0);
        return none.length ? { next: none, note: '' } : null;
      },
    ],
    [
      'transport protocol',
      (c) => {
        const exact = c.filter((x) => x.match.transportProtocol === transport);
        if (exact.length) return { next: exact, note: `transport_protocol ${transport}` };
        const none = c.filter((x) => x.match.transportProtocol === '');
        return none.length ? { next: none, note: '' } : null;
      },
    ],
    [
      'application protocols',
      (c) => {
        for (const a of alpn) {
          const hit = c.filter((x) => x.match.applicationProtocols.includes(a));
          if (hit.length) return { next: hit, note: `application protocol ${a}` };
        }
        const none = c.filter((x) => x.match.applicationProtocols.length === 0);
        return none.length ? { next: none, note: '' } : null;
      },
    ],
    ['direct source IP', (c) => byLongestPrefix(c, (x) => x.match.directSourcePrefixRanges, directSrcIp, 'direct source IP')],
    [
      'source type',
      (c) => {
        const local = c.filter((x) => x.match.sourceType === 'SAME_IP_OR_LOOPBACK');
        const external = c.filter((x) => x.match.sourceType === 'EXTERNAL');
        if (local.length || external.length) {
          if (srcIp === null) return { next: c.filter((x) => x.match.sourceType === 'ANY'), note: 'source address unknown: only source_type ANY chains assumed' };
          const isLocal = isLoopback(srcIp) || (dstIp !== null && srcIp.family === dstIp.family && srcIp.value === dstIp.value);
          if (isLocal && local.length) return { next: local, note: 'source is local (same IP or loopback)' };
          if (!isLocal && external.length) return { next: external, note: 'source is external' };
        }
        const any = c.filter((x) => x.match.sourceType === 'ANY');
        return any.length ? { next: any, note: '' } : null;
      },
    ],
    ['source IP', (c) => byLongestPrefix(c, (x) => x.match.sourcePrefixRanges, srcIp, 'source IP')],
    [
      'source port',
      (c) => {
        if (srcPort !== undefined) {
          const hit = c.filter((x) => x.match.sourcePorts.includes(srcPort));
          if (hit.length) return { next: hit, note: `source port ${srcPort}` };
        }
        const none = c.filter((x) => x.match.sourcePorts.length === 0);
        return none.length ? { next: none, note: srcPort === undefined && c.some((x) => x.match.sourcePorts.length) ? 'source port unknown: only chains without source_ports assumed' : '' } : null;
      },
    ],
  ];

  const fallback = (why: string) => {
    if (listener.defaultFilterChain) {
      trace.push(`${why}: default_filter_chain${listener.defaultFilterChain.name ? ` (${listener.defaultFilterChain.name})` : ''}`);
      return { chain: listener.defaultFilterChain, reason: 'default_filter_chain' as const, trace };
    }
    trace.push(`${why}, and the listener has no default_filter_chain: Envoy closes the connection (filter_chain_not_found)`);
    return { chain: null, reason: 'filter_chain_not_found' as const, trace };
  };

  const runLevels = (start: FilterChain[]): FilterChain[] | null => {
    let cands = start;
    for (const [name, level] of levels) {
      const r = level(cands);
      if (!r || r.next.length === 0) {
        trace.push(`no chain matches on ${name}`);
        return null;
      }
      if (r.note) trace.push(r.note);
      cands = r.next;
    }
    return cands;
  };

  const chains = listener.filterChains;
  let result: FilterChain[] | null;
  const portSpecific = port !== undefined ? chains.filter((c) => c.match.destinationPort === port) : [];
  if (portSpecific.length) {
    trace.push(`destination port ${port} has its own filter chains (${portSpecific.length})`);
    result = runLevels(portSpecific);
    if (!result) return fallback(`no chain for destination port ${port} matches (Envoy does not fall back to port-less chains)`);
  } else {
    const portless = chains.filter((c) => c.match.destinationPort === null);
    if (port === undefined && chains.some((c) => c.match.destinationPort !== null)) trace.push('destination port unknown: only chains without destination_port considered');
    result = portless.length ? runLevels(portless) : null;
    if (!result) return fallback(portless.length ? 'no chain matches' : `no chain for destination port ${port ?? '?'}`);
  }
  const chain = result[0]!;
  if (result.length > 1) trace.push(`${result.length} chains remain after every level (some attributes unknown): taking the first, ${chainId(chain)}`);
  if (chain.unknownMatchFields.length) {
    trace.push(`${chainId(chain)} has filter_chain_match fields not understood (${chain.unknownMatchFields.join(', ')}): selection undecidable`);
    return { chain, reason: 'undecidable', trace };
  }
  trace.push(`selected ${chainId(chain)} of ${listener.displayName}`);
  return withTransportCheck(chain, 'matched', isTls, trace);
}

/** Whether the chosen chain can complete the client's transport (TLS handshake or pass-through). */
function withTransportCheck(
  chain: FilterChain,
  reason: ChainSelection['reason'],
  isTls: boolean,
  trace: string[],
): { chain: FilterChain; reason: ChainSelection['reason']; trace: string[]; transportMismatch?: ChainSelection['transportMismatch'] } {
  const out: { chain: FilterChain; reason: ChainSelection['reason']; trace: string[]; transportMismatch?: ChainSelection['transportMismatch'] } = { chain, reason, trace };
  if (chain.transportSocket?.tls && !isTls) {
    trace.push('the chain terminates TLS but the client speaks plaintext: the TLS handshake fails and the connection is closed');
    out.transportMismatch = 'tls-handshake-fails';
  } else if (!chain.transportSocket?.tls && isTls) {
    trace.push('the chain does not terminate TLS: the TLS stream is passed through (no peer certificate is seen by Envoy)');
    out.transportMismatch = 'tls-not-terminated';
  }
  return out;
}
