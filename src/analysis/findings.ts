/**
 * Findings: what an incident responder must look at, each with a stable id, a severity, evidence
 * (file:line for log records and dumps, file#frame for captures) and a suggested fix.
 *
 * Ids (stable; documented in docs/readme-report.md):
 *   plaintext-flow, plaintext-accepted, cleartext-secret, rbac-denied, verdict-mismatch,
 *   identity-address-mismatch, http-only-fields-on-tcp, allow-nothing-in-effect,
 *   dry-run-would-deny, strict-rejected-plaintext, client-config-mismatch
 */
import type { AccessRecord, EvidenceRef, Explanation, Finding, Flow, Severity } from '../model/records.js';
import type { JsonValue } from '../model/attrs.js';
import type { ClosestMiss, Decision, FilterDecision } from '../model/decision.js';
import { closestMiss } from '../rbac/explain.js';
import { UNKNOWN_NOT_LOGGED } from '../rbac/trace.js';
import { isSecretHeader, redactAppFacts, redactValue, redactPath } from '../model/redact.js';
import { parseSpiffe, type WorkloadRef } from '../readers/inventory.js';
import { normalizeIp } from '../readers/ip-text.js';
import { fmtAddr, isLoopback, type Correlation, type HostPort } from './correlate.js';
import { loggedSecurity, type RequestEvent } from './request-events.js';
import { modeForPort, type ProxyView, type RbacFilterSite } from './proxies.js';
import { isAmbientKubeletProbe } from '../ztunnel/hbone.js';
import { AmbientFindingsBuilder } from './ztunnel-findings.js';
import { ZTUNNEL_CALLER_EVIDENCE } from './waypoint-callers.js';
import type { ZtunnelConfig } from '../ztunnel/model.js';
import { legScope, leftThePod, type LegScope } from './scope.js';
import { bothHalves, clientModelFor, loggedPlaintextHalves, type BothHalves, type ClientLogFacts } from './both-halves.js';
import { flowFactsFromCorrelation, type FlowFacts } from './flow-facts.js';
import { appendAll } from '../model/arrays.js';

export const FINDING_IDS = [
  'plaintext-flow',
  'plaintext-accepted',
  'cleartext-secret',
  'rbac-denied',
  'verdict-mismatch',
  'identity-address-mismatch',
  'http-only-fields-on-tcp',
  'allow-nothing-in-effect',
  'dry-run-would-deny',
  'strict-rejected-plaintext',
  'client-config-mismatch',
  'ztunnel-policy-rejected',
  'ambient-allow-http-fields',
  'hbone-blocked',
  // Computed by network-layers.ts (NetworkPolicy / admin tiers / Calico on observed flows).
  'network-policy-not-enforced',
  'network-policy-explains-unanswered',
] as const;
export type FindingId = (typeof FINDING_IDS)[number];

/** `--fail-on` conditions and the finding ids that trip each. */
export const FAIL_ON: Record<string, FindingId[]> = {
  plaintext: ['plaintext-flow', 'plaintext-accepted', 'cleartext-secret'],
  denied: ['rbac-denied', 'strict-rejected-plaintext', 'ztunnel-policy-rejected'],
  mismatch: ['verdict-mismatch', 'client-config-mismatch'],
  identity: ['identity-address-mismatch'],
};

export const SEVERITY_ORDER: Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

/** An Istio security policy read from YAML/JSON (AuthorizationPolicy, PeerAuthentication...). */
export interface PolicyDoc {
  file: string;
  line?: number;
  path?: string;
  kind: string;
  name: string;
  namespace: string;
  spec: Record<string, unknown>;
  annotations: Record<string, string>;
}

export interface FindingsInput {
  flows: Flow[];
  records: AccessRecord[];
  explanations: Explanation[];
  proxies: ProxyView[];
  policies: PolicyDoc[];
  correlation: Correlation;
  showSecrets?: boolean;
  /** ztunnel (ambient) config dumps among the evidence. */
  ztunnels?: ZtunnelConfig[];
}

/** How many evidence references a finding lists (the count is always complete). */
export const MAX_EVIDENCE = 50;

const RBAC_DENY = /^rbac_access_denied_matched_policy\[(.*)\]$/;

/** The policy named in a logged RBAC deny (`none` when an ALLOW filter matched nothing), or null. */
export function loggedRbacDeny(r: AccessRecord): { policy: string; layer: 'http' | 'network' } | null {
  const d = r.responseCodeDetails && RBAC_DENY.exec(r.responseCodeDetails);
  if (d) return { policy: d[1]!, layer: 'http' };
  const t = r.connectionTerminationDetails && RBAC_DENY.exec(r.connectionTerminationDetails);
  if (t) return { policy: t[1]!, layer: 'network' };
  return null;
}

/** Istio policy id `ns[<ns>]-policy[<name>]-rule[<i>]` (with optional ext-authz prefix) for display. */
export function describePolicyId(id: string): string {
  const m = /^(istio-ext-authz-(?:[^[]*-)?)?ns\[([^\]]*)\]-policy\[([^\]]*)\]-rule\[(\d+)\]/.exec(id);
  if (!m) return id === 'none' ? 'no ALLOW policy matched (none)' : id;
  return `${m[1] ? 'CUSTOM ' : ''}AuthorizationPolicy ${m[2]}/${m[3]} rule ${m[4]}`;
}

export function recordRef(r: AccessRecord): EvidenceRef {
  return r.ref;
}

export function flowRef(f: Flow, frame?: number): EvidenceRef {
  const first = frame ?? f.frames[0];
  const ref: EvidenceRef = { file: f.file };
  if (first !== undefined) ref.frame = first;
  if (f.frames.length > 1 && frame === undefined) ref.frames = [f.frames[0]!, f.frames[f.frames.length - 1]!];
  return ref;
}

/** What the record says about the downstream peer (meaningful on the server/inbound side); see inferSecurity. */
export function recordPeer(r: AccessRecord): { security: 'mtls' | 'tls' | 'plaintext' | 'unknown'; principal?: string } {
  const fsP = r.attrs.filterState?.['io.istio.peer_principal'];
  const principal = r.attrs.tls?.uriSans?.[0] ?? (typeof fsP === 'string' ? fsP : undefined);
  const { security } = loggedSecurity(r);
  return principal !== undefined ? { security, principal } : { security };
}

/**
 * What one occurrence is evidence of, so that a request seen in a capture and in a log counts once:
 * - `key`: a captured connection (`flow:<id>`), one of its cleartext exchanges (`flow:<id>#<x>`), or a record
 *   that belongs to no request event (`record:<file>:<line>`);
 * - `events`: every request event a first flow carried (`count` = flowFacts.eventCount), counted at once;
 * - `event`: the request event of a record (request-events.ts).
 */
type Unit = { kind: 'key'; key: string } | { kind: 'events'; flow: Flow; count: number } | { kind: 'event'; event: RequestEvent };

function keyUnit(key: string): Unit {
  return { kind: 'key', key };
}

interface Group {
  key: string;
  count: number;
  /** `key` units already counted (bounded by the flows and their exchanges). */
  keys?: Set<string>;
  /** First flows whose request events were counted at once: their events' records add nothing more. */
  eventFlows?: Set<Flow>;
  evidence: EvidenceRef[];
  firstMs?: number;
  lastMs?: number;
  data: Record<string, JsonValue>;
  severity: Severity;
  summary: string;
  fix: string;
  id: FindingId;
}

class Grouper {
  readonly groups = new Map<string, Group>();
  /**
   * The groups each request event was already counted in, kept with the event (which lives while its records
   * are added) rather than as a set of event ids per group, which would grow with the records.
   */
  private readonly eventGroups = new WeakMap<RequestEvent, Group[]>();
  /**
   * Adds one occurrence. With a `unit` (what it is evidence of), the count grows only when that unit was not
   * counted in the group yet, so a request seen in a capture and in a log counts once; the evidence of both
   * is kept. Every flow-side unit is added before any record's (FindingsBuilder.addFlows comes first): an
   * event whose flow's events were counted at once is already in the count.
   */
  add(id: FindingId, key: string, init: () => Omit<Group, 'key' | 'count' | 'evidence' | 'id'>, ev: EvidenceRef[], timeMs?: number, unit?: Unit): Group {
    const k = `${id}|${key}`;
    let g = this.groups.get(k);
    if (!g) {
      g = { ...init(), id, key: k, count: 0, evidence: [] };
      this.groups.set(k, g);
    }
    if (!unit) g.count++;
    else if (unit.kind === 'key') {
      g.keys ??= new Set();
      if (!g.keys.has(unit.key)) {
        g.keys.add(unit.key);
        g.count++;
      }
    } else if (unit.kind === 'events') {
      g.eventFlows ??= new Set();
      if (!g.eventFlows.has(unit.flow)) {
        g.eventFlows.add(unit.flow);
        g.count += unit.count;
      }
    } else {
      const e = unit.event;
      if (!(e.flow && g.eventFlows?.has(e.flow))) {
        const counted = this.eventGroups.get(e);
        if (!counted) {
          this.eventGroups.set(e, [g]);
          g.count++;
        } else if (!counted.includes(g)) {
          counted.push(g);
          g.count++;
        }
      }
    }
    for (const e of ev) if (g.evidence.length < MAX_EVIDENCE) g.evidence.push(e);
    if (timeMs !== undefined) {
      g.firstMs = g.firstMs === undefined ? timeMs : Math.min(g.firstMs, timeMs);
      g.lastMs = g.lastMs === undefined ? timeMs : Math.max(g.lastMs, timeMs);
    }
    return g;
  }
}

