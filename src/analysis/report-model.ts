/**
 * The report model: everything `meshsleuth report` knows, in one JSON-serialisable object that the
 * HTML, JSON, SARIF and table reporters only format. It carries a chain-of-custody manifest: the
 * sha256 of every input (computed by streaming the file), the tool version, and the time range
 * covered by the evidence.
 */
import type { AccessRecord, EvidenceRef, Explanation, Finding, Flow, FlowSecurity, HttpExchange, Severity } from '../model/records.js';
import type { Diagnostic } from '../model/errors.js';
import type { Decision, TraceNode } from '../model/decision.js';
import type { HeaderMap, JsonValue } from '../model/attrs.js';
import type { Inventory } from '../readers/inventory.js';
import type { K8sObject } from '../readers/k8s.js';
import { annotateNetworkLayers, FlowLayerEvaluator, networkLayerFindings, networkLintFindings } from './network-layers.js';
import { appendAll } from '../model/arrays.js';
import type { DetectedInput, InputKind } from '../readers/detect.js';
import type { WindowCounts } from './evidence.js';
import { isSecretHeader, redactAppFacts, redactDeep, redactHeaders, redactPath } from '../model/redact.js';
import { isIP } from 'node:net';
import { normalizeIp } from '../readers/ip-text.js';
import { VERSION } from '../version.js';
import { explainText } from '../rbac/index.js';
import { correlate, fmtAddr, isLoopback, type Correlation, type Direction } from './correlate.js';
import type { RecordLookup } from './record-facts.js';
import { eventSecurity, type RequestEvent } from './request-events.js';
import { computeFindings, FINDING_IDS, SEVERITY_ORDER, loggedRbacDeny, type PolicyDoc } from './findings.js';
import { nodeIdFor, TimelineBuilder, TIMELINE_LIMITS, type TimelineEvent, type TimelineLimits } from './timeline.js';
import { flowFactsFromCorrelation, type FlowFacts } from './flow-facts.js';
import type { ProxyView } from './proxies.js';
import type { ZtunnelConfig } from '../ztunnel/model.js';
import { legScope, leftThePod, type LegScope } from './scope.js';
import { inReadOrder, type AttemptGroup, type SummarisedAttempts } from './attempts.js';

export const REPORT_SCHEMA = 'meshsleuth.report/v1';

export interface ManifestInput {
  path: string;
  kind: InputKind;
  format: string | null;
  bytes: number;
  /** Hex sha256 of the whole file, computed by streaming it. */
  sha256: string | null;
  /** Records / flows / dumps / objects read from it. */
  items: number;
  /** Problems met while reading it (each listed in `diagnostics`). */
  problems: number;
  /** The file is gzip or Zstandard-compressed (read decompressed): `bytes` and `sha256` are the compressed file's. */
  compressed?: 'gzip' | 'zstd';
}

export interface SkippedInput {
  path: string;
  reason: string;
  sha256?: string | null;
}

export interface Manifest {
  tool: { name: 'meshsleuth'; version: string };
  /** When the report was made (SOURCE_DATE_EPOCH when set, for reproducible output). */
  generatedAt: string;
  inputs: ManifestInput[];
  skipped: SkippedInput[];
  /** Earliest and latest event time across captures and logs (RFC 3339 UTC), null when none. */
  timeRange: { start: string | null; end: string | null };
  /** Clock-skew window tolerated when joining captures and logs (± ms). */
  skewMs: number;
  observedSkew: Correlation['observedSkew'];
  secretsShown: boolean;
  /**
   * Present when the report was limited to a time window (`--since` / `--until`, RFC 3339 UTC, null when
   * open): the records outside it or without a time, and the captured connections outside it (± the skew
   * window), were read and hashed but left out of the analysis.
   */
  window?: { since: string | null; until: string | null; recordsOutside: number; recordsWithoutTime: number; flowsOutside: number };
}

export interface GraphNode {
  id: string;
  label: string;
  namespace: string | null;
  kind: 'workload' | 'service' | 'node' | 'address' | 'local';
  serviceAccount: string | null;
  pods: string[];
  ips: string[];
  sidecar: boolean | null;
  /** Ids of the findings whose details name one of this node's IPs exactly (addressesInDetails), in FINDING_IDS order. */
  findings: string[];
  /** On the `ip:*` node (see GRAPH_ADDRESS_LIMIT): how many distinct addresses it stands for (`ips` lists the first 100). */
  addresses?: number;
}

/**
 * Unresolved addresses drawn as nodes of their own, at most; the addresses met after that (a scan, a
 * SYN flood from spoofed sources) are one node `ip:*`, "other addresses", so the graph stays drawable
 * and its edges bounded while every connection and request is still counted on an edge.
 */
export const GRAPH_ADDRESS_LIMIT = 1000;

export type EdgeMark = 'mtls' | 'tls' | 'plaintext' | 'unknown' | 'denied';

export interface GraphEdge {
  from: string;
  to: string;
  port: number | null;
  /** Connections seen in captures, by security verdict. */
  flows: Record<FlowSecurity, number>;
  /**
   * Requests (HTTP) or connections (TCP) seen in logs, each once however many logs and captures saw it
   * (analysis/request-events.ts): allowed, denied by RBAC, rejected (NR).
   */
  requests: { allowed: number; denied: number; rejected: number };
  /** The same requests by the security of the connection that carried them: the joined capture's verdict, else the receiving log's. */
  requestSecurity: Record<FlowSecurity, number>;
  /** What the edge is drawn as; `denied` when any was denied. */
  marks: EdgeMark[];
  /** The dominant mark for styling: plaintext > tls > mtls > unknown. */
  security: FlowSecurity;
}

export interface FlowView extends Omit<Flow, 'http'> {
  http: HttpExchange[];
  clientNode: string | null;
  serverNode: string | null;
  /** The log records joined to this flow (correlate.ts): the first FLOW_RECORD_REFS (100) in the order the records were added. */
  records: EvidenceRef[];
  /**
   * Present when more records were joined to this flow than `records` lists (FLOW_RECORD_REFS): how many
   * more (the exact count is `records.length + recordsNotListed`). Absent when all are listed.
   */
  recordsNotListed?: number;
  /** Set when this flow is another capture's view of a connection already listed (counted once, there). */
  sameConnectionAs: EvidenceRef | null;
  /**
   * Set on the last listed connection of a kind when a large capture lists exemplars (see FlowLimits):
   * `count` more connections like this one (same ends, server port, verdict, protocol, SNI, identity and
   * evidence) were not listed; the last of them started at `until`, its first frame `last`.
   */
  more?: { count: number; until: string; last: EvidenceRef };
}

