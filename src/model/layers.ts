/**
 * One verdict per policy layer for one connection (NetworkPolicy, Admin/Baseline tiers, Calico,
 * Istio PeerAuthentication and AuthorizationPolicy). Every layer uses the same trace and closest-miss
 * shapes as the RBAC engine (model/decision.ts).
 */
import type { ClosestMiss, TraceNode } from './decision.js';

export type LayerName = 'networkpolicy' | 'adminnetworkpolicy' | 'calico' | 'istio-peerauthentication' | 'istio-authorization';

/**
 * `implementation-defined`: the specification leaves the outcome to the CNI (ipBlock over pod IPs,
 * hostNetwork pods, loopback); `undecidable`: the evidence lacks something the layer reads.
 */
export type LayerVerdict = 'allow' | 'deny' | 'implementation-defined' | 'undecidable' | 'not-applicable';

export interface DecidedBy {
  kind: string;
  namespace?: string;
  name: string;
  /** 0-based index of the deciding rule in its list, when a rule decided. */
  rule?: number;
  direction?: 'ingress' | 'egress';
  tier?: string;
}

/** What the layer saw: the addresses and port after the mesh's redirections. */
export interface LayerView {
  source: string;
  destination: string;
  protocol: string;
  note?: string;
}

export interface LayerDecision {
  layer: LayerName;
  verdict: LayerVerdict;
  decidedBy: DecidedBy | null;
  /** Further objects that took part (e.g. the egress rule when the ingress rule is `decidedBy`). */
  alsoDecidedBy?: DecidedBy[];
  explanation: string;
  saw?: LayerView;
  trace?: TraceNode;
  closestMiss?: ClosestMiss;
  /** Why the outcome is implementation-defined or undecidable, or other caveats. */
  notes?: string[];
}

/** `NetworkPolicy default/x ingress[0]`, `Tier default (ingress)`, `-` when nothing decided. */
export function formatDecidedBy(d: DecidedBy | null): string {
  if (!d) return '-';
  const name = d.namespace ? `${d.namespace}/${d.name}` : d.name;
  const rule = d.rule !== undefined ? ` ${d.direction ?? 'rule'}[${d.rule}]` : d.direction ? ` (${d.direction})` : '';
  return `${d.kind} ${name}${rule}`;
}

/** One layer's verdict on an observed flow, flattened for tables and JSON. */
export interface FlowLayerVerdict {
  layer: LayerName;
  verdict: LayerVerdict;
  /** `formatDecidedBy` text, `-` when nothing decided. */
  decidedBy: string;
  explanation: string;
  /** The closest rule that would have allowed it, when the layer denies. */
  closestMiss?: string;
}

/**
 * Every policy layer's verdict on one observed flow (`flows --config <manifests>`, `report`): the
 * addresses resolved to pods, the identity the client presented on the wire, and each layer.
 */
export interface FlowNetworkLayers {
  /** `namespace/workload` or the IP address when no pod owns it. */
  source: string;
  destination: string;
  /** SPIFFE id the client presented (from its certificate or Istio's conventions); null: none (plaintext/TLS). */
  identity: string | null;
  /** The strictest applicable verdict (deny > implementation-defined > undecidable > allow). */
  verdict: LayerVerdict;
  /** The first layer that denies, in packet-path order; null when none. */
  deniedBy: LayerName | null;
  layers: FlowLayerVerdict[];
  notes?: string[];
}
