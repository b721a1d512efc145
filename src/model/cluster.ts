/**
 * The cluster facts the network-policy engines read: pods (labels, IPs, service account, ports,
 * node, hostNetwork), namespaces (labels), service accounts (labels) and nodes (addresses).
 * Built by readers/manifests/cluster.ts from Kubernetes objects; engines never read files.
 */
import type { EvidenceRef } from './records.js';

export type L4Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: L4Protocol;
}

export interface ClusterPod {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** status.podIPs (empty when the manifest is a workload template or the pod has no IP yet). */
  ips: string[];
  serviceAccount: string;
  hostNetwork: boolean;
  nodeName?: string;
  /** status.hostIP: the node's address. */
  hostIP?: string;
  ports: ContainerPort[];
  /** The owning workload as np-guard/netpol-analyzer names it: `Deployment`/`StatefulSet`/... or `Pod`. */
  workload: { kind: string; name: string };
  /** An Istio sidecar is injected (container `istio-proxy`, the status annotation, or an injection label on a template). */
  sidecar: boolean;
  /** Istio ambient redirection (`istio.io/dataplane-mode: ambient` on the pod or its namespace). */
  ambient: boolean;
  phase?: string;
  ref?: EvidenceRef;
}

export interface ClusterNamespace {
  name: string;
  /** Includes the immutable `kubernetes.io/metadata.name=<name>` label. */
  labels: Record<string, string>;
  /** True when the namespace was only implied by an object in it (no Namespace object read). */
  implied?: boolean;
}

export interface ClusterServiceAccount {
  namespace: string;
  name: string;
  labels: Record<string, string>;
}

export interface ClusterNode {
  name: string;
  addresses: string[];
}

export interface Cluster {
  pods: ClusterPod[];
  namespaces: Map<string, ClusterNamespace>;
  serviceAccounts: ClusterServiceAccount[];
  nodes: ClusterNode[];
}

export function podId(p: Pick<ClusterPod, 'namespace' | 'name'>): string {
  return `${p.namespace}/${p.name}`;
}

/** Labels of a namespace; a namespace known only by name still carries `kubernetes.io/metadata.name`. */
export function namespaceLabels(c: Cluster, ns: string): Record<string, string> {
  return c.namespaces.get(ns)?.labels ?? { 'kubernetes.io/metadata.name': ns };
}