export interface RequestView {
  ref: EvidenceRef;
  time: string | null;
  node: string | null;
  proxy: string | null;
  direction: string;
  kind: 'http' | 'tcp';
  client: string | null;
  server: string | null;
  clientNode: string | null;
  serverNode: string | null;
  method: string | null;
  path: string | null;
  authority: string | null;
  responseCode: number | null;
  responseCodeDetails: string | null;
  connectionTerminationDetails: string | null;
  responseFlags: string | null;
  /** The security of the connection that carried it: the joined capture's proof beats the log's inference. */
  peerSecurity: FlowSecurity;
  /** Which source decided peerSecurity (null when unknown). */
  securityFrom: 'capture' | 'access-log' | null;
  principal: string | null;
  /** The request event it belongs to (records of one request on one hop share it). */
  event: string | null;
  /** The capture evidence of the same connection (5-tuple + time, or request id). */
  flow: EvidenceRef | null;
  correlatedBy: string | null;
  explanation: {
    verdict: Explanation['verdict'];
    reason: string;
    decision: Decision | null;
    /** The decision explained in words (src/rbac explainText). */
    text: string | null;
    identityEvidence: string[];
  } | null;
  findings: string[];
  /**
   * Every field as logged (secrets redacted), for records cited by a finding or whose replay did not
   * agree; null for the rest (the log file itself, hashed in the manifest, keeps them).
   */
  fields: Record<string, JsonValue> | null;
  /**
   * Set on the last listed record of a kind when a large report lists exemplars (see RequestLimits):
   * `count` more records like this one (same proxy, direction, ends, request, answer and replay verdict)
   * were not listed; the last of them at `until`, its evidence `last`.
   */
  more?: { count: number; until: string | null; last: EvidenceRef };
}

export interface ProxySummary {
  source: string;
  nodeId: string | null;
  pod: string | null;
  namespace: string | null;
  ips: string[];
  /** The newest `last_updated` of the dump's listeners (RFC 3339 UTC): the config is known to be in force from then; null when none says. */
  asOf: string | null;
  mtls: { port: number | null; mode: string; listener: string }[];
  rbacFilters: { listener: string; chain: string; port: number | null; kind: string; action: string | null; shadowAction: string | null; policies: string[]; shadowPolicies: string[]; jsonPath: string }[];
}

export interface ReportSummary {
  inputs: Record<string, number>;
  skipped: number;
  flows: {
    /** Distinct connections (the counts below are over these). */
    total: number;
    /** Flows that are another capture's view of a connection counted already (captured at both ends). */
    capturedTwice: number;
    mtls: number;
    tls: number;
    plaintext: number;
    unknown: number;
    sidecarLocal: number;
    /** Plaintext connections by scope (analysis/scope.ts); `plaintextLeftPod` = between workloads + unattributed. */
    plaintextLeftPod: number;
    plaintextBetweenWorkloads: number;
    plaintextUnattributed: number;
    plaintextLoopback: number;
    plaintextSidecarLocal: number;
  };
  /** `requests`: distinct requests/connections (request events: a request logged by both sidecars and captured is one). */
  records: { total: number; requests: number; http: number; tcp: number; denied: number; rejected: number; correlatedWithCapture: number };
  /** Replay verdicts; `notFromThisProxy`: records whose local address is not their dump's proxy's (not compared). */
  explanations: { agrees: number; disagrees: number; undecidable: number; notFromThisProxy: number };
  findings: { total: number; bySeverity: Record<Severity, number>; byId: Record<string, number> };
  proxies: number;
  workloads: number;
  /** Every timeline event, listed or counted in an aggregate. */
  timelineEvents: number;
  recordsWithoutTime: number;
  /**
   * Present when the evidence was too large to list every record and event: how many the report lists
   * (exemplars; every count above stays exact). See RequestLimits and TimelineLimits.
   */
  aggregated?: { requests: { listed: number; total: number }; timeline: { listed: number; total: number }; flows: { listed: number; total: number } };
}

export interface ReportModel {
  schema: typeof REPORT_SCHEMA;
  manifest: Manifest;
  summary: ReportSummary;
  findings: Finding[];
  graph: { nodes: GraphNode[]; edges: GraphEdge[] };
  timeline: TimelineEvent[];
  flows: FlowView[];
  requests: RequestView[];
  proxies: ProxySummary[];
  inventory: { pods: number; services: number; serviceAccounts: number } | null;
  diagnostics: { severity: string; where: string; message: string }[];
}

/** What the loader gathered: parsed evidence plus the per-input bookkeeping for the manifest. */
export interface Evidence {
  inputs: DetectedInput[];
  hashes: Map<string, string | null>;
  items: Map<string, number>;
  problems: Map<string, number>;
  /** Inputs that were detected but could not be read at all (path → reason). */
  unreadable: Map<string, string>;
  /** Compressed inputs whose data does not decompress to its end (damaged or cut short); what came before is used. */
  damaged?: Set<string>;
  /** Per capture read: the TCP connections handed over unfinished to bound memory (idle, or over the open cap). */
  captureTcp?: Map<string, { evictedIdle: number; evictedOverCap: number }>;
  flows: Flow[];
  /** Connection attempts nobody answered, summarised while gathering (attempts.ts): not in `flows`, counted and listed from these. */
  attempts?: SummarisedAttempts;
  records: AccessRecord[];
  explanations: Explanation[];
  proxies: ProxyView[];
  inventory: Inventory | null;
  policies: PolicyDoc[];
  /** Kubernetes objects read from inventories and policy manifests (NetworkPolicy, Calico, ...), for the network layers. */
  k8sObjects?: K8sObject[];
  diagnostics: Diagnostic[];
  /** ztunnel (ambient) config dumps. */
  ztunnels?: ZtunnelConfig[];
  /** The --since/--until window applied while reading, and what it left out. */
  window?: WindowCounts;
  /**
   * The correlation of these flows and records already built while gathering (with the inventory, and
   * `explanationFor` filled with `explanations`); built here when absent.
   */
  correlation?: Correlation;
}

/**
 * How the request list stays readable and bounded on large evidence: up to `listAll` records are all
 * listed; beyond that records cited by a finding are always listed, and of the rest each kind (same
 * proxy, direction, ends, method, path, answer and replay verdict) lists its first `perKind` records in
 * input order (`perKindUnexplained` when the replay did not agree) and counts the rest on the last one
 * listed (`more`); at most `max` uncited records are listed in all.
 */
export interface RequestLimits {
  listAll: number;
  perKind: number;
  perKindUnexplained: number;
  max: number;
}

export const REQUEST_LIMITS: RequestLimits = { listAll: 1000, perKind: 3, perKindUnexplained: 20, max: 2000 };

/** The same for captured connections: all listed up to `listAll`; beyond, cited ones plus `perKind` of each kind, `max` in all. */
export interface FlowLimits {
  listAll: number;
  perKind: number;
  max: number;
}

export const FLOW_LIMITS: FlowLimits = { listAll: 2000, perKind: 3, max: 2000 };

/**
 * Cleartext statements (SQL, Redis, MongoDB commands) kept per listed connection in the report, redacted
 * as `flows` redacts them; the rest are counted in `app.statementsNotKept` (`flows -o json` keeps up to
 * the decoder's bound, src/protocols/cleartext MAX_STATEMENTS).
 */
export const REPORT_STATEMENTS_PER_FLOW = 20;

