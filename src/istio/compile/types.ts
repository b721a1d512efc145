/** Istio security API shapes (security.istio.io v1/v1beta1) as the compiler reads them. */
import type { K8sSource } from '../../readers/k8s.js';

export interface Source {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
  trustDomains?: string[];
  notTrustDomains?: string[];
}

export interface Operation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

export interface Condition {
  key?: string;
  values?: string[];
  notValues?: string[];
}

export interface Rule {
  from?: { source?: Source }[];
  to?: { operation?: Operation }[];
  when?: Condition[];
}

export interface TargetRef {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

export type AuthzAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

export interface AuthorizationPolicySpec {
  selector?: { matchLabels?: Record<string, string> };
  targetRef?: TargetRef;
  targetRefs?: TargetRef[];
  action?: AuthzAction;
  provider?: { name?: string };
  /** `undefined` = no `rules` key (allow-nothing for ALLOW); `[]`/`[{}]` are distinct. */
  rules?: (Rule | null)[];
}

export interface AuthorizationPolicy {
  name: string;
  namespace: string;
  annotations: Record<string, string>;
  spec: AuthorizationPolicySpec;
  source?: K8sSource;
}

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

export interface PeerAuthentication {
  name: string;
  namespace: string;
  selector?: Record<string, string>;
  /** `UNSET` = inherit. */
  mode?: MtlsMode | 'UNSET';
  portLevelMtls?: Record<number, MtlsMode | 'UNSET'>;
  creationTimestamp?: string;
  source?: K8sSource;
}
