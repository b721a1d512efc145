/**
 * Kubernetes NetworkPolicy evaluation for one connection, as the API documents it
 * (kubernetes/api networking/v1/types.go and the "Network Policies" concept page):
 *
 *   allowed = egressOK(src) AND ingressOK(dst)
 *   a direction is OK when the pod is not isolated for it (no policy selecting it lists that
 *   policyType), or when some rule of some isolating policy matches both its ports and its peers
 *   (rules and policies are a union; absent/empty `ports`/`from`/`to` match everything).
 *
 * Ingress from the pod's own node is always allowed. Where the specification leaves the outcome
 * to the network plugin (an ipBlock that covers pod IPs, hostNetwork pods, a pod talking to itself),
 * the connection is evaluated under each reading and reported `implementation-defined` when they
 * disagree. Pure: no I/O.
 */
import type { ClosestMiss, TraceNode } from '../model/decision.js';
import type { Cluster, ClusterPod, L4Protocol } from '../model/cluster.js';
import { namespaceLabels } from '../model/cluster.js';
import type { DecidedBy, LayerDecision } from '../model/layers.js';
import { parseCidr, parseIpValue, rangeContains } from './ipnet.js';
import { formatLabelSelector, labelSelectorMatches } from './selector.js';
import { effectivePolicyTypes, type NetworkPolicy, type NetworkPolicyPeer, type NetworkPolicyPort, type PolicyType } from './types.js';

export type Peer = { kind: 'pod'; pod: ClusterPod } | { kind: 'ip'; ip: string };

export interface NetpolConnection {
  src: Peer;
  dst: Peer;
  protocol: L4Protocol;
  /** Destination port as the node's packet filter sees it (after the mesh's redirections). */
  port: number;
}

/** The readings the specification allows where it leaves behaviour to the network plugin. */
export interface Interpretation {
  /** ipBlock also matches pod IPs (Calico, iptables-based plugins) vs only cluster-external IPs (Cilium identities). */
  ipBlockMatchesPods: boolean;
  /** hostNetwork pods are selected by podSelector/namespaceSelector and isolated by policies, vs treated as node traffic. */
  hostNetworkAsPod: boolean;
}

export const LITERAL: Interpretation = { ipBlockMatchesPods: true, hostNetworkAsPod: false };

interface Eval {
  ok: boolean;
  node: TraceNode;
  /** Whether this result read an interpretation-dependent fact. */
  usedIpBlockOnPod: boolean;
  usedHostNetwork: boolean;
}

const peerName = (p: Peer) => (p.kind === 'pod' ? `${p.pod.namespace}/${p.pod.name}` : p.ip);
const leaf = (node: string, ok: boolean, detail: string, attribute?: string, actual?: string | number | null | string[], expected?: string): TraceNode => ({
  node,
  matched: ok,
  detail,
  ...(attribute !== undefined ? { attribute } : {}),
  ...(actual !== undefined ? { actual } : {}),
  ...(expected !== undefined ? { expected } : {}),
});

const OR_NODES = new Set(['ingress', 'egress', 'policy', 'ports', 'from', 'to']);

/** The leaves that would have to change for a non-matching node to match (fewest on every OR). */
export function failingLeaves(n: TraceNode): TraceNode[] {
  if (n.matched === true) return [];
  if (!n.children || n.children.length === 0) return [n];
  if (OR_NODES.has(n.node)) {
    let best: TraceNode[] | null = null;
    for (const c of n.children) {
      const f = failingLeaves(c);
      if (best === null || f.length < best.length) best = f;
    }
    return best ?? [n];
  }
  const out: TraceNode[] = [];
  for (const c of n.children) if (c.matched !== true) out.push(...failingLeaves(c));
  return out.length ? out : [n];
}

export class NetpolEngine {
  private readonly byNamespace = new Map<string, NetworkPolicy[]>();

  constructor(
    readonly policies: NetworkPolicy[],
    readonly cluster: Cluster,
  ) {
    for (const p of policies) {
      const l = this.byNamespace.get(p.namespace) ?? [];
      l.push(p);
      this.byNamespace.set(p.namespace, l);
    }
  }

  /** Policies that select `pod` and list `type` in their (defaulted) policyTypes. */
  isolating(pod: ClusterPod, type: PolicyType, interp: Interpretation = LITERAL): NetworkPolicy[] {
    if (pod.hostNetwork && !interp.hostNetworkAsPod) return [];
    return (this.byNamespace.get(pod.namespace) ?? []).filter((p) => effectivePolicyTypes(p.spec).includes(type) && labelSelectorMatches(p.spec.podSelector, pod.labels));
  }

