/**
 * The attributes of one connection / request as Envoy's RBAC filters read them.
 * See ../shared/DESIGN.md "Core records" and research/envoy-rbac-semantics.md §1.
 * Absent means "not present on the connection" (e.g. no `tls` = plaintext).
 */

export interface Endpoint {
  address: string;
  port?: number;
}

export interface PeerTls {
  /** Negotiated TLS version, e.g. "TLSv1.3", when known. */
  version?: string;
  uriSans: string[];
  dnsSans: string[];
  /** Peer certificate subject, RFC 2253-ish string ("" when none). */
  subject: string;
  /** Whether the peer presented a certificate that validated. */
  peerCertificateValidated: boolean;
}

/** Header multimap: lower-case names, values in arrival order. */
export type HeaderMap = Record<string, string[]>;

export interface HttpAttrs {
  method?: string;
  /** `:path` as Envoy sees it (query and fragment included, not decoded). */
  path?: string;
  /** `:authority` / Host. */
  authority?: string;
  scheme?: string;
  protocol?: string;
  headers: HeaderMap;
}

/** JSON value as found in dynamic metadata and filter state. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface ConnectionAttrs {
  /** `source` in the request JSON: the downstream remote address (after PROXY protocol / XFF handling it may differ from directRemote). */
  source?: Endpoint;
  directRemote?: Endpoint;
  remote?: Endpoint;
  destination?: Endpoint;
  /** SNI requested by the client (requested_server_name). */
  sni?: string;
  /** TLS facts of the downstream connection; absent = plaintext. */
  tls?: PeerTls;
  /** ALPN protocols offered / negotiated, when known (used for filter-chain selection). */
  alpn?: string[];
  /** Transport protocol as the tls_inspector would report it ("tls" | "raw_buffer"); derived from `tls` when absent. */
  transportProtocol?: string;
  /** Dynamic metadata by filter namespace. */
  metadata?: Record<string, JsonValue>;
  /** Filter state by key (string-serialized where Envoy serializes it). */
  filterState?: Record<string, JsonValue>;
}

export interface RequestAttrs extends ConnectionAttrs {
  /** Present for HTTP requests, absent for a TCP connection. */
  http?: HttpAttrs;
  /**
   * Metadata of the route the request matched (`filter_metadata`: namespace → Struct), what `sourced_metadata`
   * with `metadata_source: ROUTE` reads; null = no route matched. Only used with a bare RBAC filter config (a full
   * dump's matched route supplies it); absent there = not known (UNDECIDABLE for ROUTE matchers).
   */
  routeMetadata?: Record<string, JsonValue> | null;
}