function wlName(w: WorkloadRef | undefined, ip: string): string {
  if (!w) return ip;
  return `${w.namespace ? `${w.namespace}/` : ''}${w.name}`;
}

function wlDetails(w: WorkloadRef | undefined, ip: string, port?: number): Record<string, JsonValue> {
  const d: Record<string, JsonValue> = { address: fmtAddr(ip, port) };
  if (w) {
    d.workload = w.name;
    if (w.namespace) d.namespace = w.namespace;
    if (w.pod) d.pod = w.pod;
    if (w.serviceAccount) d.serviceAccount = w.serviceAccount;
    d.resolvedFrom = w.source;
  }
  return d;
}

function iso(ms: number | undefined): JsonValue {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/**
 * The shadow (dry-run) decisions of a decision: shadow-only filters, and the shadow engine of a
 * filter that has both enforced and shadow rules. Istio CUSTOM (ext_authz) shadow rules are not
 * dry-run policies and are left out.
 */
export function dryRunDecisions(d: Decision): { filter: FilterDecision; shadow: FilterDecision }[] {
  const out: { filter: FilterDecision; shadow: FilterDecision }[] = [];
  const isCustom = (f: FilterDecision): boolean => f.custom !== undefined || (f.effectivePolicy ?? '').startsWith('istio-ext-authz') || f.policies.some((p) => p.name.startsWith('istio-ext-authz'));
  for (const f of d.filters) {
    if (f.shadow && !isCustom(f)) out.push({ filter: f, shadow: f });
    if (f.shadowDecision && !isCustom(f.shadowDecision)) out.push({ filter: f, shadow: f.shadowDecision });
  }
  return out;
}

/** The client sidecar's outbound record of the same request (request-events.ts), when one was logged: its upstream cluster. */
function clientLogOfRecord(c: Correlation, r: AccessRecord): ClientLogFacts | null {
  for (const o of c.recordEvent.get(r)?.records ?? []) {
    if (o === r || c.recordDirection.get(o) !== 'outbound' || !o.upstreamCluster) continue;
    return { cluster: o.upstreamCluster, source: `${o.ref.file}${o.ref.line !== undefined ? `:${o.ref.line}` : ''}` };
  }
  return null;
}

/**
 * A logged plaintext record's client half when it does not explain the plaintext, for a summary:
 * `; what the client sidecar sent is UNDECIDABLE (missing …)`, or the client dump's disagreement (its
 * config would not send plaintext there: the connection bypassed it); '' otherwise.
 */
function undecidableClientText(h: BothHalves | null): string {
  if (h?.client?.undecidable) return `; what the client sidecar sent is UNDECIDABLE (missing ${h.client.undecidable})`;
  if (h?.client && h.mismatches.length) return `; ${h.client.explanation}`;
  return '';
}

/** A STRICT refusal whose client has a sidecar that sent plaintext: the fix is that sidecar's config. */
function clientSideFix(clientName: string, h: BothHalves): string {
  const fixes = [...new Set(h.client!.explaining.map((p) => p.fix).filter((f): f is string => f !== null))];
  return `The client ${clientName} has a sidecar, but its config sent plaintext (${h.client!.explaining.map((p) => p.cause).join('; or ')})${fixes.length ? `: ${fixes.join('; or ')}` : ''}. Keep STRICT; fix the client side.`;
}

/** The client half of a finding's data (both-halves.ts), empty without a client dump; `undecidable` names what would decide it. */
function halvesData(h: BothHalves | null): Record<string, JsonValue> {
  if (!h?.client) return {};
  return {
    clientHalf: {
      source: h.client.proxy || null,
      explanation: h.client.explanation,
      paths: h.client.explaining.map((p) => ({ how: p.how, cluster: p.cluster, mode: p.mode, cause: p.cause })),
      ...(h.client.undecidable ? { decision: 'UNDECIDABLE', undecidable: h.client.undecidable } : {}),
    },
    ...(h.fixFirst ? { fixFirst: h.fixFirst } : {}),
  };
}

/** Cleartext statements (SQL, Redis, MongoDB commands) a plaintext finding cites per connection, at their frames. */
export const STATEMENTS_CITED_PER_FLOW = 5;
/** Statements listed in one finding's details, across its connections (the rest are counted in `statementsSeen`). */
export const STATEMENTS_IN_FINDING = 10;

/** The evidence refs of a flow's first cleartext statements (src/protocols/cleartext): one frame each. */
function statementRefs(f: Flow): EvidenceRef[] {
  return (f.app?.statements ?? []).slice(0, STATEMENTS_CITED_PER_FLOW).map((x) => flowRef(f, x.frame));
}

/**
 * A plaintext finding's `statements` (redacted as `flows` redacts them, bounded) and `statementsSeen`
 * (a connection captured at both ends, `copy`, is counted once).
 */
function citeStatements(grp: Group, f: Flow, show: boolean, copy: boolean): void {
  if (!f.app) return;
  const a = redactAppFacts(f.app, show, STATEMENTS_CITED_PER_FLOW);
  const list = (grp.data.statements ??= []) as JsonValue[];
  for (const x of a.statements) {
    if (list.length >= STATEMENTS_IN_FINDING) break;
    list.push({ evidence: `${f.file}#${x.frame}`, protocol: a.protocol, kind: x.kind, text: x.text });
  }
  if (!copy) grp.data.statementsSeen = (typeof grp.data.statementsSeen === 'number' ? grp.data.statementsSeen : 0) + f.app.statements.length + f.app.statementsNotKept;
}

/** Computes every finding. Deterministic: the order depends only on the inputs. */
/** What the builder reads besides the records: everything that grows with flows and workloads, not records. */
export interface FindingsBuilderInput {
  flows: Flow[];
  proxies: ProxyView[];
  policies: PolicyDoc[];
  /** Per-record lookups valid for the record being added (and its event's records); flow-level parts for every flow. */
  correlation: Correlation;
  showSecrets?: boolean;
  ztunnels?: ZtunnelConfig[];
  /** What the log records say about each captured flow (flow-facts.ts). */
  flowFacts: FlowFacts;
}

/** One record's place in a tally: its ref, its position among the added records, its time. */
interface TallyEntry {
  ref: EvidenceRef;
  seq: number;
  timeMs: number | undefined;
}

/**
 * Records of one kind at one proxy (or identity), kept as an exact count, the first MAX_EVIDENCE refs in
 * the order added and the last record's time: what a finding cites and counts, never the records.
 */
class RecordTally {
  count = 0;
  readonly first: TallyEntry[] = [];
  last: TallyEntry | undefined;

  add(r: AccessRecord, seq: number): void {
    const e: TallyEntry = { ref: r.ref, seq, timeMs: r.timeMs };
    this.count++;
    if (this.first.length < MAX_EVIDENCE) this.first.push(e);
    this.last = e;
  }
}

/** Several tallies as one list in record order: exact count, first MAX_EVIDENCE refs, first and last record's time. */
interface MergedTally {
  count: number;
  refs: EvidenceRef[];
  firstMs: number | undefined;
  lastMs: number | undefined;
}

/**
 * Each tally's first MAX_EVIDENCE entries hold its part of the merged list's first MAX_EVIDENCE (entries are
 * ordered by `seq` within a tally), so merging them by `seq` gives exactly the merged list's first refs.
 */
function mergeTallies(tallies: Iterable<RecordTally | undefined>): MergedTally {
  let count = 0;
  let entries: TallyEntry[] = [];
  let last: TallyEntry | undefined;
  let parts = 0;
  for (const t of tallies) {
    if (!t || t.count === 0) continue;
    parts++;
    count += t.count;
    entries = parts === 1 ? t.first : [...entries, ...t.first];
    if (!last || t.last!.seq > last.seq) last = t.last;
  }
  if (parts > 1) entries = entries.sort((a, b) => a.seq - b.seq).slice(0, MAX_EVIDENCE);
  return { count, refs: entries.map((e) => e.ref), firstMs: entries[0]?.timeMs, lastMs: last?.timeMs };
}

/** Denials logged as `rbac_access_denied_matched_policy[none]` at one proxy, by the RBAC filter kind they went through. */
interface DeniedNone {
  tcp: RecordTally;
  http: RecordTally;
}

/**
 * Findings computed incrementally, so that a report's memory grows with flows, workloads and finding groups,
 * never with log records (issue 17, STREAMING.md): `addFlows()` once (the captures), then `addRecord(r)` for
 * each record in canonical order, then `finish()`. Per-record facts come from the correlation's lookups for the
 * record being added and the records of its event; per-flow record facts from `flowFacts`. The end-of-run
 * findings (allow-nothing in effect, HTTP-only fields on TCP, ambient) read per-proxy and per-identity tallies.
 */
export class FindingsBuilder {
  private readonly g = new Grouper();
  private readonly ambient = new AmbientFindingsBuilder();
  /** Records added so far: each record's position, to merge per-identity tallies in record order. */
  private seq = 0;
  private flowsAdded = false;
  private finished = false;
  private readonly deniedNone = new Map<ProxyView, DeniedNone>();
  /** Inbound TCP records by the identity of the proxy that logged them ('' when none): tcpTraffic's record part. */
  private readonly inboundTcp = new Map<string, number>();
  /** TCP records with a logged RBAC deny (any policy), by the identity of the proxy that logged them ('' when none). */
  private readonly tcpDenied = new Map<string, RecordTally>();

  constructor(private readonly input: FindingsBuilderInput) {}

  /**
   * The captures: plaintext, cleartext secrets, identity vs address, STRICT rejections. Once, before any record
   * (a request seen in a capture and in a log counts once: the flow side's units are counted first).
   */
  addFlows(): void {
    if (this.flowsAdded) throw new Error('FindingsBuilder.addFlows: called twice');
    this.flowsAdded = true;
    const input = this.input;
    const { flowFacts, correlation: c } = input;
    const g = this.g;
    for (const f of input.flows) {
      const cw = c.resolve(f.client.ip);
      const sw = c.resolve(f.server.ip);
      const scope = legScope(f, c.resolve);
      const local = !leftThePod(scope);
      // The request events this connection carried (a copy from another capture counts as its first flow).
      const first = c.copyOf.get(f) ?? f;
      const eventsCarried = flowFacts.eventCount(first);
      const flowUnits: Unit = eventsCarried > 0 ? { kind: 'events', flow: first, count: eventsCarried } : keyUnit(`flow:${first.id}`);
      const serverProxy = c.proxyForIp(f.server.ip, f.startMs);
      const mode = serverProxy ? modeForPort(serverProxy, f.server.port) : undefined;
      // Both halves (both-halves.ts): what the client's sidecar sent and why, when the client has a dump.
      const clientProxy = local ? undefined : c.proxyForIp(f.client.ip, f.startMs);
      const clientLog = local ? null : flowFacts.clientLog(first);
      const halves = clientProxy || clientLog ? bothHalves(f, clientProxy ? clientModelFor(clientProxy.dump) : null, serverProxy && mode ? { proxy: serverProxy.source, mode: mode.mode } : null, clientLog) : null;
      const clientFirst = halves?.fixFirst === 'client' ? halves : null;
      if (halves && halves.mismatches.length) {
        const m = halves.mismatches[0]!;
        g.add('client-config-mismatch', `${wlName(cw, f.client.ip)}>${wlName(sw, f.server.ip)}:${f.server.port}|${m.field}`, () => ({
          severity: 'medium',
          summary: `${f.security === 'plaintext' ? 'Plaintext' : 'TLS'} from ${wlName(cw, f.client.ip)} to ${wlName(sw, f.server.ip)} port ${f.server.port} is not what the client sidecar's config sends: ${m.field} ${m.observed}, expected ${m.expected}`,
          fix: `Find out how this connection left ${wlName(cw, f.client.ip)}: it bypassed the sidecar (traffic.sidecar.istio.io/excludeOutboundPorts or -IPRanges, a process running as uid 1337, hostNetwork) or the sidecar ran another config than the dump ${clientProxy!.source} (compare the dump's time with the capture's).`,
          data: { client: wlDetails(cw, f.client.ip), server: wlDetails(sw, f.server.ip, f.server.port), clientDump: clientProxy!.source, mismatches: halves.mismatches.map((x) => ({ field: x.field, expected: x.expected, observed: x.observed, note: x.note })), source: 'capture' },
        }), [flowRef(f)], f.startMs, keyUnit(`flow:${first.id}`));
      }
      // Ambient: kubelet probes arrive SNATed from 169.254.7.127 and bypass ztunnel by design (src/ztunnel/hbone.ts).
      if (f.security === 'plaintext' && !local && !isAmbientKubeletProbe(f.client.ip)) {
        const answered = f.bytes.serverToClient > 0 || f.http.some((x) => x.status !== undefined);
        if (mode?.mode === 'STRICT') {
          const key = `${wlName(cw, f.client.ip)}>${wlName(sw, f.server.ip)}:${f.server.port}`;
          g.add('strict-rejected-plaintext', key, () => ({
            severity: 'medium',
            summary: `STRICT mTLS on ${wlName(sw, f.server.ip)} port ${f.server.port} met plaintext from ${wlName(cw, f.client.ip)}`,
            fix: clientFirst ? clientSideFix(wlName(cw, f.client.ip), clientFirst) : `The client ${wlName(cw, f.client.ip)} speaks plaintext to a STRICT port: inject an Istio sidecar into it (or route it through one), or if it is outside the mesh, call through an ingress gateway.`,
            data: { client: wlDetails(cw, f.client.ip), server: wlDetails(sw, f.server.ip, f.server.port), mode: 'STRICT', dump: serverProxy!.source, source: 'capture', ...halvesData(halves) },
          }), [flowRef(f)], f.startMs, flowUnits);
        } else {
          const key = `${wlName(cw, f.client.ip)}>${wlName(sw, f.server.ip)}:${f.server.port}`;
          const grp = g.add('plaintext-flow', key, () => ({
            severity: 'high',
            summary: `Plaintext ${f.protocol} from ${wlName(cw, f.client.ip)} to ${wlName(sw, f.server.ip)} port ${f.server.port}${unattributedNote(scope, cw, sw)}${clientFirst ? `: the ${clientFirst.client!.explanation}` : ''}`,
            fix: clientFirst
              ? clientFirst.remediation
              : `Require mTLS for ${wlName(sw, f.server.ip)}: a PeerAuthentication with mtls.mode STRICT in namespace ${sw?.namespace ?? '<server namespace>'}${cw && cw.sidecar === false ? `, and inject a sidecar into ${wlName(cw, f.client.ip)} (it has none)` : ''}; check that no DestinationRule sets tls.mode DISABLE for this host.`,
            data: { client: wlDetails(cw, f.client.ip), server: wlDetails(sw, f.server.ip, f.server.port), protocol: f.protocol, scope, sourceNamespace: cw?.namespace ?? null, sourceWorkload: cw?.name ?? null, ...halvesData(halves) },
          }), [flowRef(f), ...statementRefs(f)], f.startMs, keyUnit(`flow:${first.id}`));
          grp.data.connections = grp.count;
          citeStatements(grp, f, input.showSecrets ?? false, c.copyOf.has(f));
          if (mode && mode.mode === 'PERMISSIVE' && answered) {
            g.add('plaintext-accepted', `${wlName(sw, f.server.ip)}:${f.server.port}<${wlName(cw, f.client.ip)}`, () => ({
              severity: 'high',
              summary: `Plaintext from ${wlName(cw, f.client.ip)} was accepted on PERMISSIVE port ${f.server.port} of ${wlName(sw, f.server.ip)}${clientFirst ? ` (the client sidecar sent it in plaintext through ${[...new Set(clientFirst.client!.explaining.map((p) => p.cluster))].join(' or ')})` : ''}; under STRICT it would have been refused (no filter chain matches: NR filter_chain_not_found)${clientFirst ? ': fix the client side first' : ''}`,
              fix: clientFirst ? clientFirst.remediation : `Set a PeerAuthentication with mtls.mode STRICT for ${wlName(sw, f.server.ip)} (portLevelMtls for port ${f.server.port} if only this port) once every client has a sidecar.`,
              data: { client: wlDetails(cw, f.client.ip), server: wlDetails(sw, f.server.ip, f.server.port), mode: 'PERMISSIVE', modeFrom: `${serverProxy!.source} (${mode.listener})`, underStrict: 'rejected: NR filter_chain_not_found', source: 'capture', ...halvesData(halves) },
            }), [flowRef(f)], f.startMs, flowUnits);
          }
        }
      }
      if (!local && (f.security === 'plaintext' || f.security === 'unknown')) {
        for (const [xi, x] of f.http.entries()) {
          for (const [name, values] of Object.entries(x.headers)) {
            if (!isSecretHeader(name)) continue;
            const key = `${wlName(cw, f.client.ip)}>${wlName(sw, f.server.ip)}:${f.server.port}|${name.toLowerCase()}`;
            const grp = g.add('cleartext-secret', key, () => ({
              severity: name.toLowerCase() === 'authorization' || name.toLowerCase() === 'cookie' || name.toLowerCase() === 'proxy-authorization' ? 'critical' : 'high',
              summary: `${name} header sent in cleartext from ${wlName(cw, f.client.ip)} to ${wlName(sw, f.server.ip)} port ${f.server.port}`,
              fix: `Treat the ${name} value(s) as compromised and rotate them; require mTLS (PeerAuthentication STRICT) so credentials never cross the network in cleartext.`,
              data: { header: name.toLowerCase(), client: wlDetails(cw, f.client.ip), server: wlDetails(sw, f.server.ip, f.server.port), values: [] },
            }), [flowRef(f, x.requestFrame)], x.time ? Date.parse(x.time) : f.startMs, keyUnit(`flow:${first.id}#${xi}`));
            const shown = grp.data.values as JsonValue[];
            for (const v of values) {
              const s = input.showSecrets ? v : redactValue(name, v);
              if (shown.length < 5 && !shown.includes(s)) shown.push(s);
            }
            grp.data.requests = grp.count;
            if (x.path) grp.data.examplePath = grp.data.examplePath ?? redactPath(x.path, input.showSecrets ?? false);
          }
        }
      }
      // Identity presented vs the address that presented it (client certificate visible: TLS ≤ 1.2).
      if (f.tls && f.tls.uriSans.length > 0 && !local) identityCheck(g, c, f.tls.uriSans, { ip: normalizeIp(f.client.ip), port: f.client.port }, flowRef(f), f.startMs, 'capture (client certificate)', keyUnit(`flow:${first.id}`));
      // The server side too: a server certificate whose identity is not the one of the pod at that address.
      if (f.tls && f.tls.serverUriSans && f.tls.serverUriSans.length > 0 && !local) identityCheck(g, c, f.tls.serverUriSans, { ip: normalizeIp(f.server.ip), port: f.server.port }, flowRef(f), f.startMs, 'capture (server certificate)', keyUnit(`flow:${first.id}`));
    }
  }

  /** One access record, in canonical order (after `addFlows`). */
  addRecord(r: AccessRecord): void {
    if (!this.flowsAdded) throw new Error('FindingsBuilder.addRecord: addFlows() must come first');
    if (this.finished) throw new Error('FindingsBuilder.addRecord: after finish()');
    const c = this.input.correlation;
    const seq = this.seq++;
    const p = c.recordProxy.get(r);
    const identity = p?.identity ?? '';
    const d = loggedRbacDeny(r);
    if (d && d.policy === 'none' && p) {
      let t = this.deniedNone.get(p);
      if (!t) this.deniedNone.set(p, (t = { tcp: new RecordTally(), http: new RecordTally() }));
      (r.kind === 'tcp' ? t.tcp : t.http).add(r, seq);
    }
    if (r.kind === 'tcp') {
      if (c.recordDirection.get(r) === 'inbound') this.inboundTcp.set(identity, (this.inboundTcp.get(identity) ?? 0) + 1);
      if (d) {
        let t = this.tcpDenied.get(identity);
        if (!t) this.tcpDenied.set(identity, (t = new RecordTally()));
        t.add(r, seq);
      }
    }
    // ztunnel (ambient) records have their own findings (ztunnel-findings.ts).
    if (r.ztunnel) this.ambient.addRecord(r, c.explanationFor.get(r));
    else this.recordFindings(r);
  }

  private recordFindings(r: AccessRecord): void {
    const input = this.input;
    const c = input.correlation;
    const g = this.g;
    const dir = c.recordDirection.get(r) ?? 'unknown';
    const wire = c.recordWire.get(r) ?? {};
    const proxy = c.recordProxy.get(r);
    const cw = wire.client ? c.resolve(wire.client.ip) : undefined;
    const sw = wire.server ? c.resolve(wire.server.ip) : proxy ? c.resolve(proxy.ips[0]) : undefined;
    const clientName = wire.client ? wlName(cw, wire.client.ip) : 'unknown client';
    const serverName = wire.server ? wlName(sw, wire.server.ip) : proxy ? (proxy.pod ?? proxy.source) : 'unknown server';
    const port = wire.server?.port;
    const flags = r.responseFlags ?? '';
    const details = `${r.responseCodeDetails ?? ''} ${r.connectionTerminationDetails ?? ''}`;
    const nr = /(^|,)NR(,|$)/.test(flags) || details.includes('filter_chain_not_found');
    const peer = recordPeer(r);
    const event = c.recordEvent.get(r);
    const recordUnit: Unit = event ? { kind: 'event', event } : keyUnit(`record:${r.ref.file}:${r.ref.line ?? r.ref.index ?? ''}`);
    // The connection's security: a joined capture's proof beats the log's inference (request-events.ts).
    const carried = c.securityOf(r);

    if (nr && dir !== 'outbound' && details.includes('filter_chain_not_found')) {
      // The client half: the client's dump (or its sidecar's outbound record) says why its sidecar sent
      // plaintext; without either it is UNDECIDABLE, naming the missing dump.
      const wcl = wire.client;
      const cp = wcl ? c.proxyForIp(wcl.ip, r.timeMs) : undefined;
      const rh = wcl ? loggedPlaintextHalves({ client: wcl, server: wire.server ?? { ip: proxy?.ips[0] ?? '' } }, { name: clientName, ip: wcl.ip, ...(cw?.sidecar !== undefined ? { sidecar: cw.sidecar } : {}) }, cp ? clientModelFor(cp.dump) : null, { proxy: proxy?.source ?? serverName, mode: 'STRICT' }, clientLogOfRecord(c, r)) : null;
      const rFirst = rh?.client?.explaining.length ? rh : null;
      g.add('strict-rejected-plaintext', `${clientName}>${serverName}:${port ?? ''}`, () => ({
        severity: 'medium',
        summary: `${serverName}${port ? ` port ${port}` : ''} refused a connection from ${clientName}: no filter chain matched (NR filter_chain_not_found), as STRICT mTLS does for plaintext${rFirst ? `; the ${rFirst.client!.explanation}` : undecidableClientText(rh)}`,
        fix: rFirst ? clientSideFix(clientName, rFirst) : `The client ${clientName} does not speak Istio mTLS: inject a sidecar into it, or, if it must stay outside the mesh, reach ${serverName} through an ingress gateway (or a port-level PERMISSIVE exception, knowingly).`,
        data: { client: wire.client ? wlDetails(cw, wire.client.ip, wire.client.port) : null, server: wire.server ? wlDetails(sw, wire.server.ip, port) : null, responseFlags: flags, source: 'access-log', ...halvesData(rh) },
      }), [recordRef(r)], r.timeMs, recordUnit);
    }

    const wc = wire.client;
    const wireScope = wc ? legScope({ client: wc, server: wire.server ?? { ip: proxy?.ips[0] ?? '' } }, c.resolve) : undefined;
    if (dir === 'inbound' && !nr && carried.security === 'plaintext' && wc && wireScope && leftThePod(wireScope)) {
      const mode = proxy ? modeForPort(proxy, port) : undefined;
      const reached = (r.responseCode ?? 0) > 0 || (r.bytesReceived ?? 0) > 0 || (r.bytesSent ?? 0) > 0 || r.kind === 'tcp';
      if (reached && mode?.mode !== 'STRICT') {
        // Both halves of a request known from the server's log (no capture needed): the client's dump decides
        // what its sidecar sent to this destination, else its outbound record; else UNDECIDABLE naming the dump.
        let lh: BothHalves | undefined;
        const halves = (): BothHalves => {
          if (!lh) {
            const cp = c.proxyForIp(wc.ip, r.timeMs);
            lh = loggedPlaintextHalves({ client: wc, server: wire.server ?? { ip: proxy?.ips[0] ?? '' } }, { name: clientName, ip: wc.ip, ...(cw?.sidecar !== undefined ? { sidecar: cw.sidecar } : {}) }, cp ? clientModelFor(cp.dump) : null, proxy && mode ? { proxy: proxy.source, mode: mode.mode } : null, clientLogOfRecord(c, r));
          }
          return lh;
        };
        const first = (): BothHalves | null => (halves().fixFirst === 'client' ? halves() : null);
        g.add('plaintext-accepted', `${serverName}:${port ?? ''}<${clientName}`, () => ({
          severity: 'high',
          summary: `Plaintext from ${clientName} was accepted by the sidecar of ${serverName}${port ? ` on port ${port}` : ''} (${mode ? `mode ${mode.mode}` : 'no TLS on the inbound connection'}); under STRICT it would have been refused (NR filter_chain_not_found)${first() ? `; the ${first()!.client!.explanation}: fix the client side first` : undecidableClientText(halves())}`,
          fix: first()?.remediation ?? `Set a PeerAuthentication with mtls.mode STRICT for ${serverName}${port ? ` (or portLevelMtls for ${port})` : ''} once every client has a sidecar; ${clientName} must get a sidecar first.`,
          data: { client: wlDetails(cw, wc.ip, wc.port), server: wire.server ? wlDetails(sw, wire.server.ip, port) : null, mode: mode?.mode ?? 'PERMISSIVE or DISABLE (inferred: the inbound sidecar logged a plaintext request)', underStrict: 'rejected: NR filter_chain_not_found', source: 'access-log', ...halvesData(halves()) },
        }), [recordRef(r)], r.timeMs, recordUnit);
        // Logged plaintext between workloads is a plaintext flow too (when no capture already showed it).
        const linked = c.recordFlow.get(r);
        if (!linked) {
          const grp = g.add('plaintext-flow', `${clientName}>${serverName}:${port ?? ''}`, () => ({
            severity: 'high',
            summary: `Plaintext ${r.kind === 'http' ? 'HTTP' : 'TCP'} from ${clientName} to ${serverName}${port ? ` port ${port}` : ''} (logged by the receiving sidecar)${unattributedNote(wireScope, cw, sw)}${first() ? `: the ${first()!.client!.explanation}` : undecidableClientText(halves())}`,
            fix: first()?.remediation ?? `Require mTLS for ${serverName}: a PeerAuthentication with mtls.mode STRICT in namespace ${sw?.namespace ?? '<server namespace>'}; inject a sidecar into ${clientName}.`,
            data: { client: wlDetails(cw, wc.ip, wc.port), server: wire.server ? wlDetails(sw, wire.server.ip, port) : null, scope: wireScope, sourceNamespace: cw?.namespace ?? null, sourceWorkload: cw?.name ?? null, source: 'access-log', ...halvesData(halves()) },
          }), [recordRef(r)], r.timeMs);
          grp.data.requests = grp.count;
        }
      }
    }

    if (dir !== 'outbound' && peer.principal && wire.client && !isLoopback(wire.client.ip)) {
      const joined = c.recordFlow.get(r)?.flow;
      identityCheck(g, c, [peer.principal], wire.client, recordRef(r), r.timeMs, 'access-log', joined ? keyUnit(`flow:${joined.id}`) : recordUnit);
    }

    const deny = loggedRbacDeny(r);
    const ex = c.explanationFor.get(r);
    // A local reply of the HTTP connection manager (path_normalization_failed) is not an RBAC denial.
    const engineDeny = ex?.decision?.decision === 'DENY' && !ex.decision.localReply ? ex.decision : null;
    if (deny || (engineDeny && !r.responseCodeDetails && !r.connectionTerminationDetails && r.responseCode === undefined)) {
      const policy = deny?.policy ?? engineDeny?.policy ?? 'none';
      const wireSan = c.recordFlow.get(r)?.flow.tls?.uriSans?.[0];
      // a waypoint's record: the caller's identity came from the client ztunnel's record (analysis/waypoint-callers.ts)
      const ztCaller = ex?.identityEvidence.find((s) => s.startsWith(ZTUNNEL_CALLER_EVIDENCE));
      const who = peer.principal ?? (wire.client ? `${clientName}${wireSan ? ` presenting ${wireSan} (client certificate in the capture)` : ''}` : 'unknown');
      const whoText = ztCaller && !peer.principal && wire.client && !wireSan ? `${who} (${ztCaller})` : who;
      const what = r.kind === 'http' ? `${r.attrs.http?.method ?? ''} ${redactPath(r.attrs.http?.path ?? '', input.showSecrets ?? false)}`.trim() : 'TCP connection';
      const miss = policy === 'none' && ex?.decision ? deniedClosestMiss(ex.decision) : null;
      const nothing = policy === 'none' && !miss && ex?.decision ? allowNothingPolicies(ex.decision) : null;
      const grp = g.add('rbac-denied', `${policy}|${who}${ztCaller ? `|${ztCaller.split(' ')[1]}` : ''}|${serverName}:${port ?? ''}|${miss ? missText(miss) : nothing ? `never:${nothing.join(',')}` : ''}`, () => ({
        severity: 'medium',
        summary: `${whoText} was denied at ${serverName}${port ? ` port ${port}` : ''}: ${policy === 'none' ? 'no ALLOW policy matched (rbac_access_denied_matched_policy[none])' : `DENY by ${describePolicyId(policy)}`}${miss ? `; closest miss ${missText(miss)}` : nothing ? `; no closest miss: ${nothing.length ? `every ALLOW policy in force can never match (${nothing.join(', ')})` : 'the enforcing ALLOW filter has no policies (allows nothing)'}` : ''}`,
        fix: policy === 'none'
          ? `No ALLOW policy matched: if ${who} should be allowed, add it to the ALLOW AuthorizationPolicy selecting ${serverName} (check the closest miss below for the condition that failed).`
          : `The DENY rule ${describePolicyId(policy)} matched: if this traffic is legitimate, narrow that rule (or add a notPrincipals/notPaths exception).`,
        data: { policy, policyDecoded: describePolicyId(policy), principal: peer.principal ?? (carried.security === 'plaintext' ? null : UNKNOWN_NOT_LOGGED), ...(miss ? { closestMiss: missJson(miss) } : {}), ...(nothing ? { closestMiss: null, neverMatchingPolicies: nothing } : {}), client: wire.client ? wlDetails(cw, wire.client.ip, wire.client.port) : null, server: wire.server ? wlDetails(sw, wire.server.ip, port) : null, layer: deny?.layer ?? (r.kind === 'http' ? 'http' : 'network'), examples: [] },
      }), [recordRef(r)], r.timeMs, recordUnit);
      grp.data.count = grp.count;
      const exs = grp.data.examples as JsonValue[];
      if (exs.length < 5 && !exs.includes(what)) exs.push(what);
      if (ex?.decision && grp.data.condition === undefined) {
        const cond = denyCondition(ex.decision);
        if (cond) grp.data.condition = cond;
      }
    }

    if (ex && ex.verdict === 'disagrees') {
      const logged = deny ? `DENY (${deny.policy})` : r.responseCode !== undefined ? `status ${r.responseCode}${r.responseCodeDetails ? ` ${r.responseCodeDetails}` : ''}` : 'allowed';
      const recon = ex.decision ? `${ex.decision.decision}${ex.decision.policy ? ` (${ex.decision.policy})` : ''}` : 'no decision';
      const grp = g.add('verdict-mismatch', `${proxy?.source ?? serverName}|${logged}|${recon}`, () => ({
        severity: 'high',
        summary: `Envoy logged ${logged} at ${serverName} but the config dump${proxy ? ` ${proxy.source}` : ''} decides ${recon}: the proxy was not running the configuration in the dump (config drift), or the log lacks attributes`,
        fix: 'Re-collect the config dump from the same proxy at the time of the incident (istioctl proxy-config all <pod> -o json) and compare with istioctl proxy-status; check for policies changed during the incident.',
        data: { logged, reconstructed: recon, reason: ex.reason, dump: proxy?.source ?? null },
      }), [recordRef(r)], r.timeMs);
      grp.data.count = grp.count;
    }

    if (ex?.decision && !deny && (r.responseCode === undefined || r.responseCode < 400 || r.kind === 'tcp')) {
      for (const { filter: fd, shadow: sd } of dryRunDecisions(ex.decision)) {
        if (sd.result !== 'DENY') continue;
        const pol = sd.effectivePolicy ?? (sd.action === 'ALLOW' ? 'none' : 'unknown');
        const who = peer.principal ?? clientName;
        const grp = g.add('dry-run-would-deny', `${pol}|${serverName}`, () => ({
          severity: 'medium',
          summary: `Dry-run policy ${describePolicyId(pol)} would deny traffic that was allowed at ${serverName} (e.g. from ${who})`,
          fix: `Before removing the istio.io/dry-run annotation from ${describePolicyId(pol)}, decide whether these requests should be denied; otherwise adjust the rule.`,
          data: { policy: pol, shadowFilter: fd.name, action: sd.action, server: serverName, sources: [] },
        }), [recordRef(r)], r.timeMs);
        grp.data.count = grp.count;
        const srcs = grp.data.sources as JsonValue[];
        if (srcs.length < 10 && !srcs.includes(who)) srcs.push(who);
      }
    }
    // Dry-run results logged directly as dynamic metadata.
    if (!ex) {
      const shadow = Object.entries(r.fields).find(([k, v]) => /istio_dry_run_(allow|deny)_shadow_engine_result/.test(k) && v === 'denied');
      if (shadow) {
        const idField = Object.entries(r.fields).find(([k]) => /istio_dry_run_(allow|deny)_shadow_effective_policy_id/.test(k));
        const pol = typeof idField?.[1] === 'string' ? idField[1] : 'unknown';
        const grp = g.add('dry-run-would-deny', `${pol}|${serverName}`, () => ({
          severity: 'medium',
          summary: `Dry-run policy ${describePolicyId(pol)} would deny traffic that was allowed at ${serverName}`,
          fix: `Before removing the istio.io/dry-run annotation, decide whether these requests should be denied.`,
          data: { policy: pol, server: serverName, source: 'access-log dynamic metadata' },
        }), [recordRef(r)], r.timeMs);
        grp.data.count = grp.count;
      }
    }
  }

  /** The end-of-run findings (config dumps and policies against the tallies), then every finding in a deterministic order. */
  finish(): Finding[] {
    if (!this.flowsAdded) throw new Error('FindingsBuilder.finish: addFlows() must come first');
    if (this.finished) throw new Error('FindingsBuilder.finish: called twice');
    this.finished = true;
    const { proxies, correlation: c } = this.input;
    const g = this.g;

    // ---- Config: allow-nothing filters and HTTP-only fields on TCP (one finding per proxy, over all its dumps).
    const byIdentity = new Map<string, ProxyView[]>();
    for (const p of proxies) byIdentity.set(p.identity, [...(byIdentity.get(p.identity) ?? []), p]);
    for (const [identity, dumps] of byIdentity) {
      dumps.sort((a, b) => (b.asOfMs ?? -Infinity) - (a.asOfMs ?? -Infinity));
      const tcp = this.tcpTrafficSeen(dumps);
      for (const p of dumps) {
        const sites = p.rbac.filter((s) => s.inbound && s.rules && s.rules.action === 'ALLOW' && Object.values(s.rules.policies).every(matchesNothing));
        if (sites.length === 0) continue;
        const kinds = [...new Set(sites.map((s) => s.kind))];
        const denied = this.deniedNone.get(p);
        const observedHere = mergeTallies([kinds.includes('network') ? denied?.tcp : undefined, kinds.includes('http') ? denied?.http : undefined]);
        const where = [...new Set(sites.map((s) => `${s.listener}/${s.chain || '#' + s.chainIndex}${s.port !== null ? ` (port ${s.port})` : ''}`))];
        const severity: Severity = observedHere.count > 0 ? 'high' : kinds.includes('http') ? 'low' : tcp > 0 ? 'medium' : 'info';
        // HTTP-and-TCP allow-nothing (e.g. an empty AuthorizationPolicy) and TCP-only allow-nothing (HTTP rules dropped for TCP) are different stories.
        const key = `allow-nothing-in-effect|${identity}|${kinds.includes('http') ? 'http' : 'network'}`;
        const existing = g.groups.get(key);
        const ev = [...sites.slice(0, 3).map((s): EvidenceRef => ({ file: p.source, path: s.jsonPath })), ...observedHere.refs];
        if (existing) {
          for (const e of ev) if (existing.evidence.length < MAX_EVIDENCE) existing.evidence.push(e);
          existing.count += observedHere.count;
          (existing.data.dumps as JsonValue[]).push(p.source);
          existing.data.observedDenials = (existing.data.observedDenials as number) + observedHere.count;
          if (SEVERITY_ORDER.indexOf(severity) < SEVERITY_ORDER.indexOf(existing.severity)) existing.severity = severity;
          continue;
        }
        g.groups.set(key, {
          id: 'allow-nothing-in-effect',
          key,
          count: Math.max(1, observedHere.count),
          evidence: ev.slice(0, MAX_EVIDENCE),
          severity,
          summary: `${proxyName(p)}: ${sites.length} enforced ${kinds.map((k) => (k === 'network' ? 'TCP' : 'HTTP')).join('/')} RBAC filter(s) allow nothing (ALLOW action, ${sites.some((x) => Object.keys(x.rules!.policies).length > 0) ? `only match-nothing policies: ${[...new Set(sites.flatMap((x) => Object.keys(x.rules!.policies)))].slice(0, 3).join(', ')}` : 'no policies'}) — every ${kinds.includes('network') ? 'connection' : 'request'} through them is denied${observedHere.count ? `; denials observed (rbac_access_denied_matched_policy[none])` : kinds.includes('http') || tcp ? '' : '; no TCP traffic to it in the evidence'}`,
          fix: 'An ALLOW policy with an empty rule set (or whose every rule was dropped, e.g. HTTP-only fields on a TCP port) denies all. Add a rule that allows the intended traffic, or delete the allow-nothing AuthorizationPolicy if it was not meant to lock the workload down.',
          data: { dump: p.source, dumps: [p.source], sites: where, policies: [...new Set(sites.flatMap((x) => Object.keys(x.rules!.policies)))], observedDenials: observedHere.count, tcpTrafficSeen: tcp },
          firstMs: observedHere.firstMs,
          lastMs: observedHere.lastMs,
        });
      }
      for (const p of dumps) httpOnlyFromDump(g, p, mergeTallies([this.deniedNone.get(p)?.tcp]), tcp);
    }
    for (const pol of this.input.policies) {
      httpOnlyFromPolicy(g, pol, proxies, c, (targets, ids) => ({ tcpDenied: mergeTallies([...ids].map((id) => this.tcpDenied.get(id))), tcpSeen: this.tcpTrafficSeen(targets) }));
    }

    // ---- Assemble, deterministic order.
    const out: Finding[] = [];
    for (const grp of g.groups.values()) {
      const details: Record<string, JsonValue> = { ...grp.data, occurrences: grp.count, firstSeen: iso(grp.firstMs), lastSeen: iso(grp.lastMs) };
      if (grp.evidence.length < grp.count && grp.evidence.length >= MAX_EVIDENCE) details.evidenceTruncated = true;
      out.push({ id: grp.id, severity: grp.severity, summary: grp.count > 1 && !/×\d+$/.test(grp.summary) ? `${grp.summary} (×${grp.count})` : grp.summary, evidence: grp.evidence, fix: grp.fix, details });
    }
    appendAll(out, this.ambient.finish({ policies: this.input.policies, ztunnels: this.input.ztunnels }));
    out.sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) || FINDING_IDS.indexOf(a.id as FindingId) - FINDING_IDS.indexOf(b.id as FindingId) || a.summary.localeCompare(b.summary));
    return out;
  }

  /** How many pieces of evidence say these dumps' proxies received TCP (non-HTTP) traffic: tcpTraffic(...).length, from the tallies. */
  private tcpTrafficSeen(dumps: ProxyView[]): number {
    let n = 0;
    for (const id of new Set(dumps.map((p) => p.identity))) n += this.inboundTcp.get(id) ?? 0;
    return n + tcpFlowTraffic(dumps, this.input.flows).length;
  }
}

