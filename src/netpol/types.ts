/**
 * Kubernetes NetworkPolicy (networking.k8s.io/v1), field for field as kubernetes/api
 * networking/v1/types.go declares it. Optional fields stay optional: absent and empty differ.
 */
import type { L4Protocol } from '../model/cluster.js';
import type { K8sSource } from '../readers/k8s.js';

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/** metav1.LabelSelector: matchLabels AND matchExpressions; empty = everything. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface IPBlock {
  cidr: string;
  except?: string[];
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IPBlock;
}

export interface NetworkPolicyPort {
  /** Defaulted to TCP by the API server (SetDefaults_NetworkPolicyPort). */
  protocol?: L4Protocol;
  /** Number or named port; absent = every port of the protocol. */
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyIngressRule {
  ports?: NetworkPolicyPort[];
  from?: NetworkPolicyPeer[];
}

export interface NetworkPolicyEgressRule {
  ports?: NetworkPolicyPort[];
  to?: NetworkPolicyPeer[];
}

export type PolicyType = 'Ingress' | 'Egress';

export interface NetworkPolicySpec {
  podSelector: LabelSelector;
  /** As written; see effectivePolicyTypes for the API server's defaulting. */
  policyTypes?: PolicyType[];
  ingress?: NetworkPolicyIngressRule[];
  egress?: NetworkPolicyEgressRule[];
}

export interface NetworkPolicy {
  namespace: string;
  name: string;
  spec: NetworkPolicySpec;
  source?: K8sSource;
}

/** SetDefaults_NetworkPolicy: Ingress always; Egress only when `egress` has at least one rule. */
export function effectivePolicyTypes(spec: NetworkPolicySpec): PolicyType[] {
  if (spec.policyTypes && spec.policyTypes.length > 0) return spec.policyTypes;
  return (spec.egress?.length ?? 0) > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}