  /** True when `ip` belongs to the node `pod` runs on. */
  private isOwnNode(ip: string, pod: ClusterPod): boolean {
    if (pod.hostIP && pod.hostIP === ip) return true;
    const node = pod.nodeName ? this.cluster.nodes.find((n) => n.name === pod.nodeName) : undefined;
    return node?.addresses.includes(ip) ?? false;
  }

  private peerMatches(peer: NetworkPolicyPeer, other: Peer, policyNs: string, interp: Interpretation): Eval {
    const r: Eval = { ok: false, node: leaf('peer', false, ''), usedIpBlockOnPod: false, usedHostNetwork: false };
    if (peer.ipBlock) {
      const cidr = parseCidr(peer.ipBlock.cidr)!;
      const ips = other.kind === 'pod' ? other.pod.ips : [other.ip];
      const isPod = other.kind === 'pod' && !other.pod.hostNetwork;
      let ok = false;
      let excepted: string | undefined;
      for (const s of ips) {
        const ip = parseIpValue(s);
        if (!ip || !rangeContains(cidr, ip)) continue;
        const ex = (peer.ipBlock.except ?? []).find((e) => rangeContains(parseCidr(e)!, ip));
        if (ex) excepted = ex;
        else ok = true;
      }
      const expected = `in ${peer.ipBlock.cidr}${peer.ipBlock.except?.length ? ` except ${peer.ipBlock.except.join(', ')}` : ''}`;
      if (ok && isPod) {
        r.usedIpBlockOnPod = true;
        ok = interp.ipBlockMatchesPods;
      }
      const actual = ips.length ? ips : null;
      const detail = ok
        ? `${peerName(other)} (${ips.join(', ')}) is ${expected}${isPod ? ' (a pod IP: plugins differ on ipBlock over pods)' : ''}`
        : r.usedIpBlockOnPod
          ? `${peerName(other)} is a pod: this reading takes ipBlock to match cluster-external IPs only`
          : ips.length === 0
            ? `${peerName(other)} has no IP address in the inputs — needs an address ${expected}`
            : excepted
              ? `${peerName(other)} (${ips.join(', ')}) is in the except range ${excepted}`
              : `${peerName(other)} (${ips.join(', ')}) — needs an address ${expected}`;
      r.ok = ok;
      r.node = leaf('ipBlock', ok, detail, 'peer.ip', actual, expected);
      return r;
    }
    const kids: TraceNode[] = [];
    if (other.kind !== 'pod') {
      r.node = { node: 'peer', matched: false, detail: `${other.ip} is not a pod: podSelector/namespaceSelector select pods only`, children: [leaf('selector', false, `${other.ip} is not a pod in the inputs`, 'peer', other.ip, 'a pod')] };
      return r;
    }
    const pod = other.pod;
    if (pod.hostNetwork) {
      r.usedHostNetwork = true;
      if (!interp.hostNetworkAsPod) {
        r.node = { node: 'peer', matched: false, detail: `${peerName(other)} is a hostNetwork pod: its traffic is node traffic, which pod and namespace selectors do not select in this reading`, children: [leaf('hostNetwork', false, `${peerName(other)} uses the node's network namespace`, 'peer.hostNetwork', 'true', 'a pod network pod')] };
        return r;
      }
    }
    let ok = true;
    if (peer.namespaceSelector) {
      const nsl = namespaceLabels(this.cluster, pod.namespace);
      const m = labelSelectorMatches(peer.namespaceSelector, nsl);
      ok &&= m;
      kids.push(leaf('namespaceSelector', m, `namespace ${pod.namespace} ${m ? 'matches' : 'does not match'} namespaceSelector ${formatLabelSelector(peer.namespaceSelector)}`, 'namespace.labels', Object.entries(nsl).map(([k, v]) => `${k}=${v}`), formatLabelSelector(peer.namespaceSelector)));
    } else {
      const m = pod.namespace === policyNs;
      ok &&= m;
      kids.push(leaf('namespace', m, `${m ? '' : 'needs '}namespace ${policyNs} (podSelector alone selects the policy's namespace)${m ? '' : `, found ${pod.namespace}`}`, 'namespace', pod.namespace, policyNs));
    }
    if (peer.podSelector) {
      const m = labelSelectorMatches(peer.podSelector, pod.labels);
      ok &&= m;
      kids.push(leaf('podSelector', m, `pod ${peerName(other)} ${m ? 'matches' : 'does not match'} podSelector ${formatLabelSelector(peer.podSelector)}`, 'pod.labels', Object.entries(pod.labels).map(([k, v]) => `${k}=${v}`), formatLabelSelector(peer.podSelector)));
    }
    r.ok = ok;
    r.node = { node: 'peer', matched: ok, detail: `${peer.namespaceSelector && peer.podSelector ? 'pods matching podSelector in namespaces matching namespaceSelector' : peer.namespaceSelector ? 'all pods in namespaces matching namespaceSelector' : 'pods matching podSelector in the policy namespace'}`, children: kids };
    return r;
  }