/**
 * Computes every finding from the whole input (every record in memory). Deterministic: the order depends
 * only on the inputs. The same as feeding a FindingsBuilder the records in the order given.
 */
export function computeFindings(input: FindingsInput): Finding[] {
  const b = new FindingsBuilder({
    flows: input.flows,
    proxies: input.proxies,
    policies: input.policies,
    correlation: input.correlation,
    ztunnels: input.ztunnels,
    flowFacts: flowFactsFromCorrelation(input.correlation),
    ...(input.showSecrets !== undefined ? { showSecrets: input.showSecrets } : {}),
  });
  b.addFlows();
  for (const r of input.records) b.addRecord(r);
  return b.finish();
}

/** For plaintext that left the pod but whose ends are not both known workloads (analysis/scope.ts). */
function unattributedNote(scope: LegScope | undefined, cw: WorkloadRef | undefined, sw: WorkloadRef | undefined): string {
  if (scope !== 'unattributed') return '';
  const ends = [cw ? '' : 'client', sw ? '' : 'server'].filter(Boolean);
  return ` (left the pod; ${ends.length === 2 ? 'neither end is' : `the ${ends[0] ?? 'address'} is not`} a known workload: no inventory or config dump names ${ends.length === 2 ? 'these addresses' : 'that address'})`;
}

