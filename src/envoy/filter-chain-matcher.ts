/**
 * Filter-chain selection with a listener's `filter_chain_matcher` (FilterChainManagerImpl::
 * findFilterChainUsingMatcher): an xDS matcher over the connection's network inputs whose actions name a
 * filter chain (`google.protobuf.StringValue`, FilterChainNameAction). When the matcher is set the chains'
 * `filter_chain_match` fields are ignored. No match, or a name none of the listener's chains has →
 * `default_filter_chain`, or no chain (Envoy rejects the connection).
 *
 * Inputs as Envoy reads them (source/extensions/matching/network/common/inputs.h and
 * application_protocol/config.cc): destination/source IP (IPv6 without brackets) and port, direct source IP,
 * `SourceTypeInput` ("local" for the same IP or loopback, otherwise no value), server name (no value when
 * empty), transport protocol (what the listener filters detected, `raw_buffer` by default), application
 * protocols (`'h2','http/1.1'`), filter state (known only where the evidence or a tunnel's set_filter_state
 * gives the key; otherwise unknown).
 */
import type { TraceNode } from '../model/decision.js';
import type { JsonValue } from '../model/attrs.js';
import type { FilterChain, Listener } from './model.js';
import { RbacConfigError } from '../rbac/errors.js';
import { asObj, jp, optStr, type Obj } from '../rbac/cfg.js';
import { formatIp, parseIp } from '../rbac/cidr.js';
import { UNKNOWN_INPUT, parseXdsMatcher, protectMatchMaps, type XdsInput, type XdsMatcher } from './xds-matcher.js';

/** What the matcher can read about a connection; `undefined` = the evidence does not say. */
export interface ChainMatchData {
  destinationIp?: string;
  destinationPort?: number;
  sourceIp?: string;
  sourcePort?: number;
  directSourceIp?: string;
  /** Source is the destination's own IP or loopback (SourceTypeInput "local"). */
  sourceLocal?: boolean;
  /** '' = no SNI. */
  serverName?: string;
  transportProtocol: string;
  /** [] = no ALPN. */
  applicationProtocols?: string[];
  /**
   * Filter state shared with this connection (e.g. by the HCM that terminated a CONNECT tunnel into an
   * internal listener), string-serialized; a key that is not here is unknown.
   */
  filterState?: Record<string, JsonValue>;
}

const NET = 'envoy.extensions.matching.common_inputs.network.v3.';

const canonicalIp = (s: string | undefined): string | undefined => {
  if (s === undefined) return undefined;
  const ip = parseIp(s.replace(/^\[|\]$/g, ''));
  return ip ? formatIp(ip) : s;
};

function input(type: string, cfg: Obj, tp: string): XdsInput<ChainMatchData> {
  const known = <T>(label: string, f: (d: ChainMatchData) => T | undefined, show: (v: T) => string | null): XdsInput<ChainMatchData> => ({
    label,
    get: (d) => {
      const v = f(d);
      return v === undefined ? UNKNOWN_INPUT : show(v);
    },
  });
  switch (type) {
    case `${NET}DestinationIPInput`:
      return known('destination.ip', (d) => canonicalIp(d.destinationIp), (v) => v);
    case `${NET}DestinationPortInput`:
      return known('destination.port', (d) => d.destinationPort, (v) => String(v));
    case `${NET}SourceIPInput`:
      return known('source.ip', (d) => canonicalIp(d.sourceIp), (v) => v);
    case `${NET}SourcePortInput`:
      return known('source.port', (d) => d.sourcePort, (v) => String(v));
    case `${NET}DirectSourceIPInput`:
      return known('source.ip (direct)', (d) => canonicalIp(d.directSourceIp ?? d.sourceIp), (v) => v);
    case `${NET}SourceTypeInput`:
      return known('source type', (d) => d.sourceLocal, (v) => (v ? 'local' : null));
    case `${NET}ServerNameInput`:
      return known('sni', (d) => d.serverName, (v) => (v === '' ? null : v));
    case `${NET}TransportProtocolInput`:
      return known('transport protocol', (d) => d.transportProtocol, (v) => (v === '' ? null : v));
    case `${NET}ApplicationProtocolInput`:
      return known('application protocols', (d) => d.applicationProtocols, (v) => (v.length ? `'${v.join("','")}'` : null));
    case `${NET}FilterStateInput`: {
      // FilterStateInput: the object's serializeAsString(); no object under the key → no value. Offline we only
      // know the keys the evidence (or a tunnel's set_filter_state) gives.
      const key = optStr(cfg, 'key', tp) ?? '';
      return {
        label: `filter state ${key}`,
        get: (d) => {
          const v = d.filterState?.[key];
          if (v === undefined) return UNKNOWN_INPUT;
          return typeof v === 'string' ? v : JSON.stringify(v);
        },
      };
    }
    case `${NET}NetworkNamespaceInput`:
      return { label: 'network namespace', get: () => UNKNOWN_INPUT };
    default:
      throw new RbacConfigError(jp(tp, '@type'), `unsupported filter chain matcher input 'type.googleapis.com/${type}'`);
  }
}

