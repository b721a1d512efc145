/**
 * ztunnel's configuration as its admin `/config_dump` (= `istioctl ztunnel-config all -o json`)
 * serialises it, typed after ztunnel's own structs (`src/rbac.rs` Authorization/RbacMatch,
 * `src/state/workload.rs` Workload, `src/state/service.rs` Service). Field names are the dump's
 * camelCase names. Pure types: the reader (readers/configdump/ztunnel.ts) builds them.
 */

/** `StringMatch` (serde: externally tagged `{"Exact": "x"}`; older/other encodings `{"exact": "x"}`). */
export type ZtStringMatch =
  | { kind: 'exact'; value: string }
  | { kind: 'prefix'; value: string }
  | { kind: 'suffix'; value: string }
  | { kind: 'presence' };

/** `ServiceAccountMatch`: namespace + service account of the peer's SPIFFE identity. */
export interface ZtServiceAccountMatch {
  namespace: string;
  serviceAccount: string;
}

/** An IP network (`IpNet`), e.g. `10.0.0.0/8`, kept as written plus its parsed form. */
export interface ZtIpNet {
  text: string;
  /** Address bytes (4 or 16). */
  bytes: number[];
  prefix: number;
}

/** `RbacMatch`: every populated positive list must contain the value, every negative list must not. */
export interface ZtMatch {
  namespaces: ZtStringMatch[];
  notNamespaces: ZtStringMatch[];
  serviceAccounts: ZtServiceAccountMatch[];
  notServiceAccounts: ZtServiceAccountMatch[];
  principals: ZtStringMatch[];
  notPrincipals: ZtStringMatch[];
  sourceIps: ZtIpNet[];
  notSourceIps: ZtIpNet[];
  destinationIps: ZtIpNet[];
  notDestinationIps: ZtIpNet[];
  destinationPorts: number[];
  notDestinationPorts: number[];
}

export type ZtScope = 'Global' | 'Namespace' | 'WorkloadSelector';
export type ZtAction = 'Allow' | 'Deny';

/** `Authorization`: rules = OR of rules; rule = AND of clauses; clause = OR of matches. */
export interface ZtPolicy {
  name: string;
  namespace: string;
  scope: ZtScope;
  action: ZtAction;
  rules: ZtMatch[][][];
  dryRun: boolean;
  /** JSON path in the dump. */
  path: string;
}

export interface ZtWorkload {
  /** The dump key, `<network>/<ip>` (network may be empty), or the uid for IP-less workloads. */
  key: string;
  uid: string;
  name: string;
  namespace: string;
  workloadIps: string[];
  network: string;
  serviceAccount: string;
  trustDomain: string;
  protocol: 'HBONE' | 'TCP' | string;
  /** `waypoint.destination` (`/<vip>` or a hostname form) and port, when the workload uses a waypoint. */
  waypoint?: { destination: string; port?: number };
  workloadName?: string;
  workloadType?: string;
  canonicalName?: string;
  node?: string;
  status?: string;
  clusterId?: string;
  /** `authorizationPolicies`: keys (`ns/name`) of WorkloadSelector policies istiod attached to this workload. */
  authorizationPolicies: string[];
  path: string;
}

export interface ZtService {
  key: string;
  name: string;
  namespace: string;
  hostname: string;
  vips: string[];
  /** service port → target port (0 = named port resolved per endpoint). */
  ports: Record<string, number>;
  /** workload uids of the endpoints. */
  endpoints: { workloadUid: string; address?: string; ports: Record<string, number> }[];
  subjectAltNames: string[];
  waypoint?: { destination: string; port?: number };
  path: string;
}

export interface ZtCertificate {
  identity: string;
  state: string;
  chain: { serialNumber?: string; validFrom?: string; expirationTime?: string }[];
  path: string;
}

export interface ZtConnection {
  workloadUid: string;
  direction: 'inbound' | 'outbound';
  src?: string;
  originalDst?: string;
  actualDst?: string;
  protocol?: string;
}

/** One ztunnel's config dump. */
export interface ZtunnelConfig {
  file: string;
  workloads: ZtWorkload[];
  services: ZtService[];
  policies: ZtPolicy[];
  certificates: ZtCertificate[];
  connections: ZtConnection[];
}