  /** Named ports resolve on the destination pod: a container port with that name and protocol. */
  private portMatches(p: NetworkPolicyPort, proto: L4Protocol, port: number, dst: Peer): TraceNode {
    const pp = p.protocol ?? 'TCP';
    const protoOk = pp === proto;
    const protoText = `${pp}${p.protocol ? '' : ' (defaulted)'}`;
    if (!protoOk) return leaf('port', false, `protocol ${proto} — needs ${protoText}`, 'protocol', proto, pp);
    if (p.port === undefined) return leaf('port', true, `${proto}/${port}: any ${pp} port`, 'port', port, `any ${pp} port`);
    if (typeof p.port === 'number') {
      const hi = p.endPort ?? p.port;
      const ok = port >= p.port && port <= hi;
      const exp = hi === p.port ? `${pp}/${p.port}` : `${pp}/${p.port}-${hi}`;
      return leaf('port', ok, `${proto}/${port} — ${ok ? 'matches' : 'needs'} ${exp}`, 'port', port, exp);
    }
    const cp = dst.kind === 'pod' ? dst.pod.ports.find((c) => c.name === p.port && c.protocol === pp) : undefined;
    if (!cp) return leaf('port', false, `named port ${p.port}/${pp} is not declared by ${dst.kind === 'pod' ? `the destination pod ${peerName(dst)}` : `${peerName(dst)}, which is not a pod`}`, 'port', port, `named port ${p.port}`);
    const ok = cp.containerPort === port;
    return leaf('port', ok, `${proto}/${port} — ${ok ? 'matches' : 'needs'} named port ${p.port} = ${pp}/${cp.containerPort} on ${peerName(dst)}`, 'port', port, `${pp}/${cp.containerPort} (${p.port})`);
  }

  /** One direction for `subject` (the source for egress, the destination for ingress). */
  evaluateDirection(dir: 'ingress' | 'egress', conn: NetpolConnection, interp: Interpretation = LITERAL): Eval & { isolatedBy: NetworkPolicy[]; matched: DecidedBy[] } {
    const type: PolicyType = dir === 'ingress' ? 'Ingress' : 'Egress';
    const subject = dir === 'ingress' ? conn.dst : conn.src;
    const other = dir === 'ingress' ? conn.src : conn.dst;
    const base = { usedIpBlockOnPod: false, usedHostNetwork: false, isolatedBy: [] as NetworkPolicy[], matched: [] as DecidedBy[] };
    if (subject.kind !== 'pod') return { ...base, ok: true, node: leaf(dir, true, `${peerName(subject)} is not a pod: no ${dir} policy applies`) };
    if (subject.pod.hostNetwork && !interp.hostNetworkAsPod) {
      return { ...base, usedHostNetwork: true, ok: true, node: leaf(dir, true, `${peerName(subject)} is a hostNetwork pod: NetworkPolicy does not isolate it in this reading`) };
    }
    const usedHost = subject.pod.hostNetwork;
    if (dir === 'ingress') {
      const srcIps = conn.src.kind === 'pod' ? (conn.src.pod.hostNetwork && !interp.hostNetworkAsPod ? conn.src.pod.ips : []) : [conn.src.ip];
      const own = srcIps.find((ip) => this.isOwnNode(ip, subject.pod));
      if (own || (conn.src.kind === 'pod' && conn.src.pod.hostNetwork && !interp.hostNetworkAsPod && conn.src.pod.nodeName && conn.src.pod.nodeName === subject.pod.nodeName)) {
        return { ...base, usedHostNetwork: conn.src.kind === 'pod', ok: true, node: leaf('ingress', true, `from the pod's own node${subject.pod.nodeName ? ` ${subject.pod.nodeName}` : ''}${own ? ` (${own})` : ''}: always allowed`) };
      }
    }
    const isolating = this.isolating(subject.pod, type, interp);
    if (isolating.length === 0) {
      return { ...base, usedHostNetwork: usedHost, ok: true, node: leaf(dir, true, `${peerName(subject)} is not isolated for ${dir}: no NetworkPolicy selecting it has ${type} in policyTypes`) };
    }
    let usedIpBlockOnPod = false;
    let usedHostNetwork = usedHost;
    const matched: DecidedBy[] = [];
    const policyNodes: TraceNode[] = [];
    for (const pol of isolating) {
      const e = this.evaluatePolicy(pol, dir, conn, interp);
      usedIpBlockOnPod ||= e.usedIpBlockOnPod;
      usedHostNetwork ||= e.usedHostNetwork;
      for (const i of e.matchedRules) matched.push({ kind: 'NetworkPolicy', namespace: pol.namespace, name: pol.name, rule: i, direction: dir });
      policyNodes.push(e.node);
    }
    const ok = matched.length > 0;
    return {
      ok,
      usedIpBlockOnPod,
      usedHostNetwork,
      isolatedBy: isolating,
      matched,
      node: { node: dir, matched: ok, detail: `${peerName(subject)} is isolated for ${dir} by ${isolating.map((p) => `${p.namespace}/${p.name}`).join(', ')}: ${ok ? 'allowed by' : 'no rule allows it'}${ok ? ` ${matched.map((m) => `${m.namespace}/${m.name} ${dir}[${m.rule}]`).join(', ')}` : ''}`, children: policyNodes },
    };
  }

