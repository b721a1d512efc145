/**
 * Both halves of mTLS for one flow (analysis/both-halves.ts): what the client sidecar's outbound cluster
 * sends, what the server sidecar's inbound port accepts, what STRICT would do, and where to fix first.
 */

/** A client sidecar cluster's TLS mode (istio/outbound.ts). */
export type OutboundTlsMode = 'istio-mutual' | 'auto-mtls' | 'mutual' | 'simple' | 'plaintext' | 'passthrough' | 'blackhole' | 'unknown';

export type ServerMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE' | 'UNKNOWN';

/** What the client sidecar would send to this endpoint, one way it could have been reached. */
export interface ClientPath {
  /** `direct`: the app dialed S:p itself; `service`: S:p is an endpoint of this cluster. */
  how: 'direct' | 'service';
  cluster: string;
  mode: OutboundTlsMode;
  sni: string | null;
  alpn: string[];
  reason: string;
  /** A short cause for summaries: `undeclared port`, `endpoint without sidecar`, `DestinationRule … DISABLE`, … */
  cause: string;
  /** What to change on the client side so this path sends mTLS (null when it already does). */
  fix: string | null;
}

export interface ClientHalf {
  proxy: string;
  /** Every way the client sidecar could have sent this flow, and what each puts on the wire. */
  paths: ClientPath[];
  /** The path(s) that explain what was captured; empty when none does. */
  explaining: ClientPath[];
  /** One sentence: "client sidecar sent plaintext because …". */
  explanation: string;
  /**
   * Set when what the client sent is UNDECIDABLE from the evidence: the evidence that would decide it
   * (e.g. `the config dump of default/sleep's sidecar (10.244.1.5)`).
   */
  undecidable?: string;
}

export interface ClientMismatch {
  field: 'security' | 'sni' | 'alpn' | 'client-certificate' | 'server-certificate';
  expected: string;
  observed: string;
  note: string;
}

export interface BothHalves {
  client: ClientHalf | null;
  server: { proxy: string; mode: ServerMode } | null;
  /** "client sidecar sent plaintext because …; server port 9002 accepted it because PERMISSIVE". */
  explanation: string;
  /** What a STRICT server port would do with this flow; null when not a plaintext flow or the server is unknown. */
  underStrict: 'rejected: filter_chain_not_found' | 'accepted' | null;
  /** Where to fix first: the client's config, the server's mode, or nothing to fix. */
  fixFirst: 'client' | 'server' | null;
  remediation: string;
  /** The capture disagrees with what the client's cluster would send. */
  mismatches: ClientMismatch[];
}