function proxyName(p: ProxyView): string {
  return p.pod ? `${p.namespace ? `${p.namespace}/` : ''}${p.pod}` : p.nodeId ?? p.source;
}

/**
 * A SPIFFE identity presented from an address whose owner runs as another service account. IP ownership
 * has a time: the inventory's pod owns the address only between its start (creation) and its deletion
 * (readers/inventory.ts `ownerAt`). CRITICAL only when the event falls inside that lifetime; outside it,
 * or when the owner has no lifetime (no start time; an address known only from a config dump), the finding
 * says who owned the address at that time is unverified, and is not CRITICAL.
 */
function identityCheck(g: Grouper, c: Correlation, sans: string[], client: HostPort, ref: EvidenceRef, timeMs: number | undefined, source: string, unit?: Unit): void {
  const owned = c.workloads.ownerAt(client.ip, timeMs);
  const w = owned?.ref ?? c.resolve(client.ip);
  if (!w || (w.kind !== 'pod' && w.kind !== 'proxy') || !w.serviceAccount || !w.namespace) return;
  const verified = owned?.ownership === 'inside';
  const life = owned?.lifetime;
  const at = timeMs !== undefined ? ` at ${new Date(timeMs).toISOString()}` : '';
  const podName = `${w.namespace}/${w.pod ?? w.name}`;
  const why = !owned
    ? `the address is known only from a config dump, which gives no lifetime`
    : owned.ownership === 'before'
      ? `pod ${podName} started only at ${new Date(life!.fromMs!).toISOString()}, after the event`
      : owned.ownership === 'after'
        ? `pod ${podName} was gone by ${new Date(life!.untilMs!).toISOString()} (${life!.basis}), before the event`
        : timeMs === undefined
          ? 'the event has no time'
          : `the inventory gives pod ${podName} no creation or start time`;
  for (const san of sans) {
    const id = parseSpiffe(san);
    if (!id) continue;
    if (id.namespace === w.namespace && id.serviceAccount === w.serviceAccount) continue;
    const ownership: Record<string, JsonValue> = {
      verified,
      from: life && life.fromMs !== null ? new Date(life.fromMs).toISOString() : null,
      until: life && life.untilMs !== null ? new Date(life.untilMs).toISOString() : null,
      basis: life?.basis ?? `no lifetime (resolved from ${w.source})`,
      ...(c.workloads.inventory.asOfMs !== undefined ? { inventoryAsOf: new Date(c.workloads.inventory.asOfMs).toISOString() } : {}),
      ...(verified ? {} : { unverifiedBecause: why }),
    };
    g.add('identity-address-mismatch', `${san}|${client.ip}|${verified ? 'owned' : `unverified:${podName}`}`, () => ({
      severity: verified ? 'critical' : 'high',
      summary: verified
        ? `Identity ${san} was presented from ${client.ip}, which belongs to pod ${podName} running as service account ${w.serviceAccount} — a stolen or leaked workload certificate?`
        : `Identity ${san} was presented from ${client.ip}${at}; who owned that address then is unverified: ${why} (that pod runs as service account ${w.serviceAccount})`,
      fix: verified
        ? `Treat the key of ${id.namespace}/${id.serviceAccount} as compromised: find how pod ${podName} obtained it, rotate it (restart the owning workloads, rotate the mesh CA intermediate if needed), and restrict access to its Secret/SDS socket.`
        : `Establish which pod held ${client.ip} at the time (an inventory taken during the incident, the CNI's IPAM records, kubectl get events): if it did not run as ${id.namespace}/${id.serviceAccount}, treat that key as compromised.`,
      data: {
        presentedIdentity: san,
        presentedNamespace: id.namespace,
        presentedServiceAccount: id.serviceAccount,
        address: client.port !== undefined ? fmtAddr(client.ip, client.port) : client.ip,
        addressOwner: { namespace: w.namespace ?? null, pod: w.pod ?? null, workload: w.name, serviceAccount: w.serviceAccount ?? null, resolvedFrom: w.source },
        ownership,
        source,
      },
    }), [ref], timeMs, unit);
  }
}