export interface BuildOptions {
  skewMs: number;
  showSecrets: boolean;
  /** Exemplar limits for large evidence (defaults REQUEST_LIMITS, TIMELINE_LIMITS). */
  limits?: { requests?: RequestLimits; timeline?: TimelineLimits; flows?: FlowLimits; graphAddresses?: number };
  /** Overrides the generation time (default: SOURCE_DATE_EPOCH or now). */
  generatedAt?: string;
}

export function generationTime(): string {
  const sde = process.env.SOURCE_DATE_EPOCH;
  if (sde && /^\d+$/.test(sde)) return new Date(Number(sde) * 1000).toISOString();
  return new Date().toISOString();
}

/** Every field as logged, with credentials redacted at any depth (JSON logs nest header maps). */
function redactFields(fields: Record<string, JsonValue>, show: boolean): Record<string, JsonValue> {
  return redactDeep(fields, show);
}

function redactTrace(n: TraceNode): TraceNode {
  const secret = n.attribute !== undefined && isSecretHeader(n.attribute.replace(/^request\.headers\[|\]$/g, ''));
  const out: TraceNode = { ...n };
  if (secret && n.actual !== undefined && n.actual !== null) {
    const vals = Array.isArray(n.actual) ? n.actual : [String(n.actual)];
    let detail = n.detail;
    for (const v of vals) if (String(v).length > 0) detail = detail.split(String(v)).join('[redacted]');
    out.detail = detail;
    out.actual = Array.isArray(n.actual) ? n.actual.map(() => '[redacted]') : '[redacted]';
  }
  if (n.children) out.children = n.children.map(redactTrace);
  return out;
}

function redactDecision(d: Decision | null, show: boolean): Decision | null {
  if (!d || show) return d;
  return {
    ...d,
    filters: d.filters.map((f) => ({ ...f, policies: f.policies.map((p) => ({ ...p, trace: redactTrace(p.trace), ...(p.failing ? { failing: p.failing.map(redactTrace) } : {}) })) })),
    ...(d.closestMiss ? { closestMiss: d.closestMiss.map((m) => ({ ...m, failing: m.failing.map(redactTrace) })) } : {}),
  };
}

function redactExchange(x: HttpExchange, show: boolean): HttpExchange {
  return { ...x, ...(x.path !== undefined ? { path: redactPath(x.path, show) } : {}), headers: redactHeaders(x.headers, show), ...(x.responseHeaders ? { responseHeaders: redactHeaders(x.responseHeaders as HeaderMap, show) } : {}) };
}

function explanationView(ex: Explanation, show: boolean): NonNullable<RequestView['explanation']> {
  const decision = redactDecision(ex.decision, show);
  let text: string | null = null;
  if (decision) {
    try {
      text = explainText(decision);
    } catch {
      text = null;
    }
  }
  return { verdict: ex.verdict, reason: ex.reason, decision, text, identityEvidence: ex.identityEvidence };
}

const emptySec = (): Record<FlowSecurity, number> => ({ mtls: 0, tls: 0, plaintext: 0, unknown: 0 });

/** Evidence refs a finding cites, keyed by file, line and frame (how the views find what cites a record or flow). */
const citeKey = (r: EvidenceRef): string => `${r.file}|${r.line ?? ''}|${r.frame ?? ''}`;

/**
 * What ReportViewsBuilder is built from: the static evidence (everything `Evidence` holds but the records
 * and their explanations, which are added one at a time), the correlation, the final findings and FlowFacts.
 */
export interface ViewsInput extends Pick<Evidence, 'inputs' | 'hashes' | 'items' | 'problems' | 'unreadable' | 'flows' | 'attempts' | 'proxies' | 'inventory' | 'diagnostics' | 'window'> {
  /**
   * Flow-level parts (`copyOf`, `copies`, `resolve`, `observedSkew`) for every flow; per-record lookups
   * (`recordWire`, `recordDirection`, `recordProxy`, `recordFlow`, `recordEvent`, `explanationFor`,
   * `securityOf`) only for the record being added and the records of its event. Never its lists
   * (`events`, `flowEvents`, `flowRecords`, `links`).
   */
  correlation: Correlation;
  /** The final findings (network-layer findings included, in severity order): the views cite them. */
  findings: Finding[];
  /** What the records say about each flow: complete before `addFlows`. */
  flowFacts: FlowFacts;
  /**
   * The replay's verdict and reason of the record being added (undefined: not replayed), when known without
   * its whole explanation: then `correlation.explanationFor` is asked only for the records listed (a streaming
   * report replays only those again: report-stream.ts). Without it, `explanationFor` gives both.
   */
  replayVerdict?: RecordLookup<AccessRecord, ReplayVerdict>;
}

/** What the request list's counts and kinds need of a record's replay (an Explanation is one). */
export interface ReplayVerdict {
  readonly verdict: Explanation['verdict'];
  readonly reason: string;
}

type RequestKind = { listed: RequestView[]; rest: number; last: { time: string | null; ref: EvidenceRef } | null };

/**
 * What makes a request kind (ReportViewsBuilder.addRecord): proxy, direction, record kind, client and server
 * nodes, server address, method, path, response code, details, flags, peer security, principal, verdict,
 * replay reason.
 */
const KIND_PARTS = 16;
type KindPart = string | number | null;

/**
 * A map keyed by a fixed number of parts, one level of maps per part: a lookup hashes each part (most are
 * strings shared between records, whose hash V8 keeps) instead of a key string joined per record, which cost
 * more than the rest of addRecord together (issue 17, report speed). Parts are compared as Map keys
 * (SameValueZero), so two keys differ when any part does. `values` in insertion order.
 */
class PartsMap<V> {
  private readonly root = new Map<KindPart, unknown>();
  readonly values: V[] = [];
  constructor(private readonly n: number) {}

  get(parts: readonly KindPart[]): V | undefined {
    let m = this.root;
    for (let i = 0; i < this.n - 1; i++) {
      const next = m.get(parts[i]!) as Map<KindPart, unknown> | undefined;
      if (next === undefined) return undefined;
      m = next;
    }
    return m.get(parts[this.n - 1]!) as V | undefined;
  }

  set(parts: readonly KindPart[], v: V): void {
    let m = this.root;
    for (let i = 0; i < this.n - 1; i++) {
      let next = m.get(parts[i]!) as Map<KindPart, unknown> | undefined;
      if (next === undefined) m.set(parts[i]!, (next = new Map<KindPart, unknown>()));
      m = next;
    }
    if (!m.has(parts[this.n - 1]!)) this.values.push(v);
    m.set(parts[this.n - 1]!, v);
  }
}
type FlowKind = { listed: FlowView[]; rest: number; last: Flow | null; lastOrd: number };

