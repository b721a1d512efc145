/**
 * projectcalico.org/v3 policy objects as the engine reads them (projectcalico/api
 * pkg/apis/projectcalico/v3: networkpolicy.go, globalnetworkpolicy.go, policy_common.go, tier.go).
 * Selectors are parsed; everything else keeps the API's names.
 */
import type { K8sSource } from '../readers/k8s.js';
import type { NetworkPolicy as K8sNetworkPolicy } from '../netpol/types.js';
import type { SelectorNode } from './selector.js';

export type Action = 'Allow' | 'Deny' | 'Log' | 'Pass';

/** A port item: a number, a `start:end` range, or a named port. */
export type CalicoPort = { kind: 'range'; from: number; to: number } | { kind: 'named'; name: string };

export interface ServiceAccountMatch {
  names?: string[];
  selector?: SelectorNode;
  selectorText?: string;
}

export interface EntityRule {
  nets?: string[];
  notNets?: string[];
  selector?: SelectorNode;
  selectorText?: string;
  notSelector?: SelectorNode;
  notSelectorText?: string;
  namespaceSelector?: SelectorNode;
  namespaceSelectorText?: string;
  ports?: CalicoPort[];
  notPorts?: CalicoPort[];
  serviceAccounts?: ServiceAccountMatch;
  services?: { name: string; namespace?: string };
}

export interface HTTPMatch {
  methods?: string[];
  paths?: ({ exact: string } | { prefix: string })[];
}

export interface Rule {
  action: Action;
  /** Upper-case name (`TCP`) or a number as text (`6`). */
  protocol?: string;
  notProtocol?: string;
  ipVersion?: 4 | 6;
  source: EntityRule;
  destination: EntityRule;
  http?: HTTPMatch;
  /** ICMP match fields present (not evaluated for TCP/UDP/SCTP connections). */
  icmp?: boolean;
}

export type PolicyType = 'Ingress' | 'Egress';

export interface CalicoPolicy {
  kind: 'NetworkPolicy' | 'GlobalNetworkPolicy';
  /** Set for the namespaced kind. */
  namespace?: string;
  name: string;
  tier: string;
  /** Lower first; undefined = after every ordered policy. */
  order?: number;
  selector: SelectorNode;
  selectorText: string;
  /** GNP only: restricts the selected endpoints to namespaces matching it. */
  namespaceSelector?: SelectorNode;
  serviceAccountSelector?: SelectorNode;
  /** Effective types (Calico's defaulting applied). */
  types: PolicyType[];
  ingress: Rule[];
  egress: Rule[];
  source?: K8sSource;
  /** For Kubernetes NetworkPolicies converted the way Calico does (`knp.default.<name>`, order 1000). */
  k8s?: K8sNetworkPolicy;
}

export interface Tier {
  name: string;
  order?: number;
  defaultAction: 'Deny' | 'Pass';
}
