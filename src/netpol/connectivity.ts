/**
 * The connectivity map: for every ordered pair of workloads (and the external IP ranges that the
 * policies' ipBlocks cut out of the address space), the set of connections NetworkPolicy allows —
 * the question np-guard/netpol-analyzer's `list` answers, in its vocabulary. Same semantics as
 * NetpolEngine.decide, computed as connection sets (union over rules, intersection of the source's
 * egress and the destination's ingress) with the peer matches of every rule computed once.
 */
import type { ClusterPod, L4Protocol } from '../model/cluster.js';
import { namespaceLabels } from '../model/cluster.js';
import { ConnSet } from './connset.js';
import { LITERAL, NetpolEngine, type Interpretation, type Peer } from './engine.js';
import { ALL_V4, ALL_V6, atomize, formatRange, parseCidr, parseIpValue, rangeContains, rangeCovers, type IpRange } from './ipnet.js';
import { labelSelectorMatches } from './selector.js';
import type { AdminEngine } from './admin.js';
import { effectivePolicyTypes, type NetworkPolicy, type NetworkPolicyPeer, type NetworkPolicyPort } from './types.js';

export interface MapPeer {
  /** `ns/name` for a workload, `lo-hi` for an external range. */
  id: string;
  /** np-guard's display form: `ns/name[Kind]` or `lo-hi[External]`. */
  display: string;
  kind: 'workload' | 'external';
  workloadKind?: string;
}

export interface ConnectivityPair {
  src: MapPeer;
  dst: MapPeer;
  conns: ConnSet;
  /** Set when the plugin's reading of ipBlock-over-pods or hostNetwork pods changes the answer: the other reading's set. */
  alternative?: { conns: ConnSet; reason: string };
}

export interface ConnectivityMap {
  peers: MapPeer[];
  /** Every ordered pair of distinct peers (external ranges only pair with workloads). */
  pairs: ConnectivityPair[];
  notes: string[];
}

type Other = { kind: 'pod'; pod: ClusterPod; index: number } | { kind: 'range'; range: IpRange };

interface CompiledRule {
  key: number;
  policy: NetworkPolicy;
  peers: NetworkPolicyPeer[];
  ports: NetworkPolicyPort[];
  staticPorts: ConnSet | null;
}

function portsToConns(ports: NetworkPolicyPort[], dst: ClusterPod | null): ConnSet {
  if (ports.length === 0) return ConnSet.ALL;
  let c = ConnSet.NONE;
  for (const p of ports) {
    const proto: L4Protocol = p.protocol ?? 'TCP';
    if (p.port === undefined) c = c.union(ConnSet.protocol(proto));
    else if (typeof p.port === 'number') c = c.union(ConnSet.ports(proto, p.port, p.endPort ?? p.port));
    else if (dst) {
      for (const cp of dst.ports) if (cp.name === p.port && cp.protocol === proto) c = c.union(ConnSet.ports(proto, cp.containerPort));
    }
  }
  return c;
}

export interface MapOptions {
  /** Include pairs whose connection set is empty (default false, like np-guard). */
  includeEmpty?: boolean;
  /** Hears the pairs evaluated of all, before the first and after each source (the CLI's progress line). */
  onPairs?: (done: number, total: number) => void;
}