/**
 * Builds the report model incrementally (issue 17, streaming report), so its memory grows with flows,
 * workloads, kinds and exemplar limits, never with the records:
 *  - `addFlows()` once: the graph's connection edges, the flow views, the timeline's capture rows, the
 *    connection counts;
 *  - `addEvent(e)` for each request event, complete (`e.records` final, inbound first), in creation order:
 *    its timeline row, its request on a graph edge;
 *  - `addRecord(r)` for each record, in the order the report lists them: its request view (or its count
 *    on its kind's exemplar), the summary's record counters, explanation verdicts and time range;
 *  - `finish()`: the ReportModel.
 * Events and records may interleave (a streaming driver adds an event right before its first record);
 * the model is the same either way but for which unresolved addresses get a graph node of their own (see
 * `ensureNode`). Whether every record is listed (`RequestLimits.listAll`) is decided at `finish`: up to
 * then both answers are kept, each bounded (`listAll` views, and the exemplars).
 */
export class ReportViewsBuilder {
  private readonly c: Correlation;
  private readonly findings: Finding[];
  private readonly facts: FlowFacts;
  private readonly timeline: TimelineBuilder;
  /** Which findings cite which evidence (file, line, frame). */
  private readonly cites = new Map<string, Set<string>>();
  private readonly nodes = new Map<string, GraphNode>();
  private readonly addressLimit: number;
  private addressNodes = 0;
  private readonly otherAddresses = new Set<string>();
  private readonly edges = new Map<string, GraphEdge>();
  /** Every captured flow, summarised attempts included. */
  private readonly totalFlows: number;
  private readonly flowViews: FlowView[] = [];
  private flowsAggregated = 0;
  private readonly plainByScope: Record<LegScope, number> = { 'sidecar-local': 0, loopback: 0, 'between-workloads': 0, unattributed: 0 };
  /** Distinct connections (a connection captured at both ends is one), counted without a second list of them. */
  private readonly connections = { length: 0, mtls: 0, tls: 0, plaintext: 0, unknown: 0, sidecarLocal: 0 };
  private readonly rl: RequestLimits;
  /** Every record's view while no more than `listAll` records were added; null after. */
  private allViews: RequestView[] | null = [];
  /** The views listed when records are more than `listAll`: cited ones, and each kind's exemplars. */
  private readonly exemplarViews: RequestView[] = [];
  /** Each kind of uncited record by its parts (see addRecord), and the parts of the record being added. */
  private readonly kinds = new PartsMap<RequestKind>(KIND_PARTS);
  private readonly kindParts: KindPart[] = new Array<KindPart>(KIND_PARTS).fill('');
  private uncitedListed = 0;
  private readonly records = { total: 0, http: 0, tcp: 0, denied: 0, rejected: 0, correlatedWithCapture: 0 };
  private requests = 0;
  private readonly exCounts = { agrees: 0, disagrees: 0, undecidable: 0, notFromThisProxy: 0 };
  private lo = Infinity;
  private hi = -Infinity;
  private loS: string | null = null;
  private hiS: string | null = null;
  private flowsAdded = false;
  private finished = false;

  constructor(
    private readonly input: ViewsInput,
    private readonly opts: BuildOptions,
  ) {
    this.c = input.correlation;
    this.findings = input.findings;
    this.facts = input.flowFacts;
    this.timeline = new TimelineBuilder({ flows: input.flows, findings: input.findings, correlation: input.correlation, flowFacts: input.flowFacts, showSecrets: opts.showSecrets, limits: opts.limits?.timeline ?? TIMELINE_LIMITS, compactConnections: true, ...(input.attempts ? { attempts: input.attempts } : {}) });
    this.addressLimit = opts.limits?.graphAddresses ?? GRAPH_ADDRESS_LIMIT;
    this.totalFlows = input.flows.length + (input.attempts?.total ?? 0);
    this.rl = opts.limits?.requests ?? REQUEST_LIMITS;
    for (const f of input.findings) for (const e of f.evidence) {
      const k = citeKey(e);
      const s = this.cites.get(k) ?? new Set<string>();
      s.add(f.id);
      this.cites.set(k, s);
    }
  }

  /** The `ip:*` node, "other addresses". */
  private otherNode(): GraphNode {
    let o = this.nodes.get('ip:*');
    if (!o) {
      o = { id: 'ip:*', label: 'other addresses', namespace: null, kind: 'address', serviceAccount: null, pods: [], ips: [], sidecar: null, findings: [], addresses: 0 };
      this.nodes.set('ip:*', o);
    }
    return o;
  }

  /**
   * The graph node of an address, created when first met. Unresolved addresses (`ip:<addr>`) get a node of
   * their own up to `graphAddresses` (GRAPH_ADDRESS_LIMIT): the first that many distinct ones met, in call
   * order — the flows' ends in `addFlows`, then each event's leg (`addEvent`) and each record's wire ends
   * (`addRecord`, records whose leg left the pod) as they are added; every later one folds into `ip:*`.
   * So the answer is deterministic for a given order of calls; `buildReportModel` adds every event before
   * every record (today's order), a streaming driver adds each event right before its first record, and
   * the two differ only when more than `graphAddresses` unresolved addresses are met.
   */
  private ensureNode(ip: string | undefined): string | null {
    if (!ip) return null;
    const { c, nodes } = this;
    let id = nodeIdFor(c, ip)!;
    if (id.startsWith('ip:') && !nodes.has(id)) {
      if (this.addressNodes >= this.addressLimit) {
        id = 'ip:*';
        const o = this.otherNode();
        if (!this.otherAddresses.has(ip)) {
          this.otherAddresses.add(ip);
          o.addresses = this.otherAddresses.size;
          if (o.ips.length < 100) o.ips.push(ip);
        }
        return id;
      }
      this.addressNodes++;
    }
    let n = nodes.get(id);
    if (!n) {
      const w = c.resolve(ip);
      n = {
        id,
        label: w ? w.name : isLoopback(ip) ? 'localhost' : ip,
        namespace: w?.namespace ?? null,
        kind: w ? (w.kind === 'service' ? 'service' : w.kind === 'node' ? 'node' : 'workload') : isLoopback(ip) ? 'local' : 'address',
        serviceAccount: w?.serviceAccount ?? null,
        pods: [],
        ips: [],
        sidecar: w?.sidecar ?? null,
        findings: [],
      };
      nodes.set(id, n);
    }
    const w = c.resolve(ip);
    if (!n.ips.includes(ip)) n.ips.push(ip);
    if (w?.pod && !n.pods.includes(w.pod)) n.pods.push(w.pod);
    return id;
  }

  private edge(from: string, to: string, port: number | null): GraphEdge {
    const k = `${from}|${to}|${port ?? ''}`;
    let e = this.edges.get(k);
    if (!e) {
      e = { from, to, port, flows: emptySec(), requests: { allowed: 0, denied: 0, rejected: 0 }, requestSecurity: emptySec(), marks: [], security: 'unknown' };
      this.edges.set(k, e);
    }
    return e;
  }

  private see(ms: number | undefined, s: string | undefined): void {
    if (ms === undefined || !s || !Number.isFinite(ms)) return;
    if (ms < this.lo) {
      this.lo = ms;
      this.loS = s;
    }
    if (ms > this.hi) {
      this.hi = ms;
      this.hiS = s;
    }
  }

