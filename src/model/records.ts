/**
 * Records shared between readers, analysis and reporters. See ../shared/DESIGN.md "Core records".
 */
import type { BothHalves } from './halves.js';
import type { Decision } from './decision.js';
import type { HeaderMap, JsonValue, RequestAttrs } from './attrs.js';
import type { FlowNetworkLayers } from './layers.js';

/** Where a record came from: `file:line`, an ALS stream index, or `file#frame`. */
export interface EvidenceRef {
  file: string;
  line?: number;
  frame?: number;
  /** Frames of a flow (first..last) when a range is meant. */
  frames?: number[];
  stream?: string;
  index?: number;
  /** JSON path inside `file` (config dumps, inventories, policies), e.g. `$.configs[2].dynamic_listeners[0]`. */
  path?: string;
}

/** One access-log entry, from text/JSON logs or the gRPC Access Log Service. */
export interface AccessRecord {
  ref: EvidenceRef;
  /** RFC 3339 UTC start time, with the precision the log carries. */
  time?: string;
  /** Epoch milliseconds (fractional), for correlation. */
  timeMs?: number;
  /** Proxy that wrote it (ALS node id, kubectl --prefix pod, or unknown). */
  node?: string;
  logName?: string;
  kind: 'http' | 'tcp';
  /** The attributes the log carries, in RBAC form. */
  attrs: RequestAttrs;
  /** Attributes the format does not log (e.g. `tls.uriSans` when no peer SAN field) → unknown, not absent. */
  unknown: string[];
  /** What Envoy logged. */
  responseCode?: number;
  responseCodeDetails?: string;
  connectionTerminationDetails?: string;
  responseFlags?: string;
  bytesReceived?: number;
  bytesSent?: number;
  durationMs?: number;
  upstreamCluster?: string;
  upstreamHost?: string;
  routeName?: string;
  requestId?: string;
  userAgent?: string;
  /** Every field as parsed, by operator name (e.g. `REQ(:AUTHORITY)`), for display. */
  fields: Record<string, JsonValue>;
  /**
   * Set when `fields` keeps only the fields the analysis reads (`report` at scale, analysis/compact-record.ts):
   * every field as logged is re-read from the log by `ref` when it is shown.
   */
  fieldsElided?: true;
  /** Header names the log carries (`http.headers` is otherwise unknown). */
  knownHeaders?: string[];
  /** Name of the format the entry was read with (`istio`, `envoy`, `json`, `als`, `custom`, `ztunnel`, `ztunnel-json`, `ztunnel-legacy`). */
  format?: string;
  /** For ztunnel (Istio ambient) access-log lines: what ztunnel logged. */
  ztunnel?: ZtunnelLogFacts;
}

/** What ztunnel's cause for a failed connection means (the `error` field, classified). */
export type ZtunnelErrorCause =
  | 'policy-rejection'
  | 'policy-change'
  | 'network-policy-timeout'
  | 'cert-revoked'
  | 'tls'
  | 'identity'
  | 'http2-handshake'
  | 'h2'
  | 'http-status'
  | 'ip-mismatch'
  | 'unknown-waypoint'
  | 'no-healthy-upstream'
  | 'connection-failed'
  | 'io'
  | 'dns'
  | 'routing'
  | 'drain'
  | 'other';

export interface ZtunnelError {
  /** The `error` value as logged. */
  text: string;
  cause: ZtunnelErrorCause;
  /** For `policy-rejection`: ztunnel's reason (`AuthorizationRejectionError`). */
  rejection?: 'explicitly-denied' | 'not-allowed' | 'workload-not-found' | 'workload-mismatch' | 'unspecified';
  /** For `explicitly-denied`: the DENY policy `ns/name`. */
  policy?: string;
  /** For `http-status`: the status code the peer answered the CONNECT with. */
  status?: number;
  /** One line for people. */
  meaning: string;
}

