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
import { VERSION } from '../version.js';
import { explainText } from '../rbac/index.js';
import { correlate, fmtAddr, isLoopback, type Correlation, type Direction } from './correlate.js';
import { eventSecurity } from './request-events.js';
import { computeFindings, FINDING_IDS, SEVERITY_ORDER, loggedRbacDeny, type PolicyDoc } from './findings.js';
import { buildTimeline, nodeIdFor, TIMELINE_LIMITS, type TimelineEvent, type TimelineLimits } from './timeline.js';
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
  /** Finding ids that involve this node. */
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
  records: EvidenceRef[];
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

/** Builds the whole report model from gathered evidence. Pure: no I/O. */
export function buildReportModel(ev: Evidence, opts: BuildOptions): ReportModel {
  // Every policy layer's verdict on each observed flow, from the Kubernetes/Calico/Istio objects given.
  const layers = ev.k8sObjects?.length ? FlowLayerEvaluator.fromObjects(ev.k8sObjects, { nodeLayersOnly: true }) : null;
  if (layers) annotateNetworkLayers(ev.flows, layers);
  const c = ev.correlation && ev.correlation.skewMs === opts.skewMs ? ev.correlation : correlate(ev.flows, ev.records, ev.explanations, ev.proxies, ev.inventory, { skewMs: opts.skewMs });
  const findings = computeFindings({ flows: ev.flows, records: ev.records, explanations: ev.explanations, proxies: ev.proxies, policies: ev.policies, correlation: c, showSecrets: opts.showSecrets, ztunnels: ev.ztunnels });
  if (layers) {
    // Observed flows against NetworkPolicy / admin tiers / Calico (findings stay in severity order).
    appendAll(findings, networkLayerFindings(ev.flows, ev.k8sObjects ?? [], layers, ev.attempts));
    appendAll(findings, networkLintFindings(layers));
    findings.sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity));
  }
  const timeline = buildTimeline(ev.flows, ev.records, findings, c, opts.showSecrets, opts.limits?.timeline ?? TIMELINE_LIMITS, true, ev.attempts);
  const att = ev.attempts;
  /** Every captured flow, summarised attempts included. */
  const totalFlows = ev.flows.length + (att?.total ?? 0);
  const { events, untimed } = timeline;

  // Which findings cite which evidence / nodes.
  const citeKey = (r: EvidenceRef): string => `${r.file}|${r.line ?? ''}|${r.frame ?? ''}`;
  const cites = new Map<string, Set<string>>();
  for (const f of findings) for (const e of f.evidence) {
    const s = cites.get(citeKey(e)) ?? new Set<string>();
    s.add(f.id);
    cites.set(citeKey(e), s);
  }

  // ---- Graph.
  const nodes = new Map<string, GraphNode>();
  const addressLimit = opts.limits?.graphAddresses ?? GRAPH_ADDRESS_LIMIT;
  let addressNodes = 0;
  const otherAddresses = new Set<string>();
  /** The `ip:*` node, "other addresses". */
  const otherNode = (): GraphNode => {
    let o = nodes.get('ip:*');
    if (!o) {
      o = { id: 'ip:*', label: 'other addresses', namespace: null, kind: 'address', serviceAccount: null, pods: [], ips: [], sidecar: null, findings: [], addresses: 0 };
      nodes.set('ip:*', o);
    }
    return o;
  };
  const ensureNode = (ip: string | undefined): string | null => {
    if (!ip) return null;
    let id = nodeIdFor(c, ip)!;
    if (id.startsWith('ip:') && !nodes.has(id)) {
      if (addressNodes >= addressLimit) {
        id = 'ip:*';
        const o = otherNode();
        if (!otherAddresses.has(ip)) {
          otherAddresses.add(ip);
          o.addresses = otherAddresses.size;
          if (o.ips.length < 100) o.ips.push(ip);
        }
        return id;
      }
      addressNodes++;
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
  };
  const edges = new Map<string, GraphEdge>();
  const edge = (from: string, to: string, port: number | null): GraphEdge => {
    const k = `${from}|${to}|${port ?? ''}`;
    let e = edges.get(k);
    if (!e) {
      e = { from, to, port, flows: emptySec(), requests: { allowed: 0, denied: 0, rejected: 0 }, requestSecurity: emptySec(), marks: [], security: 'unknown' };
      edges.set(k, e);
    }
    return e;
  };

  const flowViews: FlowView[] = [];
  const fl = opts.limits?.flows ?? FLOW_LIMITS;
  const listAllFlows = totalFlows <= fl.listAll;
  const flowKinds = new Map<string, { listed: FlowView[]; rest: number; last: Flow | null; lastOrd: number }>();
  const flowKind = (f: Flow, cn: string | null, sn: string | null, recs: AccessRecord[], firstCapture: Flow | undefined): string =>
    `${cn}|${sn}|${fmtAddr(f.server.ip, f.server.port)}|${f.security}|${f.protocol}|${f.sidecarLocal}|${f.tls?.sni ?? ''}|${f.tls?.uriSans[0] ?? ''}|${f.evidence.join(',')}|${recs.length > 0}|${firstCapture ? 1 : 0}`;
  /** The graph nodes of each summarised attempt group (attempts.ts): its client's (or "other addresses"), its server's. */
  const groupNodes = new Map<AttemptGroup, { cn: string | null; sn: string | null }>();
  let uncitedFlows = 0;
  let flowsAggregated = 0;
  const plainByScope: Record<LegScope, number> = { 'sidecar-local': 0, loopback: 0, 'between-workloads': 0, unattributed: 0 };
  // With summarised attempts, each group's first exemplars come where they were read among the flows
  // (attempts.ts inReadOrder): the group's edge counts all of it at its first, its other attempts are
  // counted on its kind below.
  const items = att ? inReadOrder(ev.flows, att, true) : ev.flows.map((flow, ord) => ({ flow, ord, group: null as AttemptGroup | null, index: 0 }));
  for (const { flow: f, ord, group } of items) {
    const recs = c.flowRecords.get(f) ?? [];
    let cn: string | null = null;
    let sn: string | null = null;
    // The graph draws only what left the pod (scope.ts): sidecar-local and loopback legs are no edge.
    const scope = legScope(f, c.resolve);
    // A connection captured at both ends counts once (correlate.ts copyOf).
    const copy = c.copyOf.has(f);
    if (f.security === 'plaintext' && !copy) plainByScope[scope]++;
    if (group) {
      // (an attempt always left the pod: attempts.ts isUnansweredAttempt)
      let gn = groupNodes.get(group);
      if (!gn) {
        const client = group.fold === 'address' ? ensureNode(f.client.ip) : otherNode().id;
        const server = group.fold === 'all' ? otherNode().id : ensureNode(f.server.ip);
        gn = { cn: client, sn: server };
        groupNodes.set(group, gn);
        if (client && server) edge(client, server, group.fold === 'all' ? null : f.server.port).flows[f.security] += group.count;
      }
      cn = gn.cn;
      sn = gn.sn;
    } else if (leftThePod(scope)) {
      cn = ensureNode(f.client.ip);
      sn = ensureNode(f.server.ip);
      if (cn && sn && !copy) edge(cn, sn, f.server.port).flows[f.security]++;
    } else {
      cn = nodeIdFor(c, f.client.ip) ?? null;
      sn = nodeIdFor(c, f.server.ip) ?? null;
    }
    const firstCapture = c.copyOf.get(f);
    let kind: { listed: FlowView[]; rest: number; last: Flow | null; lastOrd: number } | undefined;
    if (!listAllFlows) {
      const cited = cites.has(citeKey({ file: f.file, frame: f.frames[0] })) || f.http.some((x) => x.requestFrame !== undefined && cites.has(citeKey({ file: f.file, frame: x.requestFrame }))) || (f.app?.statements.some((x) => cites.has(citeKey({ file: f.file, frame: x.frame }))) ?? false);
      if (!cited) {
        const k = flowKind(f, cn, sn, recs, firstCapture);
        kind = flowKinds.get(k);
        if (!kind && uncitedFlows >= fl.max) {
          // A kind first seen once `max` flows are listed can list none: counted, and no entry kept for it
          // (a capture of a million connections from as many clients has as many kinds).
          flowsAggregated++;
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
          flowsAggregated++;
          continue;
        }
        uncitedFlows++;
      }
    }
    const view: FlowView = { ...f, http: f.http.map((x) => redactExchange(x, opts.showSecrets)), ...(f.app ? { app: redactAppFacts(f.app, opts.showSecrets, REPORT_STATEMENTS_PER_FLOW) } : {}), clientNode: cn, serverNode: sn, records: recs.map((r) => r.ref), sameConnectionAs: firstCapture ? { file: firstCapture.file, frame: firstCapture.frames[0] } : null };
    kind?.listed.push(view);
    flowViews.push(view);
  }
  // A group's attempts after its first exemplars: never cited (attempts.ts), so counted on the kind its first
  // ones met (or, when none could be listed any more, counted only), as the loop above would have.
  for (const g of att?.groups ?? []) {
    const rest = g.count - g.first.length;
    if (rest <= 0) continue;
    flowsAggregated += rest;
    if (listAllFlows) throw new Error('summarised connection attempts need more than FLOW_LIMITS.listAll flows (attempts.ts threshold)');
    const gn = groupNodes.get(g)!;
    const kind = flowKinds.get(flowKind(g.first[0]!.f, gn.cn, gn.sn, [], undefined));
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

  // ---- Requests: each request event (request-events.ts) counts once on its edge, with its connection's
  // security (a joined capture's proof beats the log's inference).
  const dirOf = (r: AccessRecord): Direction => c.recordDirection.get(r) ?? 'unknown';
  for (const evt of c.events) {
    const wired = evt.records.map((r) => c.recordWire.get(r) ?? {}).find((w) => w.client && w.server);
    const leg = wired?.client && wired.server ? { client: wired.client, server: wired.server } : evt.flow ? { client: evt.flow.client, server: evt.flow.server } : undefined;
    if (!leg || !leftThePod(legScope(leg, c.resolve))) continue;
    const cn = ensureNode(leg.client.ip);
    const sn = ensureNode(leg.server.ip);
    if (!cn || !sn) continue;
    const e = edge(cn, sn, leg.server.port ?? null);
    if (evt.records.some((r) => loggedRbacDeny(r))) e.requests.denied++;
    else if (evt.records.some((r) => /(^|,)NR(,|$)/.test(r.responseFlags ?? ''))) e.requests.rejected++;
    else e.requests.allowed++;
    e.requestSecurity[eventSecurity(evt, dirOf).security]++;
  }

  const requestViews: RequestView[] = [];
  const rl = opts.limits?.requests ?? REQUEST_LIMITS;
  const listAll = ev.records.length <= rl.listAll;
  const kinds = new Map<string, { listed: RequestView[]; rest: number; last: AccessRecord | null }>();
  let uncitedListed = 0;
  let requestsAggregated = 0;
  for (const r of ev.records) {
    const wire = c.recordWire.get(r) ?? {};
    const dir = dirOf(r);
    const peer = c.securityOf(r);
    const local = !wire.client || !wire.server || !leftThePod(legScope({ client: wire.client, server: wire.server }, c.resolve));
    const cn = (local ? nodeIdFor(c, wire.client?.ip) : ensureNode(wire.client?.ip)) ?? null;
    const sn = (local ? nodeIdFor(c, wire.server?.ip) : ensureNode(wire.server?.ip)) ?? null;
    const link = c.recordFlow.get(r);
    const ex = c.explanationFor.get(r);
    const cited = cites.get(citeKey(r.ref));
    let kind: { listed: RequestView[]; rest: number; last: AccessRecord | null } | undefined;
    if (!listAll && !cited) {
      // An exemplar of its kind, or counted on the last exemplar listed.
      const verdict = ex?.verdict ?? '';
      const k = `${c.recordProxy.get(r)?.source ?? ''}|${dir}|${r.kind}|${cn}|${sn}|${wire.server ? fmtAddr(wire.server.ip, wire.server.port) : ''}|${r.attrs.http?.method ?? ''}|${r.attrs.http?.path !== undefined ? redactPath(r.attrs.http.path, opts.showSecrets) : ''}|${r.responseCode ?? ''}|${r.responseCodeDetails ?? ''}|${r.connectionTerminationDetails ?? ''}|${r.responseFlags ?? ''}|${peer.security}|${peer.principal ?? ''}|${verdict}|${ex?.reason ?? ''}`;
      kind = kinds.get(k);
      if (!kind) {
        kind = { listed: [], rest: 0, last: null };
        kinds.set(k, kind);
      }
      const cap = verdict === '' || verdict === 'agrees' ? rl.perKind : rl.perKindUnexplained;
      if (kind.listed.length >= cap || uncitedListed >= rl.max) {
        kind.rest++;
        kind.last = r;
        requestsAggregated++;
        continue;
      }
      uncitedListed++;
    }
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
    kind?.listed.push(view);
    requestViews.push(view);
  }
  for (const k of kinds.values()) {
    if (k.rest === 0 || !k.last) continue;
    const tail = k.listed[k.listed.length - 1];
    if (tail) tail.more = { count: k.rest, until: k.last.time ?? null, last: k.last.ref };
  }

  for (const e of edges.values()) {
    const marks: EdgeMark[] = [];
    for (const s of ['mtls', 'tls', 'plaintext', 'unknown'] as const) if (e.flows[s] + e.requestSecurity[s] > 0) marks.push(s);
    if (e.requests.denied + e.requests.rejected > 0) marks.push('denied');
    e.marks = marks;
    e.security = marks.includes('plaintext') ? 'plaintext' : marks.includes('tls') ? 'tls' : marks.includes('mtls') ? 'mtls' : 'unknown';
  }
  // Findings per node: any finding whose details mention the node's workload or one of its IPs.
  for (const f of findings) {
    const text = JSON.stringify(f.details ?? {});
    for (const n of nodes.values()) {
      if (n.ips.some((ip) => text.includes(`"${ip}`) || text.includes(`${ip}:`)) && !n.findings.includes(f.id)) n.findings.push(f.id);
    }
  }

  // ---- Time range.
  let lo = Infinity;
  let hi = -Infinity;
  let loS: string | null = null;
  let hiS: string | null = null;
  const see = (ms: number | undefined, s: string | undefined): void => {
    if (ms === undefined || !s || !Number.isFinite(ms)) return;
    if (ms < lo) {
      lo = ms;
      loS = s;
    }
    if (ms > hi) {
      hi = ms;
      hiS = s;
    }
  };
  for (const f of ev.flows) {
    see(f.startMs, f.start);
    see(f.endMs, f.end);
  }
  for (const g of att?.groups ?? []) {
    see(g.minStart.ms, g.minStart.s);
    see(g.maxEnd.ms, g.maxEnd.s);
  }
  for (const r of ev.records) see(r.timeMs, r.time);

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

  /** Distinct connections (a connection captured at both ends is one), counted without a second list of them. */
  const connections = { length: 0, mtls: 0, tls: 0, plaintext: 0, unknown: 0, sidecarLocal: 0 };
  for (const f of ev.flows) {
    if (c.copyOf.has(f)) continue;
    connections.length++;
    connections[f.security]++;
    if (f.sidecarLocal) connections.sidecarLocal++;
  }
  for (const g of att?.groups ?? []) {
    // (never another capture's copy, never sidecar-local: attempts.ts)
    connections.length += g.count;
    connections[g.first[0]!.f.security] += g.count;
  }
  const byKind: Record<string, number> = {};
  for (const i of manifestInputs) byKind[i.kind] = (byKind[i.kind] ?? 0) + 1;
  const bySeverity = Object.fromEntries(SEVERITY_ORDER.map((s) => [s, 0])) as Record<Severity, number>;
  const byId: Record<string, number> = {};
  for (const f of findings) {
    bySeverity[f.severity]++;
    byId[f.id] = (byId[f.id] ?? 0) + 1;
  }
  const exCounts = { agrees: 0, disagrees: 0, undecidable: 0, notFromThisProxy: 0 };
  for (const e of ev.explanations) exCounts[e.verdict === 'not-from-this-proxy' ? 'notFromThisProxy' : e.verdict]++;

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

  return {
    schema: REPORT_SCHEMA,
    manifest: {
      tool: { name: 'meshsleuth', version: VERSION },
      generatedAt: opts.generatedAt ?? generationTime(),
      inputs: manifestInputs,
      skipped,
      timeRange: { start: loS, end: hiS },
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
        total: ev.records.length,
        requests: c.events.length,
        http: ev.records.filter((r) => r.kind === 'http').length,
        tcp: ev.records.filter((r) => r.kind === 'tcp').length,
        denied: ev.records.filter((r) => loggedRbacDeny(r)).length,
        rejected: ev.records.filter((r) => /(^|,)NR(,|$)/.test(r.responseFlags ?? '')).length,
        correlatedWithCapture: c.links.length,
      },
      explanations: exCounts,
      findings: { total: findings.length, bySeverity, byId },
      proxies: ev.proxies.length,
      workloads: nodeList.filter((n) => n.kind === 'workload').length,
      timelineEvents: timeline.total,
      recordsWithoutTime: untimed,
      ...(listAll && timeline.aggregated === 0 && flowsAggregated === 0
        ? {}
        : { aggregated: { requests: { listed: requestViews.length, total: ev.records.length }, timeline: { listed: events.length, total: timeline.total }, flows: { listed: flowViews.length, total: totalFlows } } }),
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