  /**
   * The captured flows (and summarised attempts): connection edges, flow views (each listing the first
   * FLOW_RECORD_REFS records joined to it, `recordsNotListed` counting the rest), the timeline's capture
   * rows, connection counts and their times. Call once, before any event or record.
   */
  addFlows(): void {
    if (this.flowsAdded) throw new Error('ReportViewsBuilder.addFlows called twice');
    this.flowsAdded = true;
    this.timeline.addFlows();
    const { c, facts, opts, input, cites } = this;
    const att = input.attempts;
    const fl = opts.limits?.flows ?? FLOW_LIMITS;
    const listAllFlows = this.totalFlows <= fl.listAll;
    const flowKinds = new Map<string, FlowKind>();
    const flowKind = (f: Flow, cn: string | null, sn: string | null, joined: boolean, firstCapture: Flow | undefined): string =>
      `${cn}|${sn}|${fmtAddr(f.server.ip, f.server.port)}|${f.security}|${f.protocol}|${f.sidecarLocal}|${f.tls?.sni ?? ''}|${f.tls?.uriSans[0] ?? ''}|${f.evidence.join(',')}|${joined}|${firstCapture ? 1 : 0}`;
    /** The graph nodes of each summarised attempt group (attempts.ts): its client's (or "other addresses"), its server's. */
    const groupNodes = new Map<AttemptGroup, { cn: string | null; sn: string | null }>();
    let uncitedFlows = 0;
    // With summarised attempts, each group's first exemplars come where they were read among the flows
    // (attempts.ts inReadOrder): the group's edge counts all of it at its first, its other attempts are
    // counted on its kind below.
    const items = att ? inReadOrder(input.flows, att, true) : input.flows.map((flow, ord) => ({ flow, ord, group: null as AttemptGroup | null, index: 0 }));
    for (const { flow: f, ord, group } of items) {
      const recs = facts.records(f);
      let cn: string | null = null;
      let sn: string | null = null;
      // The graph draws only what left the pod (scope.ts): sidecar-local and loopback legs are no edge.
      const scope = legScope(f, c.resolve);
      // A connection captured at both ends counts once (correlate.ts copyOf).
      const copy = c.copyOf.has(f);
      if (f.security === 'plaintext' && !copy) this.plainByScope[scope]++;
      if (group) {
        // (an attempt always left the pod: attempts.ts isUnansweredAttempt)
        let gn = groupNodes.get(group);
        if (!gn) {
          const client = group.fold === 'address' ? this.ensureNode(f.client.ip) : this.otherNode().id;
          const server = group.fold === 'all' ? this.otherNode().id : this.ensureNode(f.server.ip);
          gn = { cn: client, sn: server };
          groupNodes.set(group, gn);
          if (client && server) this.edge(client, server, group.fold === 'all' ? null : f.server.port).flows[f.security] += group.count;
        }
        cn = gn.cn;
        sn = gn.sn;
      } else if (leftThePod(scope)) {
        cn = this.ensureNode(f.client.ip);
        sn = this.ensureNode(f.server.ip);
        if (cn && sn && !copy) this.edge(cn, sn, f.server.port).flows[f.security]++;
      } else {
        cn = nodeIdFor(c, f.client.ip) ?? null;
        sn = nodeIdFor(c, f.server.ip) ?? null;
      }
      const firstCapture = c.copyOf.get(f);
      let kind: FlowKind | undefined;
      if (!listAllFlows) {
        const cited = cites.has(citeKey({ file: f.file, frame: f.frames[0] })) || f.http.some((x) => x.requestFrame !== undefined && cites.has(citeKey({ file: f.file, frame: x.requestFrame }))) || (f.app?.statements.some((x) => cites.has(citeKey({ file: f.file, frame: x.frame }))) ?? false);
        if (!cited) {
          const k = flowKind(f, cn, sn, recs.count > 0, firstCapture);
          kind = flowKinds.get(k);
          if (!kind && uncitedFlows >= fl.max) {
            // A kind first seen once `max` flows are listed can list none: counted, and no entry kept for it
            // (a capture of a million connections from as many clients has as many kinds).
            this.flowsAggregated++;
            continue;
          }
          if (!kind) {
            kind = { listed: [], rest: 0, last: null, lastOrd: -1 };
            flowKinds.set(k, kind);
          }
          if (kind.listed.length >= fl.perKind || uncitedFlows >= fl.max) {
            kind.rest++;
            if (ord > kind.lastOrd) {
              kind.last = f;
              kind.lastOrd = ord;
            }
            this.flowsAggregated++;
            continue;
          }
          uncitedFlows++;
        }
      }
      const view: FlowView = {
        ...f,
        http: f.http.map((x) => redactExchange(x, opts.showSecrets)),
        ...(f.app ? { app: redactAppFacts(f.app, opts.showSecrets, REPORT_STATEMENTS_PER_FLOW) } : {}),
        clientNode: cn,
        serverNode: sn,
        records: [...recs.refs],
        ...(recs.count > recs.refs.length ? { recordsNotListed: recs.count - recs.refs.length } : {}),
        sameConnectionAs: firstCapture ? { file: firstCapture.file, frame: firstCapture.frames[0] } : null,
      };
      kind?.listed.push(view);
      this.flowViews.push(view);
    }
    // A group's attempts after its first exemplars: never cited (attempts.ts), so counted on the kind its first
    // ones met (or, when none could be listed any more, counted only), as the loop above would have.
    for (const g of att?.groups ?? []) {
      const rest = g.count - g.first.length;
      if (rest <= 0) continue;
      this.flowsAggregated += rest;
      if (listAllFlows) throw new Error('summarised connection attempts need more than FLOW_LIMITS.listAll flows (attempts.ts threshold)');
      const gn = groupNodes.get(g)!;
      const kind = flowKinds.get(flowKind(g.first[0]!.f, gn.cn, gn.sn, false, undefined));
      if (!kind) continue;
      kind.rest += rest;
      if (g.last.ord > kind.lastOrd) {
        kind.last = g.last.f;
        kind.lastOrd = g.last.ord;
      }
    }
    for (const k of flowKinds.values()) {
      const tail = k.listed[k.listed.length - 1];
      if (k.rest > 0 && k.last && tail) tail.more = { count: k.rest, until: k.last.start, last: { file: k.last.file, frame: k.last.frames[0] } };
    }

    for (const f of input.flows) {
      this.see(f.startMs, f.start);
      this.see(f.endMs, f.end);
      if (c.copyOf.has(f)) continue;
      this.connections.length++;
      this.connections[f.security]++;
      if (f.sidecarLocal) this.connections.sidecarLocal++;
    }
    for (const g of att?.groups ?? []) {
      this.see(g.minStart.ms, g.minStart.s);
      this.see(g.maxEnd.ms, g.maxEnd.s);
      // (never another capture's copy, never sidecar-local: attempts.ts)
      this.connections.length += g.count;
      this.connections[g.first[0]!.f.security] += g.count;
    }
  }