export function connectivityMap(engine: NetpolEngine, opts: MapOptions = {}, admin?: AdminEngine): ConnectivityMap {
  const tiers = admin && !admin.empty ? admin : null;
  const cluster = engine.cluster;
  const notes: string[] = [];
  // Workloads: the first pod of each (namespace, kind, name) represents it.
  const reps: ClusterPod[] = [];
  const seen = new Map<string, ClusterPod>();
  for (const p of cluster.pods) {
    if (p.phase === 'Succeeded' || p.phase === 'Failed') continue;
    const k = `${p.namespace}/${p.workload.kind}/${p.workload.name}`;
    const first = seen.get(k);
    if (first) {
      if (JSON.stringify(first.labels) !== JSON.stringify(p.labels)) notes.push(`pods of ${p.namespace}/${p.workload.name}[${p.workload.kind}] carry different labels: ${first.name} represents the workload`);
      continue;
    }
    seen.set(k, p);
    reps.push(p);
  }
  const wpeers: MapPeer[] = reps.map((p) => ({ id: `${p.namespace}/${p.workload.name}`, display: `${p.namespace}/${p.workload.name}[${p.workload.kind}]`, kind: 'workload', workloadKind: p.workload.kind }));

  // External atoms: ingress ipBlocks cut the source space, egress ipBlocks the destination space.
  const cuts = { ingress: [] as IpRange[], egress: [] as IpRange[] };
  let v6 = false;
  for (const pol of engine.policies) {
    for (const [dir, rules] of [['ingress', pol.spec.ingress ?? []], ['egress', pol.spec.egress ?? []]] as const) {
      for (const r of rules) {
        const peers = ('from' in r ? r.from : 'to' in r ? (r as { to?: NetworkPolicyPeer[] }).to : undefined) ?? [];
        for (const pe of peers) {
          if (!pe.ipBlock) continue;
          const c = parseCidr(pe.ipBlock.cidr)!;
          if (c.family === 6) v6 = true;
          cuts[dir].push(c, ...(pe.ipBlock.except ?? []).map((e) => parseCidr(e)!));
        }
      }
    }
  }
  const spaces = v6 ? [ALL_V4, ALL_V6] : [ALL_V4];
  const srcAtoms = spaces.flatMap((s) => atomize(s, cuts.ingress));
  const dstAtoms = spaces.flatMap((s) => atomize(s, cuts.egress));
  const extPeer = (r: IpRange): MapPeer => ({ id: formatRange(r), display: `${formatRange(r)}[External]`, kind: 'external' });

  // Compile rules with a stable key.
  const ruleKey = new Map<object, CompiledRule>();
  let nextKey = 0;
  const compiled = (pol: NetworkPolicy, rule: object, peers: NetworkPolicyPeer[], ports: NetworkPolicyPort[]): CompiledRule => {
    let c = ruleKey.get(rule);
    if (!c) {
      const named = ports.some((p) => typeof p.port === 'string');
      c = { key: nextKey++, policy: pol, peers, ports, staticPorts: named ? null : portsToConns(ports, null) };
      ruleKey.set(rule, c);
    }
    return c;
  };
  const rulesFor = (pod: ClusterPod, dir: 'ingress' | 'egress', interp: Interpretation): CompiledRule[] | null => {
    const isolating = engine.isolating(pod, dir === 'ingress' ? 'Ingress' : 'Egress', interp);
    if (isolating.length === 0) return null;
    const out: CompiledRule[] = [];
    for (const pol of isolating) {
      for (const r of (dir === 'ingress' ? pol.spec.ingress : pol.spec.egress) ?? []) {
        const peers = (dir === 'ingress' ? (r as { from?: NetworkPolicyPeer[] }).from : (r as { to?: NetworkPolicyPeer[] }).to) ?? [];
        out.push(compiled(pol, r, peers, r.ports ?? []));
      }
    }
    return out;
  };

  // Peer match with flags for interpretation-dependent facts.
  let usedAlt = false;
  const peerMatch = (pe: NetworkPolicyPeer, policyNs: string, other: Other, interp: Interpretation): boolean => {
    if (pe.ipBlock) {
      const cidr = parseCidr(pe.ipBlock.cidr)!;
      const ex = (pe.ipBlock.except ?? []).map((e) => parseCidr(e)!);
      if (other.kind === 'range') return rangeCovers(cidr, other.range) && !ex.some((e) => rangeCovers(e, other.range));
      let ok = false;
      for (const s of other.pod.ips) {
        const ip = parseIpValue(s);
        if (ip && rangeContains(cidr, ip) && !ex.some((e) => rangeContains(e, ip))) ok = true;
      }
      if (ok && !other.pod.hostNetwork) {
        usedAlt = true;
        return interp.ipBlockMatchesPods;
      }
      return ok;
    }
    if (other.kind !== 'pod') return false;
    if (other.pod.hostNetwork) {
      usedAlt = true;
      if (!interp.hostNetworkAsPod) return false;
    }
    if (pe.namespaceSelector ? !labelSelectorMatches(pe.namespaceSelector, namespaceLabels(cluster, other.pod.namespace)) : other.pod.namespace !== policyNs) return false;
    return pe.podSelector ? labelSelectorMatches(pe.podSelector, other.pod.labels) : true;
  };
  // Selector peers of a rule match pods independently of the subject: cache per (rule, peer pod).
  const podMatchCache = new Map<number, Int8Array>();
  const ruleMatchesPod = (r: CompiledRule, other: Other & { kind: 'pod' }, interp: Interpretation): boolean => {
    if (r.peers.length === 0) return true;
    if (interp !== LITERAL) return r.peers.some((pe) => peerMatch(pe, r.policy.namespace, other, interp));
    let arr = podMatchCache.get(r.key);
    if (!arr) podMatchCache.set(r.key, (arr = new Int8Array(reps.length)));
    const v = arr[other.index]!;
    if (v !== 0) return v > 0;
    const before = usedAlt;
    usedAlt = false;
    const ok = r.peers.some((pe) => peerMatch(pe, r.policy.namespace, other, interp));
    // Interpretation-dependent matches are not cached, so usedAlt is raised every time.
    if (!usedAlt) arr[other.index] = ok ? 1 : -1;
    usedAlt ||= before;
    return ok;
  };
  const ruleMatches = (r: CompiledRule, other: Other, interp: Interpretation) =>
    other.kind === 'pod' ? ruleMatchesPod(r, other, interp) : r.peers.length === 0 || r.peers.some((pe) => peerMatch(pe, r.policy.namespace, other, interp));

  // Union of the matched rules' ports, cached per rule list by the bitmask of matched rules
  // (and the destination, when a named port makes the set depend on it).
  const unionCache = new WeakMap<CompiledRule[], Map<number | string, ConnSet>>();
  const matchedBuf: CompiledRule[] = [];
  const direction = (rules: CompiledRule[] | null, other: Other, dstPod: ClusterPod | null, dstIndex: number, interp: Interpretation): ConnSet => {
    if (rules === null) return ConnSet.ALL;
    let mask = 0;
    let skey = '';
    const wide = rules.length > 30;
    let named = false;
    matchedBuf.length = 0;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      if (ruleMatches(r, other, interp)) {
        if (wide) skey += `${i},`;
        else mask |= 1 << i;
        matchedBuf.push(r);
        if (!r.staticPorts) named = true;
      }
    }
    if (matchedBuf.length === 0) return ConnSet.NONE;
    const key: number | string = wide ? `${skey}@${named ? dstIndex : ''}` : named ? mask * 65536 + dstIndex + 1 : mask * 65536;
    let cache = unionCache.get(rules);
    if (!cache) unionCache.set(rules, (cache = new Map()));
    let c = cache.get(key);
    if (!c) {
      c = ConnSet.NONE;
      for (const r of matchedBuf) c = c.union(r.staticPorts ?? portsToConns(r.ports, dstPod));
      cache.set(key, c);
    }
    return c;
  };
  // Intersections of the (identity-stable, cached) direction sets.
  const meet = new Map<ConnSet, Map<ConnSet, ConnSet>>();
  const intersect = (a: ConnSet, b: ConnSet): ConnSet => {
    if (a === ConnSet.ALL) return b;
    if (b === ConnSet.ALL) return a;
    let m = meet.get(a);
    if (!m) meet.set(a, (m = new Map()));
    let c = m.get(b);
    if (!c) m.set(b, (c = a.intersect(b)));
    return c;
  };

  const ingressRules = new Map<Interpretation, (CompiledRule[] | null)[]>();
  const egressRules = new Map<Interpretation, (CompiledRule[] | null)[]>();
  const rulesTable = (m: typeof ingressRules, dir: 'ingress' | 'egress', interp: Interpretation) => {
    let t = m.get(interp);
    if (!t) m.set(interp, (t = reps.map((p) => rulesFor(p, dir, interp))));
    return t;
  };
  const ALT_IPB: Interpretation = { ...LITERAL, ipBlockMatchesPods: false };
  const ALT_HOST: Interpretation = { ...LITERAL, hostNetworkAsPod: true };

  const asPeer = (o: Other): Peer | { kind: 'range'; range: IpRange } => (o.kind === 'pod' ? { kind: 'pod', pod: o.pod } : o);
  /** AdminNetworkPolicy → NetworkPolicy (if it isolates) → BaselineAdminNetworkPolicy → allow, as sets. */
  const tiered = (dir: 'ingress' | 'egress', src: Other, dst: Other, npRules: CompiledRule[] | null, np: () => ConnSet): ConnSet => {
    if (!tiers) return np();
    const subject = dir === 'ingress' ? dst : src;
    if (subject.kind !== 'pod') return ConnSet.ALL;
    const a = tiers.directionSets('admin', dir, asPeer(src), asPeer(dst));
    const undecided = ConnSet.ALL.subtract(a.allow).subtract(a.deny);
    if (npRules !== null) return a.allow.union(undecided.intersect(np()));
    const b = tiers.directionSets('baseline', dir, asPeer(src), asPeer(dst));
    return a.allow.union(undecided.subtract(b.deny));
  };
  const pairConns = (src: Other, dst: Other, interp: Interpretation): ConnSet => {
    const egRules = src.kind === 'pod' ? rulesTable(egressRules, 'egress', interp)[src.index]! : null;
    const eg = src.kind === 'pod' ? tiered('egress', src, dst, egRules, () => direction(egRules, dst, dst.kind === 'pod' ? dst.pod : null, dst.kind === 'pod' ? dst.index : -1, interp)) : ConnSet.ALL;
    if (eg.isEmpty()) return eg;
    if (dst.kind !== 'pod') return eg;
    // Ingress from the destination's own node (a hostNetwork source on the same node) is always allowed.
    if (src.kind === 'pod' && src.pod.hostNetwork && !interp.hostNetworkAsPod && src.pod.nodeName && src.pod.nodeName === dst.pod.nodeName) {
      usedAlt = true;
      return eg;
    }
    const ingRules = rulesTable(ingressRules, 'ingress', interp)[dst.index]!;
    const ing = tiered('ingress', src, dst, ingRules, () => direction(ingRules, src, dst.pod, dst.index, interp));
    return intersect(eg, ing);
  };

  const pairs: ConnectivityPair[] = [];
  const evaluate = (src: Other, dst: Other, sp: MapPeer, dp: MapPeer) => {
    usedAlt = false;
    const conns = pairConns(src, dst, LITERAL);
    let alternative: ConnectivityPair['alternative'];
    if (usedAlt) {
      const involvesHost = (src.kind === 'pod' && src.pod.hostNetwork) || (dst.kind === 'pod' && dst.pod.hostNetwork);
      const alt = pairConns(src, dst, involvesHost ? ALT_HOST : ALT_IPB);
      if (!alt.equals(conns)) alternative = { conns: alt, reason: involvesHost ? 'hostNetwork pod: treated as a pod rather than node traffic' : 'ipBlock over pod IPs: ipBlock taken to match cluster-external IPs only' };
    }
    if (conns.isEmpty() && !opts.includeEmpty && !alternative) return;
    pairs.push({ src: sp, dst: dp, conns, ...(alternative ? { alternative } : {}) });
  };
  // Pairs in np-guard's line order: sources sorted by display, destinations likewise.
  const podOthers: Other[] = reps.map((pod, index) => ({ kind: 'pod', pod, index }));
  type Node = { other: Other; peer: MapPeer };
  const byDisplay = (a: Node, b: Node) => cmp(a.peer.display, b.peer.display);
  const workloadNodes: Node[] = podOthers.map((o, i) => ({ other: o, peer: wpeers[i]! }));
  const srcNodes: Node[] = [...srcAtoms.map((r): Node => ({ other: { kind: 'range', range: r }, peer: extPeer(r) })), ...workloadNodes].sort(byDisplay);
  const dstNodes: Node[] = [...dstAtoms.map((r): Node => ({ other: { kind: 'range', range: r }, peer: extPeer(r) })), ...workloadNodes].sort(byDisplay);
  // every source with every destination but itself, and no external range with another
  const total = srcNodes.length * dstNodes.length - workloadNodes.length - srcAtoms.length * dstAtoms.length;
  let done = 0;
  opts.onPairs?.(0, total);
  for (const s of srcNodes) {
    for (const d of dstNodes) {
      if (s === d || (s.other.kind === 'range' && d.other.kind === 'range')) continue;
      evaluate(s.other, d.other, s.peer, d.peer);
      done++;
    }
    opts.onPairs?.(done, total);
  }
  const hasPolicies = engine.policies.some((p) => effectivePolicyTypes(p.spec).length > 0);
  if (!hasPolicies) notes.push('no NetworkPolicy in the inputs: every pair is allowed');
  return { peers: [...srcAtoms.map(extPeer), ...wpeers], pairs, notes: [...new Set(notes)] };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Every connection NetworkPolicy allows from `src` to `dst` (np-guard's AllAllowedConnections), under
 * one reading of the plugin-defined cases (default: ipBlock matches pod IPs, hostNetwork pods are node traffic).
 */
export function allowedConnections(engine: NetpolEngine, src: Peer, dst: Peer, interp: Interpretation = LITERAL): ConnSet {
  const cluster = engine.cluster;
  const matches = (pe: NetworkPolicyPeer, policyNs: string, other: Peer): boolean => {
    if (pe.ipBlock) {
      const cidr = parseCidr(pe.ipBlock.cidr)!;
      const ex = (pe.ipBlock.except ?? []).map((e) => parseCidr(e)!);
      if (other.kind === 'pod' && !other.pod.hostNetwork && !interp.ipBlockMatchesPods) return false;
      const ips = other.kind === 'pod' ? other.pod.ips : [other.ip];
      return ips.some((s) => {
        const ip = parseIpValue(s);
        return ip !== null && rangeContains(cidr, ip) && !ex.some((e) => rangeContains(e, ip));
      });
    }
    if (other.kind !== 'pod' || (other.pod.hostNetwork && !interp.hostNetworkAsPod)) return false;
    if (pe.namespaceSelector ? !labelSelectorMatches(pe.namespaceSelector, namespaceLabels(cluster, other.pod.namespace)) : other.pod.namespace !== policyNs) return false;
    return pe.podSelector ? labelSelectorMatches(pe.podSelector, other.pod.labels) : true;
  };
  const dstPod = dst.kind === 'pod' ? dst.pod : null;
  const direction = (dir: 'ingress' | 'egress'): ConnSet => {
    const subject = dir === 'ingress' ? dst : src;
    const other = dir === 'ingress' ? src : dst;
    if (subject.kind !== 'pod') return ConnSet.ALL;
    const isolating = engine.isolating(subject.pod, dir === 'ingress' ? 'Ingress' : 'Egress', interp);
    if (isolating.length === 0) return ConnSet.ALL;
    let c = ConnSet.NONE;
    for (const pol of isolating) {
      for (const r of (dir === 'ingress' ? pol.spec.ingress : pol.spec.egress) ?? []) {
        const peers = (dir === 'ingress' ? (r as { from?: NetworkPolicyPeer[] }).from : (r as { to?: NetworkPolicyPeer[] }).to) ?? [];
        if (peers.length === 0 || peers.some((pe) => matches(pe, pol.namespace, other))) c = c.union(portsToConns(r.ports ?? [], dstPod));
      }
    }
    return c;
  };
  return direction('egress').intersect(direction('ingress'));
}