/**
 * The closest miss behind a `[none]` deny: the decision's own, else (when the replay could not decide,
 * e.g. the log lacks the peer identity, but Envoy logged that no ALLOW policy matched) the ranking over
 * the enforcing ALLOW filter's policies, whose unknown attributes show as `unknown (not logged)`.
 */
function deniedClosestMiss(d: Decision): ClosestMiss | null {
  if (d.closestMiss?.length) return d.closestMiss[0]!;
  if (d.decision === 'ALLOW') return null;
  const f = d.filters.find((x) => x.enforcing !== false && !x.shadow && x.action === 'ALLOW' && x.result !== 'ALLOW' && !x.effectivePolicy && x.policies[0]?.trace.node !== 'matcher');
  return f ? closestMiss(f, 1)[0] ?? null : null;
}

/**
 * When the deciding ALLOW filter allows nothing, so that no policy can be a closest miss: its policies
 * (each one can never match: allow-nothing / deny-all), or [] when it has none at all; else null.
 */
function allowNothingPolicies(d: Decision): string[] | null {
  const f = d.filters.find((x) => x.enforcing !== false && !x.shadow && x.action === 'ALLOW' && x.result === 'DENY' && !x.effectivePolicy);
  if (!f || f.policies[0]?.trace.node === 'matcher' || !f.policies.every((p) => p.neverMatches)) return null;
  return f.policies.map((p) => p.name);
}