function action(v: unknown, path: string): string {
  const o = asObj(v, path);
  const tp = jp(path, 'typed_config');
  const cfg = asObj(o.typed_config, tp);
  const type = String(cfg['@type'] ?? '').replace(/^.*\//, '');
  if (type !== 'google.protobuf.StringValue') throw new RbacConfigError(jp(tp, '@type'), `Didn't find a registered implementation for 'type.googleapis.com/${type}' (a filter_chain_matcher action is a google.protobuf.StringValue naming a filter chain)`);
  return typeof cfg.value === 'string' ? cfg.value : '';
}

const cache = new WeakMap<object, XdsMatcher<ChainMatchData, string> | Error>();

function compiled(l: Listener): XdsMatcher<ChainMatchData, string> | Error {
  const raw = l.filterChainMatcher!;
  let m = cache.get(raw);
  if (!m) {
    try {
      m = parseXdsMatcher<ChainMatchData, string>(protectMatchMaps(raw), `${l.jsonPath}.filter_chain_matcher`, {
        what: 'filter_chain_matcher',
        input,
        action,
        describeAction: (a) => `filter chain ${JSON.stringify(a)}`,
        sameAction: (a, b) => a === b,
      });
    } catch (e) {
      if (!(e instanceof RbacConfigError)) throw e;
      m = e;
    }
    cache.set(raw, m);
  }
  return m;
}

function flatten(nodes: TraceNode[], out: string[]): void {
  for (const n of nodes) {
    if (n.children?.length) flatten(n.children, out);
    else if (n.node !== 'action') out.push(`filter_chain_matcher: ${n.detail}`);
  }
}

/** Every chain name the matcher can choose (for `policies` and lints). */
export function matcherChainNames(l: Listener): string[] {
  const m = l.filterChainMatcher ? compiled(l) : null;
  return m && !(m instanceof Error) ? [...new Set(m.actions)] : [];
}

/**
 * Chooses the chain with the listener's filter_chain_matcher. Returns `undecidable` when the matcher reads
 * something the evidence does not carry (and the branches differ) or cannot be parsed.
 */
export function selectWithChainMatcher(
  l: Listener,
  data: ChainMatchData,
  trace: string[],
): { chain: FilterChain | null; reason: 'matched' | 'default_filter_chain' | 'filter_chain_not_found' | 'undecidable' } {
  const m = compiled(l);
  if (m instanceof Error) {
    trace.push(`filter_chain_matcher not understood (${m.message}): selection undecidable`);
    return { chain: null, reason: 'undecidable' };
  }
  const noChain = (why: string): { chain: FilterChain | null; reason: 'default_filter_chain' | 'filter_chain_not_found' } => {
    if (l.defaultFilterChain) {
      trace.push(`${why}: default_filter_chain${l.defaultFilterChain.name ? ` (${l.defaultFilterChain.name})` : ''}`);
      return { chain: l.defaultFilterChain, reason: 'default_filter_chain' };
    }
    trace.push(`${why}, and the listener has no default_filter_chain: Envoy closes the connection (filter_chain_not_found)`);
    return { chain: null, reason: 'filter_chain_not_found' };
  };
  const steps: TraceNode[] = [];
  const out = m.eval(data, steps);
  flatten(steps, trace);
  switch (out.t) {
    case 'match': {
      const name = out.action;
      const chain = l.filterChains.find((c) => c.name === name);
      if (chain) {
        trace.push(`filter_chain_matcher chose filter chain ${JSON.stringify(name)}`);
        return { chain, reason: 'matched' };
      }
      // Envoy's docs: a name no chain has fails the match; the default chain is used, or the connection rejected.
      return noChain(`filter_chain_matcher chose filter chain ${JSON.stringify(name)}, which the listener does not have`);
    }
    case 'undecidable':
      trace.push(`filter_chain_matcher: ${out.reason}`);
      return { chain: null, reason: 'undecidable' };
    default:
      return noChain('filter_chain_matcher matched nothing');
  }
}