/** A ztunnel access-log entry (scope `access`), or a pre-1.22 proxy span line, as facts. */
export interface ZtunnelLogFacts {
  /** `connection opened` / `connection complete` / `connection failed`, or the legacy message. */
  message: string;
  level?: string;
  direction?: 'inbound' | 'outbound';
  srcWorkload?: string;
  srcNamespace?: string;
  /** Present only with mTLS. */
  srcIdentity?: string;
  dstAddr?: string;
  /** The HBONE target (`ip:port` or `host:port`): the real destination when dst.addr is :15008. */
  dstHboneAddr?: string;
  dstService?: string;
  dstWorkload?: string;
  dstNamespace?: string;
  dstIdentity?: string;
  error?: ZtunnelError;
  /** Pre-1.22 lines: the span id that ties a connection's lines together. */
  connectionId?: string;
}

export type FlowSecurity = 'mtls' | 'tls' | 'plaintext' | 'unknown';

export interface HttpExchange {
  /** Frame numbers of the request start / response start. */
  requestFrame?: number;
  responseFrame?: number;
  time?: string;
  method?: string;
  path?: string;
  authority?: string;
  version?: string;
  /** Request headers (lower-case names). Secrets are redacted by reporters, not here. */
  headers: HeaderMap;
  status?: number;
  responseHeaders?: HeaderMap;
  /** HTTP/2 stream id. */
  streamId?: number;
  /** Some header fields were not kept: the decoded header list exceeded the decoder's limit (HPACK amplification). */
  headersTruncated?: boolean;
}

/** One statement of a cleartext protocol (SQL text, a Redis command, a MongoDB command name). */
export interface AppStatement {
  frame: number;
  kind: 'login' | 'query' | 'prepare' | 'command';
  /** As captured (bounded); reporters redact passwords and AUTH arguments unless --show-secrets. */
  text: string;
}

/** A cleartext database/cache protocol named on a flow, and what a responder needs from it. */
export interface AppProtocolFacts {
  protocol: 'mysql' | 'postgresql' | 'redis' | 'mongodb';
  serverVersion?: string;
  user?: string;
  database?: string;
  /** PostgreSQL: the authentication the server asked for (cleartext-password, md5, sasl). */
  auth?: string;
  /** A password (or AUTH) was sent in this session; its value is never kept. */
  passwordSent?: boolean;
  statements: AppStatement[];
  /** Statements beyond the bound, counted. */
  statementsNotKept: number;
  /** Error responses (MySQL ERR, PostgreSQL ErrorResponse), bounded. */
  errors?: { frame: number; text: string }[];
}

/** One X.509 certificate as seen in a TLS ≤ 1.2 handshake (parsed with Node's crypto.X509Certificate). */
export interface CertificateInfo {
  /** Subject in RFC 2253 order ("CN=x,O=y"), "" when empty. */
  subject: string;
  issuer: string;
  serialNumber: string;
  /** RFC 3339 UTC. */
  validFrom: string;
  validTo: string;
  uriSans: string[];
  dnsSans: string[];
  ipSans?: string[];
  fingerprint256: string;
  /** DER size in bytes. */
  size: number;
}