  /**
   * One request event, complete, in creation order: its timeline row, and its request counted once on its
   * graph edge (request-events.ts) with its connection's security (a joined capture's proof beats the log's
   * inference).
   */
  addEvent(evt: RequestEvent): void {
    if (!this.flowsAdded) throw new Error('ReportViewsBuilder.addEvent before addFlows');
    const c = this.c;
    this.requests++;
    this.timeline.addEvent(evt);
    const dirOf = (r: AccessRecord): Direction => c.recordDirection.get(r) ?? 'unknown';
    const wired = evt.records.map((r) => c.recordWire.get(r) ?? {}).find((w) => w.client && w.server);
    const leg = wired?.client && wired.server ? { client: wired.client, server: wired.server } : evt.flow ? { client: evt.flow.client, server: evt.flow.server } : undefined;
    if (!leg || !leftThePod(legScope(leg, c.resolve))) return;
    const cn = this.ensureNode(leg.client.ip);
    const sn = this.ensureNode(leg.server.ip);
    if (!cn || !sn) return;
    const e = this.edge(cn, sn, leg.server.port ?? null);
    if (evt.records.some((r) => loggedRbacDeny(r))) e.requests.denied++;
    else if (evt.records.some((r) => /(^|,)NR(,|$)/.test(r.responseFlags ?? ''))) e.requests.rejected++;
    else e.requests.allowed++;
    e.requestSecurity[eventSecurity(evt, dirOf).security]++;
  }

  /**
   * One record, in the order the report lists them: the summary's counters, its time, and its request
   * view — every record while no more than `listAll` were added; beyond, records cited by a finding and
   * each kind's first exemplars (RequestLimits), the rest counted on their kind's last exemplar.
   */
  addRecord(r: AccessRecord): void {
    if (!this.flowsAdded) throw new Error('ReportViewsBuilder.addRecord before addFlows');
    const { c, opts, rl } = this;
    const counts = this.records;
    counts.total++;
    if (r.kind === 'http') counts.http++;
    else if (r.kind === 'tcp') counts.tcp++;
    if (loggedRbacDeny(r)) counts.denied++;
    if (/(^|,)NR(,|$)/.test(r.responseFlags ?? '')) counts.rejected++;
    this.see(r.timeMs, r.time);
    const wire = c.recordWire.get(r) ?? {};
    const dir = c.recordDirection.get(r) ?? 'unknown';
    const peer = c.securityOf(r);
    const local = !wire.client || !wire.server || !leftThePod(legScope({ client: wire.client, server: wire.server }, c.resolve));
    const cn = (local ? nodeIdFor(c, wire.client?.ip) : this.ensureNode(wire.client?.ip)) ?? null;
    const sn = (local ? nodeIdFor(c, wire.server?.ip) : this.ensureNode(wire.server?.ip)) ?? null;
    const link = c.recordFlow.get(r);
    if (link) counts.correlatedWithCapture++;
    const verdicts = this.input.replayVerdict;
    const v = verdicts ? verdicts.get(r) : c.explanationFor.get(r);
    if (v) this.exCounts[v.verdict === 'not-from-this-proxy' ? 'notFromThisProxy' : v.verdict]++;
    const cited = this.cites.get(citeKey(r.ref));
    // Listed among the exemplars (when records turn out to be more than `listAll`)?
    let exemplar = cited !== undefined;
    let kind: RequestKind | undefined;
    if (!cited) {
      // An exemplar of its kind, or counted on the last exemplar listed.
      const verdict = v?.verdict ?? '';
      const k = this.kindParts;
      k[0] = c.recordProxy.get(r)?.source ?? '';
      k[1] = dir;
      k[2] = r.kind;
      k[3] = cn;
      k[4] = sn;
      k[5] = wire.server ? fmtAddr(wire.server.ip, wire.server.port) : '';
      k[6] = r.attrs.http?.method ?? '';
      k[7] = r.attrs.http?.path !== undefined ? redactPath(r.attrs.http.path, opts.showSecrets) : '';
      k[8] = r.responseCode ?? '';
      k[9] = r.responseCodeDetails ?? '';
      k[10] = r.connectionTerminationDetails ?? '';
      k[11] = r.responseFlags ?? '';
      k[12] = peer.security;
      k[13] = peer.principal ?? '';
      k[14] = verdict;
      k[15] = v?.reason ?? '';
      kind = this.kinds.get(k);
      // A kind first met once `max` uncited records are listed can list none: counted only, no entry kept
      // for it (its count would land on no exemplar).
      if (kind || this.uncitedListed < rl.max) {
        if (!kind) {
          kind = { listed: [], rest: 0, last: null };
          this.kinds.set(k, kind);
        }
        const cap = verdict === '' || verdict === 'agrees' ? rl.perKind : rl.perKindUnexplained;
        if (kind.listed.length >= cap || this.uncitedListed >= rl.max) {
          kind.rest++;
          // (the latest counted record: one object per kind, overwritten, not one per record)
          if (kind.last) {
            kind.last.time = r.time ?? null;
            kind.last.ref = r.ref;
          } else kind.last = { time: r.time ?? null, ref: r.ref };
        } else {
          this.uncitedListed++;
          exemplar = true;
        }
      }
    }
    const all = this.allViews !== null && counts.total <= rl.listAll ? this.allViews : null;
    if (!all) this.allViews = null;
    if (!all && !exemplar) return;
    const ex = v === undefined ? undefined : verdicts ? c.explanationFor.get(r) : (v as Explanation);
    const view: RequestView = {
      ref: r.ref,
      time: r.time ?? null,
      node: r.node ?? null,
      proxy: c.recordProxy.get(r)?.source ?? null,
      direction: dir,
      kind: r.kind,
      client: wire.client ? fmtAddr(wire.client.ip, wire.client.port) : null,
      server: wire.server ? fmtAddr(wire.server.ip, wire.server.port) : null,
      clientNode: cn,
      serverNode: sn,
      method: r.attrs.http?.method ?? null,
      path: r.attrs.http?.path !== undefined ? redactPath(r.attrs.http.path, opts.showSecrets) : null,
      authority: r.attrs.http?.authority ?? null,
      responseCode: r.responseCode ?? null,
      responseCodeDetails: r.responseCodeDetails ?? null,
      connectionTerminationDetails: r.connectionTerminationDetails ?? null,
      responseFlags: r.responseFlags ?? null,
      peerSecurity: peer.security,
      securityFrom: peer.security === 'unknown' ? null : peer.from,
      principal: peer.principal ?? null,
      event: c.recordEvent.get(r)?.id ?? null,
      flow: link ? { file: link.flow.file, frame: link.exchange !== undefined ? link.flow.http[link.exchange]?.requestFrame ?? link.flow.frames[0] : link.flow.frames[0] } : null,
      correlatedBy: link?.by ?? null,
      explanation: ex ? explanationView(ex, opts.showSecrets) : null,
      findings: [...(cited ?? [])].sort(),
      fields: null,
    };
    // (a compact record's fields are re-read from its log: evidence.ts fillElidedFields)
    if (!r.fieldsElided && (view.findings.length > 0 || (ex && ex.verdict !== 'agrees'))) view.fields = redactFields(r.fields, opts.showSecrets);
    all?.push(view);
    if (exemplar) {
      kind?.listed.push(view);
      this.exemplarViews.push(view);
    }
  }