/** `ns[default]-policy[details-viewer]-rule[0] (1 failing: path: "/ping" — needs prefix "/details/")`. */
function missText(m: ClosestMiss): string {
  const failed = m.failing.filter((f) => f.matched === false);
  const unknown = m.failing.filter((f) => f.matched === 'undecidable');
  const parts = [
    ...(failed.length ? [`${failed.length} failing: ${failed.map((f) => f.detail).join('; ')}`] : []),
    ...(unknown.length ? [`${unknown.length} not decidable from the evidence: ${unknown.map((f) => f.detail).join('; ')}`] : []),
  ];
  return `${m.policy} (${parts.join('; ')})`;
}

function missJson(m: ClosestMiss): Record<string, JsonValue> {
  return {
    policy: m.policy,
    policyDecoded: describePolicyId(m.policy),
    failedConditions: m.failedConditions,
    failing: m.failing.map((f) => ({
      condition: f.detail,
      attribute: f.attribute ?? null,
      actual: f.matched === 'undecidable' && (f.actual === null || f.actual === undefined || (Array.isArray(f.actual) && f.actual.length === 0)) ? UNKNOWN_NOT_LOGGED : (f.actual ?? null),
      expected: f.expected ?? null,
      result: f.matched === 'undecidable' ? 'unknown' : 'failed',
    })),
  };
}