export interface FlowTls {
  version: string | null;
  sni: string | null;
  /** ALPN offered by the client. */
  alpn: string[];
  /** ALPN selected by the server, when visible (TLS ≤ 1.2). */
  alpnSelected: string | null;
  clientCertificateRequested: boolean | null;
  clientCertificateSent: boolean | null;
  uriSans: string[];
  dnsSans: string[];
  subject?: string | null;
  serverUriSans?: string[];
  serverDnsSans?: string[];
  resumed?: boolean | null;
  helloRetryRequest?: boolean;
  /** Certificate chains as sent (leaf first), TLS ≤ 1.2 only. */
  clientChain?: CertificateInfo[];
  serverChain?: CertificateInfo[];
  /** The ClientHello offered resumption (non-empty session id, session ticket or pre_shared_key). */
  resumptionOffered?: boolean;
  /** Negotiated cipher suite (IANA number) when the ServerHello was seen. */
  cipherSuite?: number | null;
  /** Its IANA name (e.g. TLS_AES_128_GCM_SHA256), or its hex code when not in the registry table. */
  cipherSuiteName?: string | null;
  /** Client fingerprints of the (first, complete) ClientHello: JA3 (MD5 hex) and JA4 (FoxIO). */
  ja3?: string | null;
  ja4?: string | null;
  /** Frames of the key handshake messages, for evidence. */
  frames?: { clientHello?: number; serverHello?: number; certificateRequest?: number; clientCertificate?: number; serverCertificate?: number };
  /** With a key log (`--keylog`): what record decryption achieved for this session. */
  decryption?: TlsDecryption;
}

/**
 * Record decryption with key-log secrets. `decrypted`: records opened (TLS 1.3: the encrypted
 * handshake, so the client Certificate is seen); `no-key`: the key log has no secrets for this
 * ClientHello.random; `failed`: the secrets did not open the records (authentication failed);
 * `unsupported`: a cipher suite or version not decrypted.
 */
export interface TlsDecryption {
  status: 'decrypted' | 'no-key' | 'failed' | 'unsupported';
  reason?: string;
  /** ClientHello.random (hex), the key log's lookup key. */
  clientRandom?: string;
  /** Records opened, per direction. */
  records: { c2s: number; s2c: number };
  /** Application-data plaintext bytes, per direction. */
  plaintextBytes: { c2s: number; s2c: number };
  /** Records that failed to open (tag mismatch) or could not be read (not captured). */
  failed: number;
  notCaptured: number;
  /** The protocol inside (`http/1.1`, `h2`, `tcp`, ...), when application data was decrypted. */
  protocol?: string;
}

/** Encapsulations meshsleuth decapsulates (flow.tunnel.kind). */
export type TunnelKind =
  | 'vxlan'
  | 'vxlan-gpe'
  | 'geneve'
  | 'gre'
  | 'gre-in-udp'
  | 'erspan-i'
  | 'erspan-ii'
  | 'erspan-iii'
  | 'ipip'
  | '6in4'
  | '4in6'
  | '6in6'
  | 'mpls-in-udp'
  | 'mpls-in-ip'
  | 'nsh'
  | 'teredo'
  | 'wccp'
  | 'pptp';

/** One encapsulation around a packet: its kind, the outer IP header and its identifiers. */
export interface TunnelLayer {
  kind: TunnelKind;
  /** The enclosing IP packet's addresses (and UDP ports for UDP-based tunnels); on a flow, src is the client's side. */
  outer: { src: string; dst: string; srcPort?: number; dstPort?: number };
  /** VXLAN / VXLAN-GPE / Geneve network identifier. */
  vni?: number;
  /** GRE key (PPTP: the call id). */
  key?: number;
  /** ERSPAN session id, and the mirrored frame's VLAN when set. */
  session?: number;
  vlan?: number;
  /** Geneve options (class, type, data length in bytes). */
  options?: { class: number; type: number; length: number }[];
  /** NSH service path id. */
  servicePath?: number;
}

/** How a flow was carried: the innermost encapsulation's fields, and every layer outermost first. */
export interface FlowTunnel extends TunnelLayer {
  layers: TunnelLayer[];
}

/** A flow's security verdict checked against the mTLS mode its destination port has in a config dump. */
export interface FlowConfigCheck {
  /** The config dump (proxy) used. */
  proxy: string;
  /** How the proxy was chosen: the server IP is one of its IPs, or the only dump given. */
  matchedBy: 'server-ip' | 'only-dump';
  listener: string;
  port: number | '*';
  mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE' | 'UNKNOWN';
  /** true: the verdict fits the mode; false: it contradicts it; null: cannot tell. */
  consistent: boolean | null;
  note: string;
}