  /** One policy's rules in one direction (the policy is assumed to select the subject). */
  evaluatePolicy(pol: NetworkPolicy, dir: 'ingress' | 'egress', conn: NetpolConnection, interp: Interpretation = LITERAL): Eval & { matchedRules: number[] } {
    const subject = dir === 'ingress' ? conn.dst : conn.src;
    const other = dir === 'ingress' ? conn.src : conn.dst;
    const type: PolicyType = dir === 'ingress' ? 'Ingress' : 'Egress';
    let usedIpBlockOnPod = false;
    let usedHostNetwork = false;
    const matchedRules: number[] = [];
    const rules = (dir === 'ingress' ? pol.spec.ingress : pol.spec.egress) ?? [];
    const ruleNodes: TraceNode[] = [];
    rules.forEach((rule, i) => {
      const ports = rule.ports ?? [];
      const portNodes = ports.map((p) => this.portMatches(p, conn.protocol, conn.port, conn.dst));
      const portsOk = ports.length === 0 || portNodes.some((n) => n.matched === true);
      const portsNode: TraceNode = ports.length === 0 ? leaf('ports', true, `${rule.ports ? 'ports: []' : 'no ports'}: every port and protocol`) : { node: 'ports', matched: portsOk, detail: `${conn.protocol}/${conn.port} against ${ports.length} port item(s)`, children: portNodes };
      const peers = (dir === 'ingress' ? (rule as { from?: NetworkPolicyPeer[] }).from : (rule as { to?: NetworkPolicyPeer[] }).to) ?? [];
      const key = dir === 'ingress' ? 'from' : 'to';
      let peersOk = peers.length === 0;
      const peerNodes: TraceNode[] = [];
      for (const pe of peers) {
        const e = this.peerMatches(pe, other, pol.namespace, interp);
        usedIpBlockOnPod ||= e.usedIpBlockOnPod;
        usedHostNetwork ||= e.usedHostNetwork;
        peersOk ||= e.ok;
        peerNodes.push(e.node);
      }
      const peersNode: TraceNode = peers.length === 0 ? leaf(key, true, `no ${key}: every peer`) : { node: key, matched: peersOk, detail: `${peerName(other)} against ${peers.length} peer(s)`, children: peerNodes };
      const ok = portsOk && peersOk;
      if (ok) matchedRules.push(i);
      ruleNodes.push({ node: 'rule', matched: ok, detail: `${pol.namespace}/${pol.name} ${dir}[${i}]`, children: [portsNode, peersNode] });
    });
    const ok = matchedRules.length > 0;
    const node: TraceNode =
      rules.length === 0
        ? leaf('policy', false, `NetworkPolicy ${pol.namespace}/${pol.name} selects ${peerName(subject)} for ${type} and has no ${dir} rules: it allows nothing`, 'policy', `${pol.namespace}/${pol.name}`, `an ${dir} rule`)
        : { node: 'policy', matched: ok, detail: `NetworkPolicy ${pol.namespace}/${pol.name} (${rules.length} ${dir} rule(s))`, children: ruleNodes };
    return { ok, node, usedIpBlockOnPod, usedHostNetwork, matchedRules };
  }