/** Names the condition behind a deny, from the reconstructed decision. */
function denyCondition(d: Decision): string | null {
  const deciding = d.filters.find((f) => !f.shadow && f.result === 'DENY');
  if (!deciding) return d.closestMiss?.[0]?.summary ?? null;
  if (deciding.action === 'DENY') {
    const p = deciding.policies.find((x) => x.matched === true);
    if (p) {
      const leaves: string[] = [];
      const walk = (n: { matched: boolean | 'undecidable'; detail: string; children?: typeof n[] }): void => {
        if (!n.children || n.children.length === 0) {
          if (n.matched === true && leaves.length < 4) leaves.push(n.detail);
        } else n.children.forEach(walk);
      };
      walk(p.trace);
      return `${p.name} matched: ${leaves.join('; ')}`;
    }
  }
  const miss = d.closestMiss?.[0];
  if (miss) return `closest ALLOW policy ${miss.policy} missed ${miss.failedConditions} condition(s): ${miss.summary}`;
  return null;
}

/** Policy names (without rule index) in a site. */
function policyBases(s: RbacFilterSite): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const name of Object.keys(s.rules?.policies ?? {})) {
    const base = name.replace(/-rule\[\d+\]$/, '');
    out.set(base, [...(out.get(base) ?? []), name]);
  }
  return out;
}

/**
 * Istio renders an AuthorizationPolicy for TCP chains without its HTTP-only fields: an ALLOW rule
 * that needs one is dropped (narrower allow, possibly allow-nothing), a DENY rule loses the field
 * (wider deny). Seen in a dump as: a policy present on the HTTP chains of an inbound listener but
 * missing from its TCP chains (ALLOW), or present on both with `any: true` permissions on TCP only (DENY).
 */
function httpOnlyFromDump(g: Grouper, p: ProxyView, tcpDenied: MergedTally, tcpSeen: number): void {
  const inbound = p.rbac.filter((s) => s.inbound && s.rules);
  const http = inbound.filter((s) => s.kind === 'http');
  const tcp = inbound.filter((s) => s.kind === 'network');
  if (http.length === 0 || tcp.length === 0) return;
  const httpPolicies = new Map<string, { action: string; site: RbacFilterSite; rules: string[] }>();
  for (const s of http) for (const [base, rules] of policyBases(s)) if (!httpPolicies.has(base)) httpPolicies.set(base, { action: s.rules!.action, site: s, rules });
  const tcpPolicies = new Map<string, RbacFilterSite>();
  for (const s of tcp) for (const [base] of policyBases(s)) tcpPolicies.set(base, s);
  for (const [base, h] of httpPolicies) {
    if (base.startsWith('istio-ext-authz')) continue;
    const tcpSite = tcpPolicies.get(base);
    const key = `http-only-fields-on-tcp|${p.identity}|${base}`;
    const existing = g.groups.get(key);
    if (existing && ((h.action === 'ALLOW' && !tcpSite) || h.action === 'DENY')) {
      existing.evidence.push({ file: p.source, path: h.site.jsonPath }, ...tcpDenied.refs);
      existing.evidence.splice(MAX_EVIDENCE);
      existing.count += tcpDenied.count;
      if (tcpDenied.count > 0) existing.severity = 'high';
      continue;
    }
    if (h.action === 'ALLOW' && !tcpSite) {
      const id = `${base}-rule[0]`;
      g.groups.set(key, {
        id: 'http-only-fields-on-tcp',
        key,
        count: Math.max(1, tcpDenied.count),
        evidence: [{ file: p.source, path: h.site.jsonPath }, ...tcp.slice(0, 3).map((s): EvidenceRef => ({ file: p.source, path: s.jsonPath })), ...tcpDenied.refs.slice(0, MAX_EVIDENCE - 4)],
        severity: tcpDenied.count > 0 ? 'high' : tcpSeen > 0 ? 'medium' : 'info',
        summary: `${proxyName(p)}: ALLOW ${describePolicyId(id).replace(/ rule \d+$/, '')} is enforced on HTTP chains but absent from the TCP chains — its rules use HTTP-only fields, so Istio dropped them for TCP and TCP traffic is not allowed by it${tcpDenied.count ? ` (${tcpDenied.count} TCP connection(s) denied)` : tcpSeen ? '' : ' (no TCP traffic to it in the evidence)'}`,
        fix: 'Do not use HTTP-only fields (methods, paths, hosts, requestPrincipals, request.headers, request.auth.*) in a policy that must allow TCP traffic: split it into an HTTP policy and a TCP policy (ports, principals, namespaces), or declare the port as HTTP (appProtocol/port name http-*).',
        data: { dump: p.source, policy: base, action: 'ALLOW', httpRules: h.rules, tcpChains: tcp.length, tcpDenials: tcpDenied.count, tcpTrafficSeen: tcpSeen, effect: 'rule dropped for TCP (narrower allow)' },
        firstMs: tcpDenied.firstMs,
        lastMs: tcpDenied.lastMs,
      });
    } else if (h.action === 'DENY' && tcpSite && tcpSite.rules?.action === 'DENY') {
      const widened = Object.entries(tcpSite.rules.policies).filter(([n, pol]) => n.startsWith(base) && isAnyPermission(pol));
      if (widened.length === 0) continue;
      g.groups.set(key, {
        id: 'http-only-fields-on-tcp',
        key,
        count: 1,
        evidence: [{ file: p.source, path: h.site.jsonPath }, { file: p.source, path: tcpSite.jsonPath }],
        severity: tcpSeen > 0 ? 'high' : 'medium',
        summary: `${proxyName(p)}: DENY ${describePolicyId(`${base}-rule[0]`).replace(/ rule \d+$/, '')} matches any TCP connection — its HTTP-only fields were removed for TCP, widening the deny to all TCP traffic`,
        fix: 'Split the policy: keep HTTP-only conditions in a policy selecting HTTP ports only, or declare the port as HTTP so the HTTP conditions apply.',
        data: { dump: p.source, policy: base, action: 'DENY', widenedRules: widened.map(([n]) => n), effect: 'HTTP-only fields dropped for TCP (wider deny)' },
      });
    }
  }
}