export interface Flow {
  id: string;
  file: string;
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  /** RFC 3339 UTC, capture precision. */
  start: string;
  end: string;
  startMs: number;
  endMs: number;
  packets: number;
  bytes: { clientToServer: number; serverToClient: number };
  /** Seconds from the first to the last packet. */
  duration?: number;
  /**
   * Zeek's conn.log conn_state: S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH
   * (e.g. RSTR right after a ClientHello: the server refused the handshake).
   */
  connState?: string;
  /** 1-based frame numbers in the capture file. */
  frames: number[];
  security: FlowSecurity;
  evidence: string[];
  /** True when the verdict is inferred from Istio's ClientHello conventions (ALPN/SNI), not from a seen certificate. */
  inferred?: boolean;
  /** 0-based connection index in the capture, in first-packet order (like tshark's tcp.stream). */
  stream?: number;
  /** With `flows --config`: the verdict checked against the destination port's inbound mTLS mode. */
  configCheck?: FlowConfigCheck;
  /** Both halves of mTLS (`flows --config` with the client's dump too): what the client sidecar sent and why, what STRICT would do. */
  halves?: BothHalves;
  /** With Kubernetes/Calico/Istio objects (`flows --config`, `report`): every policy layer's verdict on this flow. */
  networkLayers?: FlowNetworkLayers;
  tls: FlowTls | null;
  protocol: string;
  http: HttpExchange[];
  /** Cleartext MySQL/PostgreSQL/Redis/MongoDB: login facts and statements seen. */
  app?: AppProtocolFacts;
  sidecarLocal: boolean;
  interface?: string;
  /** The encapsulation the flow was captured in (VXLAN, Geneve, GRE, ...); null when none. */
  tunnel?: FlowTunnel | null;
  /**
   * When the same packets were captured on more than one path (a pod's veth and the node's
   * overlay, or several interfaces of `tcpdump -i any`): packets per path. Copies are counted
   * once in `packets` and `bytes`; `duplicatePackets` says how many copies were folded in.
   */
  views?: { path: string; packets: number }[];
  duplicatePackets?: number;
  notes: string[];
}

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';

export interface Finding {
  /** Stable id: `plaintext-flow`, `rbac-denied`, ... */
  id: string;
  severity: Severity;
  summary: string;
  evidence: EvidenceRef[];
  fix?: string;
  /** Structured details (workloads, policy, counts). */
  details?: Record<string, JsonValue>;
}

/** A record replayed through the RBAC engine. */
export interface Explanation {
  record: AccessRecord;
  decision: Decision | null;
  /** `not-from-this-proxy`: the record's local address is not the proxy's (or no dump is its proxy's): nothing to compare. */
  verdict: 'agrees' | 'disagrees' | 'undecidable' | 'not-from-this-proxy';
  reason: string;
  /** Which evidence told plaintext from mTLS (e.g. `requested-server-name`, `peer-uri-san`). */
  identityEvidence: string[];
  /**
   * What Envoy logged, classified: `allowed`, `denied` (with `loggedPolicy`), `no-filter-chain`,
   * `rejected` (the HTTP connection manager answered before any filter, e.g. `path_normalization_failed`),
   * `not-evaluated`, `unknown`.
   */
  logged?: 'allowed' | 'denied' | 'no-filter-chain' | 'rejected' | 'not-evaluated' | 'unknown';
  /** The policy id from `rbac_access_denied_matched_policy[...]` (`none` when no ALLOW policy matched). */
  loggedPolicy?: string;
  /** Downstream security inferred for the record. */
  security?: 'mtls' | 'tls' | 'plaintext' | 'unknown';
  /** Attributes the record lacked that the decision needed (when undecidable). */
  missing?: string[];
  /** The config dump the record was replayed through (the one in force at its time, among several). */
  dump?: string;
}