  /** The report model (call once, after every flow, event and record was added). */
  finish(): ReportModel {
    if (!this.flowsAdded) throw new Error('ReportViewsBuilder.finish before addFlows');
    if (this.finished) throw new Error('ReportViewsBuilder.finish called twice');
    this.finished = true;
    const { c, opts, input: ev, findings, nodes, edges, totalFlows, flowViews, flowsAggregated, plainByScope, connections } = this;
    const timeline = this.timeline.finish();
    const { events, untimed } = timeline;
    const listAll = this.allViews !== null;
    let requestViews: RequestView[];
    if (this.allViews) requestViews = this.allViews;
    else {
      requestViews = this.exemplarViews;
      for (const k of this.kinds.values) {
        if (k.rest === 0 || !k.last) continue;
        const tail = k.listed[k.listed.length - 1];
        if (tail) tail.more = { count: k.rest, until: k.last.time, last: k.last.ref };
      }
    }

    for (const e of edges.values()) {
      const marks: EdgeMark[] = [];
      for (const s of ['mtls', 'tls', 'plaintext', 'unknown'] as const) if (e.flows[s] + e.requestSecurity[s] > 0) marks.push(s);
      if (e.requests.denied + e.requests.rejected > 0) marks.push('denied');
      e.marks = marks;
      e.security = marks.includes('plaintext') ? 'plaintext' : marks.includes('tls') ? 'tls' : marks.includes('mtls') ? 'mtls' : 'unknown';
    }
    // Findings per node: a finding whose details name one of the node's IPs exactly (addressesInDetails:
    // a value that is the address, or an endpoint `ip:port` / `[v6]:port` of it). Each finding's details
    // are walked once and looked up in a map of the nodes' IPs built once.
    const nodesByIp = new Map<string, GraphNode[]>();
    for (const n of nodes.values()) {
      for (const ip of n.ips) {
        const k = normalizeIp(ip);
        const at = nodesByIp.get(k);
        if (!at) nodesByIp.set(k, [n]);
        else if (!at.includes(n)) at.push(n);
      }
    }
    for (const f of findings) {
      if (f.details === undefined) continue;
      for (const ip of addressesInDetails(f.details)) {
        for (const n of nodesByIp.get(ip) ?? []) if (!n.findings.includes(f.id)) n.findings.push(f.id);
      }
    }

    // ---- Manifest.
    const manifestInputs: ManifestInput[] = [];
    const skipped: SkippedInput[] = [];
    for (const i of ev.inputs) {
      const unreadable = ev.unreadable.get(i.path);
      if (i.kind === 'unknown' || unreadable) {
        skipped.push({ path: i.path, reason: unreadable ?? i.reason ?? 'unknown kind', ...(ev.hashes.has(i.path) ? { sha256: ev.hashes.get(i.path) ?? null } : {}) });
        continue;
      }
      manifestInputs.push({ path: i.path, kind: i.kind, format: i.format ?? null, bytes: i.bytes, sha256: ev.hashes.get(i.path) ?? null, items: ev.items.get(i.path) ?? 0, problems: ev.problems.get(i.path) ?? 0, ...(i.compressed ? { compressed: i.compressed } : {}) });
    }

    const byKind: Record<string, number> = {};
    for (const i of manifestInputs) byKind[i.kind] = (byKind[i.kind] ?? 0) + 1;
    const bySeverity = Object.fromEntries(SEVERITY_ORDER.map((s) => [s, 0])) as Record<Severity, number>;
    const byId: Record<string, number> = {};
    for (const f of findings) {
      bySeverity[f.severity]++;
      byId[f.id] = (byId[f.id] ?? 0) + 1;
    }

    const proxies: ProxySummary[] = ev.proxies.map((p: ProxyView) => ({
      source: p.source,
      nodeId: p.nodeId,
      pod: p.pod,
      namespace: p.namespace,
      ips: p.ips,
      asOf: p.asOfMs !== null && Number.isFinite(p.asOfMs) ? new Date(p.asOfMs).toISOString() : null,
      mtls: p.mtls.map((m) => ({ port: m.port, mode: m.mode, listener: m.listener })),
      rbacFilters: p.rbac.map((s) => ({
        listener: s.listener,
        chain: s.chain,
        port: s.port,
        kind: s.kind,
        action: s.rules?.action ?? null,
        shadowAction: s.shadow?.action ?? null,
        policies: Object.keys(s.rules?.policies ?? {}),
        shadowPolicies: Object.keys(s.shadow?.policies ?? {}),
        jsonPath: s.jsonPath,
      })),
    }));

    const nodeList = [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id));
    for (const n of nodeList) {
      n.ips.sort();
      n.pods.sort();
      n.findings.sort((a, b) => FINDING_IDS.indexOf(a as never) - FINDING_IDS.indexOf(b as never));
    }
    const edgeList = [...edges.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to) || (a.port ?? 0) - (b.port ?? 0));
    const records = this.records;

    return {
      schema: REPORT_SCHEMA,
      manifest: {
        tool: { name: 'meshsleuth', version: VERSION },
        generatedAt: opts.generatedAt ?? generationTime(),
        inputs: manifestInputs,
        skipped,
        timeRange: { start: this.loS, end: this.hiS },
        skewMs: opts.skewMs,
        observedSkew: c.observedSkew,
        secretsShown: opts.showSecrets,
        ...(ev.window
          ? {
              window: {
                since: ev.window.sinceMs !== null ? new Date(ev.window.sinceMs).toISOString() : null,
                until: ev.window.untilMs !== null ? new Date(ev.window.untilMs).toISOString() : null,
                recordsOutside: ev.window.recordsOutside,
                recordsWithoutTime: ev.window.recordsWithoutTime,
                flowsOutside: ev.window.flowsOutside,
              },
            }
          : {}),
      },
      summary: {
        inputs: byKind,
        skipped: skipped.length,
        flows: {
          total: connections.length,
          capturedTwice: totalFlows - connections.length,
          mtls: connections.mtls,
          tls: connections.tls,
          plaintext: connections.plaintext,
          unknown: connections.unknown,
          sidecarLocal: connections.sidecarLocal,
          plaintextLeftPod: plainByScope['between-workloads'] + plainByScope.unattributed,
          plaintextBetweenWorkloads: plainByScope['between-workloads'],
          plaintextUnattributed: plainByScope.unattributed,
          plaintextLoopback: plainByScope.loopback,
          plaintextSidecarLocal: plainByScope['sidecar-local'],
        },
        records: {
          total: records.total,
          requests: this.requests,
          http: records.http,
          tcp: records.tcp,
          denied: records.denied,
          rejected: records.rejected,
          correlatedWithCapture: records.correlatedWithCapture,
        },
        explanations: { ...this.exCounts },
        findings: { total: findings.length, bySeverity, byId },
        proxies: ev.proxies.length,
        workloads: nodeList.filter((n) => n.kind === 'workload').length,
        timelineEvents: timeline.total,
        recordsWithoutTime: untimed,
        ...(listAll && timeline.aggregated === 0 && flowsAggregated === 0
          ? {}
          : { aggregated: { requests: { listed: requestViews.length, total: records.total }, timeline: { listed: events.length, total: timeline.total }, flows: { listed: flowViews.length, total: totalFlows } } }),
      },
      findings,
      graph: { nodes: nodeList, edges: edgeList },
      timeline: events,
      flows: flowViews,
      requests: requestViews,
      proxies,
      inventory: ev.inventory ? { pods: ev.inventory.pods.length, services: ev.inventory.services.length, serviceAccounts: ev.inventory.serviceAccounts.length } : null,
      diagnostics: ev.diagnostics.map((d) => ({ severity: d.severity, where: [d.location.file, d.location.line !== undefined ? `line ${d.location.line}` : '', d.location.frame !== undefined ? `frame ${d.location.frame}` : '', d.location.path ?? ''].filter(Boolean).join(', '), message: d.message })),
    };
  }
}