function isAnyPermission(pol: Record<string, unknown>): boolean {
  const perms = pol.permissions;
  if (!Array.isArray(perms)) return false;
  return perms.some((p) => {
    if (typeof p !== 'object' || p === null) return false;
    const o = p as Record<string, unknown>;
    if (o.any === true) return true;
    const and = o.and_rules as { rules?: unknown[] } | undefined;
    return !!and && Array.isArray(and.rules) && and.rules.length > 0 && and.rules.every((r) => typeof r === 'object' && r !== null && (r as Record<string, unknown>).any === true);
  });
}

const HTTP_ONLY_OPERATION = ['methods', 'notMethods', 'paths', 'notPaths', 'hosts', 'notHosts'];
const HTTP_ONLY_SOURCE = ['requestPrincipals', 'notRequestPrincipals'];

/**
 * HTTP-only fields in an AuthorizationPolicy that selects workloads seen with TCP traffic or TCP RBAC chains.
 * `observed` gives, for the selected proxies (and their identities), the TCP records with a logged RBAC deny
 * and how much TCP traffic reached them (FindingsBuilder's tallies).
 */
function httpOnlyFromPolicy(g: Grouper, pol: PolicyDoc, proxies: ProxyView[], c: Correlation, observed: (targets: ProxyView[], ids: Set<string>) => { tcpDenied: MergedTally; tcpSeen: number }): void {
  if (pol.kind !== 'AuthorizationPolicy') return;
  const rules = Array.isArray(pol.spec.rules) ? pol.spec.rules : [];
  const fields: string[] = [];
  rules.forEach((rule, i) => {
    if (typeof rule !== 'object' || rule === null) return;
    const r = rule as Record<string, unknown>;
    for (const t of Array.isArray(r.to) ? r.to : []) {
      const op = (t as Record<string, unknown>)?.operation as Record<string, unknown> | undefined;
      if (op) for (const k of HTTP_ONLY_OPERATION) if (k in op) fields.push(`rules[${i}].to.operation.${k}`);
    }
    for (const f of Array.isArray(r.from) ? r.from : []) {
      const src = (f as Record<string, unknown>)?.source as Record<string, unknown> | undefined;
      if (src) for (const k of HTTP_ONLY_SOURCE) if (k in src) fields.push(`rules[${i}].from.source.${k}`);
    }
    for (const w of Array.isArray(r.when) ? r.when : []) {
      const key = (w as Record<string, unknown>)?.key;
      if (typeof key === 'string' && /^request\.(headers|auth\.)/.test(key)) fields.push(`rules[${i}].when[key=${key}]`);
    }
  });
  if (fields.length === 0) return;
  // Which proxies does it apply to? Same namespace (or root namespace); selector labels when present.
  const sel = (pol.spec.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels;
  const applies = (p: ProxyView): boolean => {
    if (pol.namespace !== 'istio-system' && p.namespace && p.namespace !== pol.namespace) return false;
    if (!sel) return true;
    const w = c.resolve(p.ips[0]);
    const labels = w?.labels ?? {};
    return Object.entries(sel).every(([k, v]) => labels[k] === v);
  };
  const targets = proxies.filter(applies);
  const ids = new Set(targets.map((p) => p.identity));
  const { tcpDenied: tcpRecords, tcpSeen } = observed(targets, ids);
  const tcpChains = targets.filter((p) => p.rbac.some((s) => s.inbound && s.kind === 'network'));
  if (tcpRecords.count === 0 && tcpChains.length === 0) return;
  const action = typeof pol.spec.action === 'string' ? pol.spec.action : 'ALLOW';
  const key = `http-only-fields-on-tcp|policy|${pol.namespace}/${pol.name}`;
  const existing = g.groups.get(key);
  if (existing) {
    // The same policy in several files (e.g. one per stage): one finding, every file as evidence.
    if (existing.evidence.length < MAX_EVIDENCE) existing.evidence.push({ file: pol.file, line: pol.line, path: pol.path });
    return;
  }
  g.groups.set(key, {
    id: 'http-only-fields-on-tcp',
    key,
    count: Math.max(1, tcpRecords.count),
    evidence: [{ file: pol.file, line: pol.line, path: pol.path }, ...tcpRecords.refs.slice(0, MAX_EVIDENCE - 1)],
    severity: tcpRecords.count > 0 ? 'high' : tcpSeen > 0 ? 'medium' : 'info',
    summary: `AuthorizationPolicy ${pol.namespace}/${pol.name} (${action}) uses HTTP-only fields (${fields.slice(0, 4).join(', ')}${fields.length > 4 ? ', …' : ''}): on the selected workloads' TCP chains Istio ${action === 'ALLOW' ? 'drops those rules (narrower allow; possibly allow-nothing)' : 'drops those fields (wider deny)'}${tcpRecords.count ? `; ${tcpRecords.count} TCP denial(s) observed` : tcpSeen ? '; TCP traffic reached them' : '; no TCP traffic to them in the evidence'}`,
    fix: 'Split the policy into an HTTP policy and a TCP policy (TCP: ports, principals, namespaces, ipBlocks only), or declare the port protocol as HTTP.',
    data: { policy: `${pol.namespace}/${pol.name}`, action, fields, proxies: [...ids], tcpDenials: tcpRecords.count, tcpTrafficSeen: tcpSeen },
    firstMs: tcpRecords.firstMs,
    lastMs: tcpRecords.lastMs,
  });
}

/** The --fail-on conditions met by a set of findings. */
export function failOnHits(findings: Finding[], conditions: Set<string>): string[] {
  const hits: string[] = [];
  for (const cond of conditions) {
    const ids = FAIL_ON[cond] ?? [];
    if (findings.some((f) => (ids as string[]).includes(f.id))) hits.push(cond);
  }
  return hits;
}

/** ALPNs that mean the connection carries HTTP. */
const HTTP_ALPNS = ['istio-http/1.0', 'istio-http/1.1', 'istio-h2', 'h2', 'http/1.1', 'http/1.0'];

/**
 * Evidence that a proxy received TCP (non-HTTP) traffic: inbound TCP access records, or captured
 * connections to its addresses that are plain TCP, or TLS whose ALPN names no HTTP protocol.
 */
export function tcpTraffic(dumps: ProxyView[], flows: Flow[], records: AccessRecord[], c: Correlation): EvidenceRef[] {
  const ids = new Set(dumps.map((p) => p.identity));
  const out: EvidenceRef[] = [];
  for (const r of records) {
    if (r.kind !== 'tcp' || c.recordDirection.get(r) !== 'inbound') continue;
    if (ids.has(c.recordProxy.get(r)?.identity ?? '')) out.push(r.ref);
  }
  return appendAll(out, tcpFlowTraffic(dumps, flows));
}

/** tcpTraffic's captures: connections to the proxies' addresses that are plain TCP, or TLS whose ALPN names no HTTP protocol. */
export function tcpFlowTraffic(dumps: ProxyView[], flows: Flow[]): EvidenceRef[] {
  const ips = new Set(dumps.flatMap((p) => p.ips.map(normalizeIp)));
  const out: EvidenceRef[] = [];
  for (const f of flows) {
    if (f.sidecarLocal || !ips.has(normalizeIp(f.server.ip))) continue;
    if (f.server.port === 15008 || f.server.port === 15090 || f.server.port === 15021) continue;
    const http = f.http.length > 0 || /^(http|h2)/.test(f.protocol) || (f.tls !== null && f.tls.alpn.some((a) => HTTP_ALPNS.includes(a)));
    if (!http && (f.protocol === 'tcp' || f.app !== undefined || f.tls !== null)) out.push(flowRef(f));
  }
  return out;
}

function isAnyTrue(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as Record<string, unknown>).any === true;
}

/**
 * A policy that can never match: Istio renders an ALLOW AuthorizationPolicy with an empty spec
 * (allow-nothing) as `permissions: [{not_rule: {any: true}}]`, `principals: [{not_id: {any: true}}]`.
 */
export function matchesNothing(pol: Record<string, unknown>): boolean {
  const perms = Array.isArray(pol.permissions) ? pol.permissions : [];
  const princ = Array.isArray(pol.principals) ? pol.principals : [];
  const never = (list: unknown[], key: string): boolean => list.length > 0 && list.every((x) => typeof x === 'object' && x !== null && isAnyTrue((x as Record<string, unknown>)[key]));
  return never(perms, 'not_rule') || never(princ, 'not_id') || perms.length === 0 || princ.length === 0;
}
