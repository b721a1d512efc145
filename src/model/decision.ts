/**
 * The result of evaluating RBAC filters for one request or connection.
 * See ../shared/DESIGN.md ("Decision", `check -o json`).
 */

/** One node of an explanation trace. Leaves name the attribute read, its value and what was expected. */
export interface TraceNode {
  /** Matcher kind, named after the Envoy proto variant: `and_rules`, `header`, `authenticated`, ... */
  node: string;
  /** true / false, or 'undecidable' when the matcher could not be evaluated faithfully. */
  matched: boolean | 'undecidable';
  /** Human-readable one-liner, e.g. `principal: none (plaintext connection) — needs authenticated spiffe://...`. */
  detail: string;
  /** The attribute read (e.g. `:method`, `source.principal`, `destination.port`). */
  attribute?: string;
  /** The value the attribute had (null = absent). */
  actual?: string | number | boolean | null | string[];
  /** The value or pattern it was compared with. */
  expected?: string;
  children?: TraceNode[];
}

export type DecisionResult = 'ALLOW' | 'DENY' | 'UNDECIDABLE';

export interface PolicyEvaluation {
  name: string;
  matched: boolean | 'undecidable';
  /** Tree with `permissions` and `principals` children. */
  trace: TraceNode;
  /** When not matched: the failing leaves, for "closest miss" and one-line explanations. */
  failing?: TraceNode[];
  undecidableReason?: string;
  /** Set when no request can match the policy, by its structure alone (Istio's allow-nothing `not any`): never a closest miss. */
  neverMatches?: boolean;
}

export interface FilterDecision {
  /** Filter name as configured, e.g. `envoy.filters.http.rbac`. */
  name: string;
  kind: 'http' | 'network';
  /** ALLOW / DENY / LOG; CUSTOM is reported as the shadow DENY with `custom` set by the Istio layer. */
  action: 'ALLOW' | 'DENY' | 'LOG';
  shadow: boolean;
  /** What this filter decided for the request (for shadow filters: what it would have decided). */
  result: DecisionResult;
  effectivePolicy: string | null;
  policies: PolicyEvaluation[];
  /** Dynamic metadata Envoy would write (shadow results), keyed by namespace then key. */
  dynamicMetadata?: Record<string, Record<string, string>>;
  note?: string;
  /** False when this filter's result is not enforced (shadow rules only, or no rules at all). */
  enforcing?: boolean;
  /** The shadow engine's decision when the filter has both enforced and shadow rules. */
  shadowDecision?: FilterDecision;
  /** Set by the composition for Istio CUSTOM filters: the ext_authz provider the request would be sent to. */
  custom?: { provider: string; wouldBeSent: boolean };
}

export interface ClosestMiss {
  policy: string;
  /** Number of failing leaves (lower is closer). */
  failedConditions: number;
  failing: TraceNode[];
  summary: string;
}

export interface Decision {
  decision: DecisionResult;
  /** The policy id Envoy would report for the deciding filter, null when none. */
  policy: string | null;
  /** What Envoy would log in RESPONSE_CODE_DETAILS (HTTP) on a deny, or `via_upstream`-like on allow when known. */
  responseCodeDetails: string | null;
  /** What Envoy would log in CONNECTION_TERMINATION_DETAILS (network RBAC deny). */
  connectionTerminationDetails?: string | null;
  filters: FilterDecision[];
  closestMiss?: ClosestMiss[];
  /** The config dump (its source file) the decision was made over, when chosen among several (explain). */
  config?: string;
  /** Listener / filter chain chosen when evaluated over a full config dump. */
  listener?: string | null;
  filterChain?: string | null;
  /** Why the decision is UNDECIDABLE, or other notes (e.g. CUSTOM → sent to ext_authz provider). */
  reasons?: string[];
  /**
   * The HTTP connection manager rewrote `:path` before routing and the HTTP filters (normalize_path,
   * merge_slashes, path_with_escaped_slashes_action): RBAC saw `path`, the client sent `original`.
   */
  pathRewrite?: { original: string; path: string; steps: string[] };
  /**
   * The HTTP connection manager answered the request itself before any HTTP filter ran (e.g. 400 or 307
   * `path_normalization_failed`): not an RBAC result. `decision` is then DENY (the request is not served)
   * with no filters and no policy.
   */
  localReply?: { by: 'http_connection_manager'; status: number; details: string; reason: string; location?: string };
}