  /** The NetworkPolicy layer's verdict for one connection, with trace and closest miss. */
  decide(conn: NetpolConnection): LayerDecision {
    const saw = { source: peerName(conn.src), destination: `${peerName(conn.dst)}:${conn.port}`, protocol: conn.protocol };
    if (conn.src.kind === 'pod' && conn.dst.kind === 'pod' && conn.src.pod === conn.dst.pod) {
      return {
        layer: 'networkpolicy',
        verdict: 'implementation-defined',
        decidedBy: null,
        explanation: 'a pod connecting to itself: the API says a pod cannot block access to itself, and plugins differ (the upstream e2e suite ignores loopback)',
        saw,
      };
    }
    const run = (interp: Interpretation) => {
      const eg = this.evaluateDirection('egress', conn, interp);
      const ing = this.evaluateDirection('ingress', conn, interp);
      return { eg, ing, ok: eg.ok && ing.ok };
    };
    const main = run(LITERAL);
    const notes: string[] = [];
    let disagree = false;
    const variants: Interpretation[] = [];
    if (main.eg.usedIpBlockOnPod || main.ing.usedIpBlockOnPod) variants.push({ ...LITERAL, ipBlockMatchesPods: false });
    if (main.eg.usedHostNetwork || main.ing.usedHostNetwork) variants.push({ ...LITERAL, hostNetworkAsPod: true });
    for (const v of variants) {
      const alt = run(v);
      if (alt.ok !== main.ok) {
        disagree = true;
        notes.push(
          v.ipBlockMatchesPods === false
            ? `an ipBlock covers a pod IP: plugins that match ipBlock against pod IPs (e.g. Calico) ${main.ok ? 'allow' : 'deny'} this; plugins that use ipBlock for cluster-external peers only (e.g. Cilium) ${alt.ok ? 'allow' : 'deny'} it`
            : `a hostNetwork pod is involved: plugins that treat it as node traffic ${main.ok ? 'allow' : 'deny'} this; plugins that treat it as a pod ${alt.ok ? 'allow' : 'deny'} it`,
        );
      }
    }
    const trace: TraceNode = { node: 'networkpolicy', matched: main.ok, detail: `egress of ${saw.source} AND ingress of ${peerName(conn.dst)}`, children: [main.eg.node, main.ing.node] };
    if (disagree) {
      return { layer: 'networkpolicy', verdict: 'implementation-defined', decidedBy: null, explanation: notes.join('; '), saw, trace, notes };
    }
    if (main.ok) {
      const by = [...main.ing.matched.slice(0, 1), ...main.eg.matched.slice(0, 1)];
      const explanation =
        by.length === 0
          ? `neither pod is isolated: no NetworkPolicy selects ${peerName(conn.src)} for Egress or ${peerName(conn.dst)} for Ingress`
          : [main.eg.node.detail, main.ing.node.detail].join('; ');
      return { layer: 'networkpolicy', verdict: 'allow', decidedBy: by[0] ?? null, ...(by.length > 1 ? { alsoDecidedBy: by.slice(1) } : {}), explanation, saw, trace };
    }
    const denying = !main.eg.ok ? main.eg : main.ing;
    const dir = !main.eg.ok ? 'egress' : 'ingress';
    const isolated = denying.isolatedBy.map((p): DecidedBy => ({ kind: 'NetworkPolicy', namespace: p.namespace, name: p.name, direction: dir }));
    const explanation = [!main.eg.ok ? main.eg.node.detail : null, !main.ing.ok ? main.ing.node.detail : null].filter(Boolean).join('; ');
    return { layer: 'networkpolicy', verdict: 'deny', decidedBy: isolated[0] ?? null, ...(isolated.length > 1 ? { alsoDecidedBy: isolated.slice(1) } : {}), explanation, saw, trace, ...(closest(denying.node) ? { closestMiss: closest(denying.node)! } : {}) };
  }
}

/** The rule (across the isolating policies) with the fewest failing conditions. */
function closest(dirNode: TraceNode): ClosestMiss | undefined {
  let best: { rule: TraceNode; failing: TraceNode[] } | undefined;
  for (const pol of dirNode.children ?? []) {
    for (const rule of pol.children ?? []) {
      const failing = failingLeaves(rule);
      if (!best || failing.length < best.failing.length) best = { rule, failing };
    }
  }
  if (!best) return undefined;
  return { policy: best.rule.detail, failedConditions: best.failing.length, failing: best.failing, summary: `${best.rule.detail}: ${best.failing.map((f) => f.detail).join('; ')}` };
}