/**
 * Every policy layer's verdict on each observed flow (set on the flows: `networkLayers`), from the
 * Kubernetes/Calico/Istio objects given; the evaluator, or null when there are none. A report calls it
 * before its findings (they read the flows' layers), then `withNetworkLayerFindings`.
 */
export function annotateFlowLayers(ev: Pick<Evidence, 'flows' | 'k8sObjects'>): FlowLayerEvaluator | null {
  const layers = ev.k8sObjects?.length ? FlowLayerEvaluator.fromObjects(ev.k8sObjects, { nodeLayersOnly: true }) : null;
  if (layers) annotateNetworkLayers(ev.flows, layers);
  return layers;
}

/**
 * A report's final findings: `findings` (computeFindings, or FindingsBuilder.finish) with the observed flows
 * judged against NetworkPolicy / admin tiers / Calico and the layers' lint findings appended, in severity
 * order (a stable sort: each severity keeps its order). `findings` itself is extended and returned.
 */
export function withNetworkLayerFindings(findings: Finding[], ev: Pick<Evidence, 'flows' | 'k8sObjects' | 'attempts'>, layers: FlowLayerEvaluator | null): Finding[] {
  if (!layers) return findings;
  appendAll(findings, networkLayerFindings(ev.flows, ev.k8sObjects ?? [], layers, ev.attempts));
  appendAll(findings, networkLintFindings(layers));
  findings.sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity));
  return findings;
}

/**
 * Builds the whole report model from gathered evidence (every record in memory). Pure: no I/O. The
 * findings (computeFindings, plus the network layers' when Kubernetes objects were given), then
 * ReportViewsBuilder fed with `flowFactsFromCorrelation(c)`, every event of `c.events` and then every
 * record of `ev.records` in the order given.
 */
export function buildReportModel(ev: Evidence, opts: BuildOptions): ReportModel {
  const layers = annotateFlowLayers(ev);
  const c = ev.correlation && ev.correlation.skewMs === opts.skewMs ? ev.correlation : correlate(ev.flows, ev.records, ev.explanations, ev.proxies, ev.inventory, { skewMs: opts.skewMs });
  const findings = withNetworkLayerFindings(computeFindings({ flows: ev.flows, records: ev.records, explanations: ev.explanations, proxies: ev.proxies, policies: ev.policies, correlation: c, showSecrets: opts.showSecrets, ztunnels: ev.ztunnels }), ev, layers);
  const b = new ReportViewsBuilder(
    {
      inputs: ev.inputs,
      hashes: ev.hashes,
      items: ev.items,
      problems: ev.problems,
      unreadable: ev.unreadable,
      flows: ev.flows,
      ...(ev.attempts ? { attempts: ev.attempts } : {}),
      proxies: ev.proxies,
      inventory: ev.inventory,
      diagnostics: ev.diagnostics,
      ...(ev.window ? { window: ev.window } : {}),
      correlation: c,
      findings,
      flowFacts: flowFactsFromCorrelation(c),
    },
    opts,
  );
  b.addFlows();
  // Every event, then every record: the order the graph met addresses in before the builder (see ensureNode).
  for (const e of c.events) b.addEvent(e);
  for (const r of ev.records) b.addRecord(r);
  return b.finish();
}

/**
 * The IP addresses a finding's details name, each once, in the order met (normalized as node IPs are:
 * normalizeIp): every string value, at any depth, that is an IP address (`10.1.0.10`, `fd00::a`, or
 * `[fd00::a]` as fmtAddr writes an IPv6 address without a port), or an endpoint of one — `ip:port`,
 * `[v6]:port`. Nothing else counts: not a longer address
 * that starts or ends like it (`10.1.0.104`, `110.1.0.10:80` do not name 10.1.0.10), not an address
 * inside prose (an explanation, an Envoy node id `sidecar~ip~pod.ns~…`), not object keys. An unbracketed
 * IPv6 address followed by `:port` cannot be told from an address and is read as the address it spells.
 */
export function addressesInDetails(details: JsonValue, out: Set<string> = new Set()): Set<string> {
  if (typeof details === 'string') {
    const ip = endpointIp(details);
    if (ip !== null) out.add(ip);
  } else if (Array.isArray(details)) {
    for (const v of details) addressesInDetails(v, out);
  } else if (details !== null && typeof details === 'object') {
    for (const v of Object.values(details)) addressesInDetails(v, out);
  }
  return out;
}

/** `s` when it is an IP address, the IP of `[v6]` or of an `ip:port` / `[v6]:port` endpoint, else null. */
function endpointIp(s: string): string | null {
  if (s.length < 2 || s.length > 60) return null;
  if (isIP(s) !== 0) return normalizeIp(s);
  const b = /^\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?$/.exec(s);
  if (b) return isIP(b[1]!) === 6 ? normalizeIp(b[1]!) : null;
  const v4 = /^([\d.]+):(\d{1,5})$/.exec(s);
  if (v4) return isIP(v4[1]!) === 4 ? v4[1]! : null;
  return null;
}

/** `file:line`, `file#frame` (or `file#first-last`), `file @ $.json.path`, `stream[index]`. */
export function formatRef(r: EvidenceRef): string {
  if (r.frame !== undefined) {
    if (r.frames && r.frames.length === 2 && r.frames[0] !== r.frames[1]) return `${r.file}#${r.frames[0]}-${r.frames[1]}`;
    return `${r.file}#${r.frame}`;
  }
  if (r.line !== undefined) return `${r.file}:${r.line}`;
  if (r.stream !== undefined && r.index !== undefined) return `${r.file}[${r.stream}#${r.index}]`;
  if (r.path) return `${r.file} @ ${r.path}`;
  if (r.stream) return `${r.file} (${r.stream})`;
  return r.file;
}
