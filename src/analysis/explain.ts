/**
 * Replay: each access-log record is decided again through the config (listener, filter chain and
 * RBAC filters, by an injected decider) and compared with what Envoy logged
 * (`rbac_access_denied_matched_policy[X]` in RESPONSE_CODE_DETAILS or CONNECTION_TERMINATION_DETAILS,
 * `filter_chain_not_found` / `NR`, `via_upstream`): agrees, disagrees (how), or undecidable (why).
 * See ../shared/research/istio.md §4.3 for what Envoy writes.
 */
import { StacklessError } from '../model/errors.js';
import type { JsonValue, PeerTls, RequestAttrs } from '../model/attrs.js';
import type { Decision } from '../model/decision.js';
import type { AccessRecord, Explanation } from '../model/records.js';
import { isIstioSni, isWaypointInboundCluster } from '../istio/traffic.js';
import { inForceAt, notFromProxy, proxyKeys, ProxyIndex, type DumpKeySource } from './proxies.js';

export interface DeciderOptions {
  /** Attributes the record does not carry (AccessRecord.unknown vocabulary). */
  unknown: string[];
  /** `http` for HTTP requests, `network` for TCP connections. */
  kind: 'http' | 'network';
  /** The record being replayed (to pick the proxy's dump among several). */
  record?: AccessRecord;
}

/** Decides one request/connection against a config (see src/envoy/decide.ts `decideRequest`). */
export type Decider = (req: RequestAttrs, opts: DeciderOptions) => Decision;

/**
 * A decider that can also give the error it would throw for a record it does not decide (NotFromProxyError, or
 * no dump for the record's proxy) as its result, without throwing it: `deciderOver`'s (a proxy without a dump has
 * thousands of such records, and a throw per record cost more than the rest of their replay).
 */
export interface AttemptingDecider extends Decider {
  attempt(req: RequestAttrs, opts: DeciderOptions): Decision | Error;
}

export type Security = 'mtls' | 'tls' | 'plaintext' | 'unknown';

export interface Inferred {
  attrs: RequestAttrs;
  unknown: string[];
  security: Security;
  evidence: string[];
  /**
   * True when the verdict is a guess from conventions (an Istio SNI means mTLS, an empty SNI means
   * plaintext), false when the record logged the fact itself (a peer URI SAN, a TLS version or `-`).
   * A captured connection's proof beats such a guess (see request-events.ts).
   */
  inferred: boolean;
}

/**
 * Plaintext vs TLS vs mTLS for one record, from what it logged: a peer URI SAN proves a client
 * certificate; a TLS version proves TLS (and `-` proves plaintext); a requested server name proves
 * a TLS ClientHello with SNI, and Istio's `outbound_.<port>_.<subset>_.<fqdn>` SNI is sent only by a
 * sidecar doing ISTIO_MUTUAL (client certificate, identity not logged). A logged-but-empty SNI on an
 * inbound record is taken as plaintext (inferred: mesh clients always send SNI). Without any of these
 * fields, TLS stays unknown.
 */
/** Istio's filter-state key for the peer identity (set from the client certificate's URI SAN). */
const PEER_PRINCIPAL = 'io.istio.peer_principal';

/**
 * When the peer identity is settled (plaintext, or a logged peer URI SAN), the filter state Istio's
 * RBAC reads follows from it: `io.istio.peer_principal` is the URI SAN, absent without a client
 * certificate. Other filter-state keys are taken as absent (Istio's policies read no others).
 */
function settleFilterState(inf: Inferred, recordAttrs: RequestAttrs): Inferred {
  const facts = listFacts(inf.unknown);
  if (!facts.filterState) return inf;
  const a = inf.attrs;
  if (inf.security !== 'plaintext' && (facts.uriSans || !a.tls)) return inf;
  const san = a.tls?.uriSans[0];
  // nothing logged and no principal: the filter state is empty, one shared frozen object (equal requests' memo parts
  // then compare it by identity, requestParts)
  let fs: Record<string, JsonValue>;
  if (a.filterState === undefined && !san) fs = NO_FILTER_STATE;
  else {
    fs = { ...(a.filterState ?? {}) };
    if (san && !(PEER_PRINCIPAL in fs)) fs[PEER_PRINCIPAL] = san;
  }
  // inferSecurityRaw's result is this call's own (a fresh object, its attrs a fresh copy unless they are the
  // record's): completed in place instead of copied again
  const attrs = a === recordAttrs ? withTls(a, a.tls, a.transportProtocol) : a;
  attrs.filterState = fs;
  inf.attrs = attrs;
  inf.unknown = facts.withoutFilterState();
  return inf;
}

/** The filter state of a request whose peer is settled without a principal and whose record logged none. */
const NO_FILTER_STATE: Record<string, JsonValue> = Object.freeze({}) as Record<string, JsonValue>;

/**
 * What the replay asks of a record's `unknown` list, and the lists it derives from it. A reader's list is
 * often one frozen array shared by many records (src/readers/accesslog/record.ts): then the answers and the
 * derived lists (frozen too) are computed once per list, and equal lists stay one object down the line (the
 * decision and judgement memos key on it). Any other list is answered afresh.
 */
interface ListFacts {
  /** The list as a decision memo key part: a short id for a shared frozen list (`#<n>`), else its items (see listKeyPart). */
  keyPart: string;
  filterState: boolean;
  uriSans: boolean;
  tls: boolean;
  sni: boolean;
  withoutFilterState(): string[];
  withoutTls(): string[];
  withoutTlsPlusDetail(): string[];
}

const listMemo = new WeakMap<readonly string[], ListFacts>();

/** The list listFacts answered last for and its facts (consecutive records mostly share their frozen list). */
let lastList: string[] | undefined;
let lastListFacts: ListFacts | undefined;

/** Ids of the shared frozen lists seen (a list's id stands for its items in memo keys). */
let listIds = 0;

/**
 * The list as a memo key part: a shared frozen list by its id (`#<n>`, assigned once per list; equal frozen lists
 * may get different ids, which only costs a memo miss), any other list by its items, each length-prefixed.
 */
function listKeyPart(list: string[]): string {
  if (list === lastList) return lastListFacts!.keyPart;
  return Object.isFrozen(list) ? listFacts(list).keyPart : itemsKey(list);
}

function itemsKey(list: readonly string[]): string {
  let k = '';
  for (let i = 0; i < list.length; i++) k += val(list[i]!);
  return k;
}

function listFacts(list: string[]): ListFacts {
  if (list === lastList) return lastListFacts!;
  const hit = listMemo.get(list);
  if (hit) {
    lastList = list;
    lastListFacts = hit;
    return hit;
  }
  const frozen = Object.isFrozen(list);
  const once = <T extends string[]>(f: () => T): (() => T) => {
    if (!frozen) return f;
    let v: T | undefined;
    return () => (v ??= Object.freeze(f()) as T);
  };
  const facts: ListFacts = {
    keyPart: frozen ? `#${++listIds}` : itemsKey(list),
    filterState: list.includes('filterState'),
    uriSans: list.includes('tls.uriSans'),
    tls: list.includes('tls'),
    sni: list.includes('sni'),
    withoutFilterState: once(() => list.filter((u) => u !== 'filterState')),
    withoutTls: once(() => withoutTls(list)),
    withoutTlsPlusDetail: once(() => withoutTls(list).concat(TLS_DETAIL)),
  };
  if (frozen) listMemo.set(list, facts);
  return facts;
}

export function inferSecurity(rec: AccessRecord): Inferred {
  return settleFilterState(inferSecurityRaw(rec), rec.attrs);
}

const TLS_DETAIL = ['tls.uriSans', 'tls.dnsSans', 'tls.subject', 'tls.peerCertificateValidated'];

const TLS_ALL = ['tls', ...TLS_DETAIL];
const INFERRED_TLS: PeerTls = Object.freeze({ uriSans: [], dnsSans: [], subject: '', peerCertificateValidated: true }) as PeerTls;
const PLAIN_INFERRED = ['requested-server-name: - (plaintext inferred)'];

function withoutTls(list: string[]): string[] {
  return list.filter((u) => !TLS_ALL.includes(u));
}

/** The record's attributes with inferred TLS facts (a fixed-shape copy; the record itself keeps what was logged). */
function withTls(a: RequestAttrs, tls: PeerTls | undefined, transportProtocol: string | undefined): RequestAttrs {
  const out: RequestAttrs = {
    source: a.source, directRemote: a.directRemote, remote: a.remote, destination: a.destination, sni: a.sni,
    tls, alpn: a.alpn, transportProtocol, metadata: a.metadata, filterState: a.filterState, http: a.http,
  };
  return out;
}

const EV_WAYPOINT = ['istio-waypoint (HBONE mTLS; the caller identity is in the client ztunnel log)'];
const EV_PEER_SAN = ['peer-uri-san'];
const EV_ALS_NO_SAN = ['als-tls-properties (no peer URI SAN)'];
const EV_NO_SAN = ['peer-uri-san: none logged'];
const EV_TLS_VERSION = ['tls-version'];
const EV_ALS_NO_TLS = ['als-tls-properties: none'];
const EV_NO_TLS = ['tls-version: -'];
const EV_NO_FIELD = ['no TLS field logged'];
const EV_ISTIO_SNI = ['istio-sni (mTLS inferred; peer identity not logged)'];
const EV_SNI = ['requested-server-name (TLS; client certificate not logged)'];

function inferSecurityRaw(rec: AccessRecord): Inferred {
  const a = rec.attrs;
  const unknown = rec.unknown;
  const facts = listFacts(unknown);
  // evidence lists are shared by the records that have them (read-only)
  if (isWaypointInboundCluster(rec.upstreamCluster) && !a.tls?.uriSans.length) {
    // A waypoint's log of the inner request: its TLS fields describe the internal connection (never TLS); the
    // request came through HBONE, which is mTLS with the caller's certificate (named in the client ztunnel's log).
    return { attrs: withTls(a, INFERRED_TLS, 'tls'), unknown: facts.withoutTlsPlusDetail(), security: 'mtls', evidence: EV_WAYPOINT, inferred: true };
  }
  if (a.tls) {
    if (a.tls.uriSans.length) return { attrs: a, unknown, security: 'mtls', evidence: EV_PEER_SAN, inferred: false };
    if (!facts.uriSans) {
      return { attrs: a, unknown, security: 'tls', evidence: rec.format === 'als' ? EV_ALS_NO_SAN : EV_NO_SAN, inferred: false };
    }
    return { attrs: a, unknown, security: isIstioSni(a.sni) ? 'mtls' : 'tls', evidence: EV_TLS_VERSION, inferred: true };
  }
  if (!facts.tls) {
    return { attrs: a, unknown, security: 'plaintext', evidence: rec.format === 'als' ? EV_ALS_NO_TLS : EV_NO_TLS, inferred: false };
  }
  if (facts.sni) return { attrs: a, unknown, security: 'unknown', evidence: EV_NO_FIELD, inferred: false };
  if (a.sni) {
    // A requested server name comes from a TLS ClientHello. The ALPN is left to the engine, which
    // assumes an Istio client's for the record's protocol.
    const istio = isIstioSni(a.sni);
    const attrs = withTls(a, INFERRED_TLS, 'tls');
    const u = facts.withoutTlsPlusDetail();
    if (istio) return { attrs, unknown: u, security: 'mtls', evidence: EV_ISTIO_SNI, inferred: true };
    return { attrs, unknown: u, security: 'tls', evidence: EV_SNI, inferred: true };
  }
  // SNI logged as "-": no TLS ClientHello with SNI. Istio clients always send one, so plaintext (inferred).
  return { attrs: withTls(a, undefined, 'raw_buffer'), unknown: facts.withoutTls(), security: 'plaintext', evidence: PLAIN_INFERRED, inferred: true };
}

export type LoggedOutcome = NonNullable<Explanation['logged']>;

const RBAC_DENY_PREFIX = 'rbac_access_denied_matched_policy[';
const LINE_TERMINATOR = /[\n\r\u2028\u2029]/;
/** Details written by the router or later, i.e. after every HTTP RBAC filter let the request through. */
const AFTER_RBAC = new Set([
  'via_upstream', 'route_not_found', 'cluster_not_found', 'direct_response', 'maintenance_mode', 'no_healthy_upstream',
  'request_overall_timeout', 'response_payload_too_large', 'upstream_max_stream_duration_reached', 'internal_redirect',
  'response_timeout', 'upstream_per_try_timeout', 'upstream_per_try_idle_timeout', 'overload', 'low_version',
]);

/** Local replies of the HTTP connection manager itself, sent before any HTTP filter (RBAC never ran). */
const HCM_LOCAL_REPLIES = new Set(['path_normalization_failed']);

export interface Logged {
  outcome: LoggedOutcome;
  policy?: string;
  /** The detail string the classification rests on. */
  detail: string;
}

/**
 * The last few HTTP records with RESPONSE_CODE_DETAILS that loggedOutcome classified: what the classification of
 * such a record reads (its details, its termination details and, for an HCM local reply, its response code) and the
 * answer (records mostly repeat a few of them, e.g. denied and allowed in turn; the answer is only read,
 * explainRecord). A shared answer also shares its detail string, which the judgement memo then finds by a hash
 * already computed instead of hashing each record's own copy.
 */
const LOGGED_SLOTS = 4;
const LAST_LOGGED: { rcd: string; ctd: string | undefined; code: number | undefined; logged: Logged | null }[] = Array.from({ length: LOGGED_SLOTS }, () => ({ rcd: '', ctd: undefined, code: undefined, logged: null }));
/** The slot LAST_LOGGED's next new answer goes to (round robin). */
let loggedNext = 0;

/** Classifies what Envoy logged for the record. */
export function loggedOutcome(rec: AccessRecord): Logged {
  const rcd = rec.responseCodeDetails;
  if (rec.kind !== 'http' || !rcd) return classifyLogged(rec);
  const ctd = rec.connectionTerminationDetails;
  const code = rec.responseCode;
  for (let i = 0; i < LOGGED_SLOTS; i++) {
    const last = LAST_LOGGED[i]!;
    if (last.logged !== null && rcd === last.rcd && ctd === last.ctd && code === last.code) return last.logged;
  }
  const logged = classifyLogged(rec);
  const last = LAST_LOGGED[loggedNext]!;
  loggedNext = (loggedNext + 1) % LOGGED_SLOTS;
  last.rcd = rcd;
  last.ctd = ctd;
  last.code = code;
  last.logged = logged;
  return logged;
}

/** loggedOutcome without the memo of the record before. */
function classifyLogged(rec: AccessRecord): Logged {
  const rcd = rec.responseCodeDetails;
  const ctd = rec.connectionTerminationDetails;
  for (let i = 0; i < 2; i++) {
    const d = i === 0 ? rcd : ctd;
    // RBAC_DENY without the regex: the prefix, a final `]`, and no line terminator between (`.` matches none)
    if (!d || !d.startsWith(RBAC_DENY_PREFIX) || d.charCodeAt(d.length - 1) !== 93 /* ] */) continue;
    const policy = d.slice(RBAC_DENY_PREFIX.length, -1);
    if (LINE_TERMINATOR.test(policy)) continue;
    return { outcome: 'denied', policy, detail: d };
  }
  if (rcd === 'filter_chain_not_found' || ctd === 'filter_chain_not_found') return { outcome: 'no-filter-chain', detail: 'filter_chain_not_found' };
  if (rec.kind === 'tcp' && rec.responseFlags?.split(',').includes('NR')) return { outcome: 'no-filter-chain', detail: 'response flag NR on a connection' };
  if (rec.kind === 'http') {
    if (rcd && HCM_LOCAL_REPLIES.has(rcd)) return { outcome: 'rejected', detail: `${rec.responseCode ?? ''} ${rcd} (the HTTP connection manager answered before any HTTP filter)`.trim() };
    if (rcd) {
      if (AFTER_RBAC.has(rcd) || rcd.startsWith('upstream_') || rcd.startsWith('via_')) return { outcome: 'allowed', detail: rcd };
      if (/^(ext_authz|jwt_authn)/.test(rcd)) return { outcome: 'not-evaluated', detail: `${rcd} (a filter before RBAC answered)` };
      return { outcome: 'unknown', detail: `${rcd} (does not say whether RBAC ran)` };
    }
    if (rec.upstreamHost && rec.responseCode !== undefined && rec.responseCode !== 0) return { outcome: 'allowed', detail: `reached upstream ${rec.upstreamHost}` };
    if (rec.responseCode === 403) return { outcome: 'unknown', detail: '403 without RESPONSE_CODE_DETAILS (RBAC or another filter)' };
    return { outcome: 'unknown', detail: 'no RESPONSE_CODE_DETAILS logged' };
  }
  // TCP: the network RBAC filter decides on the first byte from downstream.
  if (rec.bytesReceived === 0) return { outcome: 'not-evaluated', detail: 'no bytes from downstream (network RBAC never ran)' };
  if (rec.upstreamHost || (rec.bytesSent ?? 0) > 0) return { outcome: 'allowed', detail: rec.upstreamHost ? `proxied to ${rec.upstreamHost}` : 'bytes sent back' };
  return { outcome: 'unknown', detail: 'connection closed without termination details' };
}

/** Envoy's responseDetail(): whitespace in the policy id becomes `_`. */
export function sanitizePolicyId(id: string): string {
  return id.replace(/[ \t\f\v\n\r]/g, '_');
}

function noChain(d: Decision): boolean {
  return d.responseCodeDetails === 'filter_chain_not_found';
}

function policiesIn(d: Decision): Set<string> {
  const s = new Set<string>();
  for (const f of d.filters) for (const p of f.policies) s.add(sanitizePolicyId(p.name));
  return s;
}

const MISSING_HINTS: [RegExp, string][] = [
  [/filter state|peer_principal/i, 'filterState'],
  // Istio's peer principal is the client certificate's URI SAN: logging that decides it.
  [/io\.istio\.peer_principal/, 'tls.uriSans'],
  [/URI SAN|uriSans|authenticated|peer certificate|principal_name/i, 'tls.uriSans'],
  // the authenticated matcher compares URI SANs, DNS SANs and the subject: its leaf says "the peer certificate"
  [/DNS SAN|dnsSans|the peer certificate/i, 'tls.dnsSans'],
  [/subject|the peer certificate/i, 'tls.subject'],
  [/dynamic metadata|metadata/i, 'metadata'],
  [/header/i, 'http.headers'],
  [/whether the connection used TLS|\btls\b/i, 'tls'],
  [/server name|\bSNI\b/i, 'sni'],
  [/direct remote|direct_remote/i, 'directRemote'],
  [/destination/i, 'destination'],
];

/** Undecidable policy notes of the decision (the engine names the attribute it could not read). */
function undecidableNotes(d: Decision): string[] {
  const notes: string[] = [];
  for (const f of d.filters) for (const p of f.policies) if (p.matched === 'undecidable' && p.undecidableReason) notes.push(`${p.name}: ${p.undecidableReason}`);
  return notes;
}

/** The attributes the record did not carry that the decision needed. */
function missingAttrs(d: Decision, unknown: string[]): string[] {
  // Notes about attributes an assumption settled (Istio-issued certificates) name them but do not lack them.
  const text = [...(d.reasons ?? []).filter((r) => !r.includes('assumed an Istio-issued workload certificate')), ...undecidableNotes(d)].join(' ');
  const out = new Set<string>();
  for (const u of unknown) if (text.includes(u)) out.add(u);
  for (const [re, attr] of MISSING_HINTS) if (re.test(text) && unknown.some((u) => u === attr || attr.startsWith(u + '.') || u.startsWith(attr + '.'))) out.add(attr);
  return [...out];
}

interface Judgement {
  verdict: Explanation['verdict'];
  reason: string;
  missing?: string[];
}

/**
 * Judgements are pure in (decision, what was logged, security, unknown, waypoint evidence): cached per memoized
 * decision, with the inputs and judgement it gave last (most decisions meet one combination: no map lookups).
 */
const judged = new WeakMap<Decision, {
  byList: Map<string[] | string, Map<number, Map<string, Judgement>>>; size: number;
  u: string[] | null; code: number; detail: string; j: Judgement | null;
}>();

/** Small numbers for the logged outcomes and securities (memo keys without building a string per record). */
const OUTCOME_CODE = new Map<string | undefined, number>(['allowed', 'denied', 'no-filter-chain', 'rejected', 'not-evaluated', 'unknown', undefined].map((o, i) => [o, i]));
const SECURITY_CODE = new Map<string | undefined, number>(['mtls', 'tls', 'plaintext', 'unknown', undefined].map((o, i) => [o, i]));
const VERDICT_CODE = new Map<string, number>(['agrees', 'disagrees', 'undecidable', 'not-from-this-proxy'].map((o, i) => [o, i]));

export function explainRecord(rec: AccessRecord, decide: Decider): Explanation {
  const inf = inferSecurity(rec);
  const logged = loggedOutcome(rec);
  let decision: Decision | undefined;
  // what the decider threw, or gave instead of a decision (AttemptingDecider)
  let failure: unknown;
  let j: Judgement;
  try {
    const opts: DeciderOptions = { unknown: inf.unknown, kind: rec.kind === 'http' ? 'http' : 'network', record: rec };
    const attempt = (decide as Partial<AttemptingDecider>).attempt;
    if (attempt === undefined) decision = decide(inf.attrs, opts);
    else {
      const d = attempt(inf.attrs, opts);
      if (d instanceof Error) failure = d;
      else decision = d;
    }
  } catch (e) {
    failure = e;
  }
  if (decision === undefined) {
    const e = failure;
    const foreign = e instanceof NotFromProxyError;
    const out: Explanation = { record: rec, decision: null, verdict: foreign ? 'not-from-this-proxy' : 'undecidable', reason: foreign ? e.message : `could not evaluate: ${(e as Error).message}`, identityEvidence: inf.evidence, logged: logged.outcome, security: inf.security };
    if (logged.policy !== undefined) out.loggedPolicy = logged.policy;
    return out;
  }
  const u = inf.unknown;
  // what judge reads besides the decision, the unknown list and the detail (the logged policy is read from the
  // detail; the addresses it names are the decision's key's): the logged outcome, the security, and whether the
  // evidence is a waypoint's (its identity hint differs)
  const code = OUTCOME_CODE.get(logged.outcome)! * 8 + SECURITY_CODE.get(inf.security)! + (inf.evidence === EV_WAYPOINT ? 64 : 0);
  if (decision === lastJudged.decision && u === lastJudged.unknown && code === lastJudged.code && logged.detail === lastJudged.detail) {
    // the record before had the same judgement inputs (the usual run of one request's records): no memo lookups
    j = lastJudged.judgement!;
  } else {
    j = judgementOf(decision, logged, inf, u, code);
    lastJudged.decision = decision;
    lastJudged.unknown = u;
    lastJudged.code = code;
    lastJudged.detail = logged.detail;
    lastJudged.judgement = j;
  }
  const out: Explanation = { record: rec, decision, verdict: j.verdict, reason: j.reason, identityEvidence: inf.evidence, logged: logged.outcome, security: inf.security };
  if (logged.policy !== undefined) out.loggedPolicy = logged.policy;
  if (j.missing) out.missing = j.missing;
  if (decision.config !== undefined) out.dump = decision.config;
  return out;
}

/** The inputs of the judgement explainRecord gave last, and the judgement (judgementOf is pure in them). */
const lastJudged: { decision: Decision | null; unknown: string[] | null; code: number; detail: string; judgement: Judgement | null } = {
  decision: null, unknown: null, code: -1, detail: '', judgement: null,
};

/** judge(decision, logged, inf), memoized per decision by the unknown list, the outcome and security (`code`) and the detail. */
function judgementOf(decision: Decision, logged: Logged, inf: Inferred, u: string[], code: number): Judgement {
  let j: Judgement;
  let perDecision = judged.get(decision);
  if (!perDecision) {
    perDecision = { byList: new Map(), size: 0, u: null, code: -1, detail: '', j: null };
    judged.set(decision, perDecision);
  } else if (perDecision.u === u && perDecision.code === code && perDecision.detail === logged.detail) return perDecision.j!;
  // keyed by the unknown list (a shared frozen list by identity), then by what was logged (the logged policy is read from the detail)
  const listKey = Object.isFrozen(u) ? u : u.join(',');
  let byLogged = perDecision.byList.get(listKey);
  if (!byLogged) {
    byLogged = new Map();
    if (perDecision.size < 1000) perDecision.byList.set(listKey, byLogged);
  }
  // then by outcome and security (as a number) and the detail: no key string built per record
  let byDetail = byLogged.get(code);
  if (!byDetail) {
    byDetail = new Map();
    byLogged.set(code, byDetail);
  }
  const hit = byDetail.get(logged.detail);
  if (hit) j = hit;
  else {
    j = judge(decision, logged, inf);
    if (perDecision.size < 1000) {
      byDetail.set(logged.detail, j);
      perDecision.size++;
    }
  }
  perDecision.u = u;
  perDecision.code = code;
  perDecision.detail = logged.detail;
  perDecision.j = j;
  return j;
}

function judge(decision: Decision, logged: Logged, inf: Inferred): Judgement {
  const ours = decision.decision;
  const ourPolicy = decision.policy === null ? 'none' : sanitizePolicyId(decision.policy);
  if (ours === 'UNDECIDABLE' && logged.outcome === 'allowed') {
    // Only an ext_authz (CUSTOM) answer was unknowable and every enforcing RBAC filter allows:
    // Envoy served the request, so the provider allowed it too.
    const enforcing = decision.filters.filter((f) => !f.shadow);
    const extAuthz = (n: string): boolean => /ext_authz/.test(n);
    if (enforcing.length && enforcing.every((f) => (extAuthz(f.name) ? f.result !== 'DENY' : f.result === 'ALLOW'))) {
      return { verdict: 'agrees', reason: `allowed, as logged (${logged.detail}); every RBAC filter allows and the ext_authz provider, whose answer the config cannot tell, evidently allowed` };
    }
  }
  if (ours === 'UNDECIDABLE') {
    const missing = missingAttrs(decision, inf.unknown);
    const notes = undecidableNotes(decision);
    let why = notes.length ? notes[0]! : (decision.reasons ?? []).join('; ') || 'the engine could not decide';
    if (missing.length) {
      const identity = missing.some((m) => m === 'filterState' || m.startsWith('tls.'));
      const xff = missing.includes('source') && inf.attrs.remote && !inf.attrs.source
        ? ` (the logged downstream remote address ${inf.attrs.remote.address} has port 0: it came from X-Forwarded-For, so it is the remote address remote_ip reads, not the connection peer source_ip reads)`
        : '';
      const waypoint = inf.evidence.some((e) => e.startsWith('istio-waypoint'));
      const hint = !identity || inf.security !== 'mtls' ? '' : waypoint ? " (the caller's identity: the client ztunnel's outbound record to this waypoint, src.identity)" : " (the caller's identity: log %DOWNSTREAM_PEER_URI_SAN% or use ALS)";
      why = `the log does not carry ${missing.join(', ')}${hint}${xff} — ${why}`;
    }
    const e: Judgement = { verdict: 'undecidable', reason: why };
    if (missing.length) e.missing = missing;
    return e;
  }
  if (decision.localReply) {
    const lr = decision.localReply;
    if (logged.outcome === 'rejected') return { verdict: 'agrees', reason: `rejected by the HTTP connection manager (${lr.status} ${lr.details}) before RBAC, as logged` };
    if (logged.outcome === 'allowed' || logged.outcome === 'denied' || logged.outcome === 'no-filter-chain') {
      return { verdict: 'disagrees', reason: `Envoy logged ${logged.detail} but the config's HTTP connection manager answers ${lr.status} ${lr.details} before any filter (${lr.reason}): the proxy's path settings differ from the dump's (config drift)` };
    }
  }
  switch (logged.outcome) {
    case 'rejected':
      // The log shows :path after Envoy changed it (e.g. unescaped), so the rejection itself cannot be replayed.
      return { verdict: 'undecidable', reason: `Envoy rejected the request in the HTTP connection manager (${logged.detail}); RBAC never ran, and the logged :path is the one after Envoy's own rewriting, so the rejection cannot be replayed from it` };
    case 'denied': {
      if (noChain(decision)) {
        return ({ verdict: 'disagrees', reason: `Envoy's RBAC denied (${logged.detail}) but in this config no filter chain takes the connection: config drift (e.g. mTLS mode changed) or the log's TLS facts differ` });
      }
      if (ours === 'DENY') {
        if (ourPolicy === logged.policy) return ({ verdict: 'agrees', reason: `denied by ${logged.policy === 'none' ? 'no ALLOW match' : logged.policy}, as logged` });
        const drift = logged.policy !== 'none' && !policiesIn(decision).has(logged.policy!) ? `; policy ${logged.policy} is not in this config (config drift: the dump is not the config that was in force)` : '';
        return ({ verdict: 'disagrees', reason: `both deny, but Envoy logged ${logged.policy} and the config gives ${ourPolicy}${drift || ': config drift (the dump is not the config that was in force)'}` });
      }
      const drift = logged.policy !== 'none' && !policiesIn(decision).has(logged.policy!)
        ? `policy ${logged.policy} is not in this config (config drift: the dump is not the config that was in force)`
        : 'config drift (the dump is not the config that was in force) or an attribute the log does not show (e.g. the peer identity)';
      return ({ verdict: 'disagrees', reason: `Envoy denied (${logged.detail}) but the config allows: ${drift}` });
    }
    case 'allowed': {
      if (ours === 'ALLOW') return ({ verdict: 'agrees', reason: `allowed, as logged (${logged.detail})` });
      if (noChain(decision)) return ({ verdict: 'disagrees', reason: `Envoy served the request (${logged.detail}) but the config has no filter chain for it: config drift, or the log's TLS facts differ` });
      return ({ verdict: 'disagrees', reason: `Envoy allowed (${logged.detail}) but the config denies by ${ourPolicy === 'none' ? 'no ALLOW match' : ourPolicy}: config drift (the dump is not the config that was in force)` });
    }
    case 'no-filter-chain': {
      if (noChain(decision)) return ({ verdict: 'agrees', reason: 'no filter chain matches, as logged (filter_chain_not_found)' });
      return ({ verdict: 'disagrees', reason: `Envoy found no filter chain but the config selects ${decision.filterChain ?? 'one'}: config drift (e.g. mTLS mode changed) or the log's TLS facts differ` });
    }
    default:
      return ({ verdict: 'undecidable', reason: `cannot compare: ${logged.detail}` });
  }
}

// ---------- filters ----------

export interface ExplainFilter {
  denied?: boolean;
  sinceMs?: number;
  untilMs?: number;
  /** IP, CIDR, or identity (SPIFFE id / `ns/sa` substring) of the caller. */
  source?: string;
  /** Substring of the policy id (logged or decided). */
  policy?: string;
}

/** Cheap pre-filter on the record alone (before replay). */
export function recordPasses(rec: AccessRecord, f: ExplainFilter): boolean {
  if (f.sinceMs !== undefined && (rec.timeMs === undefined || rec.timeMs < f.sinceMs)) return false;
  if (f.untilMs !== undefined && (rec.timeMs === undefined || rec.timeMs > f.untilMs)) return false;
  if (f.source !== undefined && !sourceMatches(rec, f.source)) return false;
  return true;
}

/** Filter on the explanation (denied, policy). */
export function explanationPasses(e: Explanation, f: ExplainFilter): boolean {
  if (f.denied && !(e.logged === 'denied' || e.decision?.decision === 'DENY')) return false;
  if (f.policy !== undefined) {
    const p = [e.loggedPolicy ?? '', e.decision?.policy ?? ''];
    if (!p.some((x) => x.includes(f.policy!))) return false;
  }
  return true;
}

function ipToBig(ip: string): { v: bigint; bits: number } | null {
  if (ip.includes(':')) {
    const parts = ip.split('::');
    if (parts.length > 2) return null;
    const head = parts[0] ? parts[0].split(':') : [];
    const tail = parts.length === 2 && parts[1] ? parts[1].split(':') : [];
    const fill = parts.length === 2 ? 8 - head.length - tail.length : 0;
    const groups = [...head, ...Array(fill).fill('0'), ...tail];
    if (groups.length !== 8) return null;
    let v = 0n;
    for (const g of groups) {
      if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
      v = (v << 16n) | BigInt(parseInt(g, 16));
    }
    return { v, bits: 128 };
  }
  const p = ip.split('.');
  if (p.length !== 4) return null;
  let v = 0n;
  for (const x of p) {
    if (!/^\d{1,3}$/.test(x) || Number(x) > 255) return null;
    v = (v << 8n) | BigInt(Number(x));
  }
  return { v, bits: 32 };
}

export function sourceMatches(rec: AccessRecord, source: string): boolean {
  const addr = rec.attrs.source?.address ?? rec.attrs.remote?.address;
  const sans = rec.attrs.tls?.uriSans ?? [];
  if (sans.some((s) => s.includes(source))) return true;
  if (!addr) return false;
  if (source.includes('/') && /^[0-9a-f.:]+\/\d+$/i.test(source)) {
    const [net, lenS] = source.split('/') as [string, string];
    const a = ipToBig(addr);
    const n = ipToBig(net);
    if (!a || !n || a.bits !== n.bits) return false;
    const len = BigInt(Number(lenS));
    const shift = BigInt(a.bits) - len;
    return a.v >> shift === n.v >> shift;
  }
  return addr === source;
}

// ---------- aggregation ----------

export interface ExplainSummary {
  records: number;
  allowed: number;
  denied: number;
  /** Denials by policy id (`none` = no ALLOW match), as decided by the config (or as logged when undecidable). */
  deniedBy: Record<string, number>;
  /** Connections no filter chain takes (filter_chain_not_found: e.g. plaintext to a STRICT port). */
  noChain: number;
  /** Requests the HTTP connection manager answered itself before any filter (400/307 path_normalization_failed). */
  rejected: number;
  undecidable: number;
  agrees: number;
  disagreements: number;
  /** Records whose local address is not their dump's proxy's (or whose proxy has no dump): not compared. */
  notFromProxy: number;
}

export interface ExplainGroup {
  decision: string;
  policy: string;
  verdict: Explanation['verdict'];
  count: number;
  /** First record of the group, `file:line`. */
  example: string;
  reason: string;
  /** The config dump the group's records were replayed through (several dumps: the one in force at each record's time). */
  dump: string | null;
}

export function refString(rec: AccessRecord): string {
  const r = rec.ref;
  if (r.stream !== undefined) return `${r.file}#${r.stream}/${r.index ?? 0}`;
  return r.line !== undefined ? `${r.file}:${r.line}` : r.file;
}

/** Decision label of an explanation: the config's decision, else what Envoy logged. */
export function outcomeOf(e: Explanation): { decision: string; policy: string } {
  if (e.verdict === 'not-from-this-proxy') return { decision: 'NOT THIS PROXY', policy: '-' };
  const d = e.decision;
  if (d && noChain(d)) return { decision: 'NO CHAIN', policy: '-' };
  if (d?.localReply) return { decision: `REJECTED ${d.localReply.status}`, policy: d.localReply.details };
  if (e.logged === 'rejected' && (!d || d.decision === 'UNDECIDABLE' || e.verdict === 'undecidable')) return { decision: 'REJECTED (logged)', policy: '-' };
  if (d && d.decision !== 'UNDECIDABLE') return { decision: d.decision, policy: d.decision === 'DENY' ? d.policy ?? 'none' : d.policy ?? '-' };
  if (e.logged === 'denied') return { decision: 'DENY (logged)', policy: e.loggedPolicy ?? 'none' };
  if (e.logged === 'allowed') return { decision: 'ALLOW (logged)', policy: '-' };
  if (e.logged === 'no-filter-chain') return { decision: 'NO CHAIN (logged)', policy: '-' };
  return { decision: 'UNDECIDABLE', policy: '-' };
}

/** One group of an aggregator with its key (see ExplainAggregator.groupStates). */
export interface ExplainGroupState {
  key: string;
  group: ExplainGroup;
}

/**
 * An aggregator's groups of one decision's explanations (their dump the decision's): by verdict and logged outcome
 * (`code`), then logged policy; and the one found last with what it was found by.
 */
interface DecisionGroups {
  code: number;
  loggedPolicy: string | undefined;
  group: ExplainGroup | null;
  byCode: Map<number, Map<string | undefined, ExplainGroup>>;
}

function remember(per: DecisionGroups, code: number, loggedPolicy: string | undefined, g: ExplainGroup): ExplainGroup {
  per.code = code;
  per.loggedPolicy = loggedPolicy;
  per.group = g;
  return g;
}

export class ExplainAggregator {
  readonly summary: ExplainSummary = { records: 0, allowed: 0, denied: 0, deniedBy: {}, noChain: 0, rejected: 0, undecidable: 0, agrees: 0, disagreements: 0, notFromProxy: 0 };
  private readonly groups = new Map<string, ExplainGroup>();
  /**
   * The group of an explanation whose dump is its decision's (`Decision.config`), by the decision object and what
   * else outcomeOf and the group key read (verdict, logged outcome and policy): a memoized decision is shared by
   * many records, and finding its group here costs no key string of the decision, policy and dump path.
   */
  private readonly byDecision = new WeakMap<Decision, DecisionGroups>();

  add(e: Explanation): void {
    const s = this.summary;
    s.records++;
    const dec = e.decision;
    const d = dec?.decision;
    if (e.verdict === 'undecidable') s.undecidable++;
    if (e.verdict === 'agrees') s.agrees++;
    if (e.verdict === 'disagrees') s.disagreements++;
    if (e.verdict === 'not-from-this-proxy') s.notFromProxy++;
    if (d === 'ALLOW' || (e.verdict === 'agrees' && e.logged === 'allowed')) s.allowed++;
    else if (d === 'DENY' && noChain(dec!)) s.noChain++;
    else if ((d === 'DENY' && dec!.localReply) || (e.logged === 'rejected' && e.verdict === 'undecidable')) s.rejected++;
    else if (d === 'DENY') {
      s.denied++;
      const p = dec!.policy ?? 'none';
      s.deniedBy[p] = (s.deniedBy[p] ?? 0) + 1;
    }
    // the group of the explanation before, when this one has the same parts (the decision, verdict, logged outcome and
    // policy and dump are all the group's key reads): no lookups, and none of the key string of one without a decision
    const last = this.last;
    if (last.group !== null && dec === last.decision && e.verdict === last.verdict && e.logged === last.logged && e.loggedPolicy === last.loggedPolicy && e.dump === last.dump) {
      last.group.count++;
      return;
    }
    const g = this.groupOf(e, dec);
    g.count++;
    last.group = g;
    last.decision = dec;
    last.verdict = e.verdict;
    last.logged = e.logged;
    last.loggedPolicy = e.loggedPolicy;
    last.dump = e.dump;
  }

  /** The explanation before's group and the parts it was found by (see add). */
  private readonly last: {
    group: ExplainGroup | null; decision: Decision | null; verdict: Explanation['verdict'] | undefined; logged: Explanation['logged'];
    loggedPolicy: string | undefined; dump: string | undefined;
  } = { group: null, decision: null, verdict: undefined, logged: undefined, loggedPolicy: undefined, dump: undefined };

  /** The group of `e` (its decision `dec`), created with count 0 when new. */
  private groupOf(e: Explanation, dec: Decision | null): ExplainGroup {
    let fast: Map<string | undefined, ExplainGroup> | undefined;
    const v = VERDICT_CODE.get(e.verdict);
    const l = OUTCOME_CODE.get(e.logged);
    let per: DecisionGroups | undefined;
    let code = -1;
    if (dec && e.dump === dec.config && v !== undefined && l !== undefined) {
      per = this.byDecision.get(dec);
      if (!per) {
        per = { code: -1, loggedPolicy: undefined, group: null, byCode: new Map() };
        this.byDecision.set(dec, per);
      }
      code = v * 8 + l;
      // the group the decision's explanation before had, when this one has the same verdict, outcome and policy
      if (per.group !== null && per.code === code && per.loggedPolicy === e.loggedPolicy) return per.group;
      fast = per.byCode.get(code);
      if (!fast) {
        fast = new Map();
        per.byCode.set(code, fast);
      }
      const g = fast.get(e.loggedPolicy);
      if (g) return remember(per, code, e.loggedPolicy, g);
    }
    const o = outcomeOf(e);
    const key = `${o.decision}\u0000${o.policy}\u0000${e.verdict}\u0000${e.dump ?? ''}`;
    let g = this.groups.get(key);
    if (!g) {
      g = { decision: o.decision, policy: o.policy, verdict: e.verdict, count: 0, example: refString(e.record), reason: e.reason, dump: e.dump ?? null };
      this.groups.set(key, g);
    }
    // bounded: a decision's records differ in these parts only by the logged policy
    if (fast && fast.size < 256) fast.set(e.loggedPolicy, g);
    return per ? remember(per, code, e.loggedPolicy, g) : g;
  }

  /** The groups in first-seen order with their keys (to merge aggregators of consecutive parts of the records). */
  groupStates(): ExplainGroupState[] {
    return [...this.groups].map(([key, group]) => ({ key, group }));
  }

  /**
   * Adds the summary and groups of the records that follow this aggregator's (another aggregator's
   * `summary` and `groupStates()`): the result is what one aggregator over all the records would hold.
   */
  merge(summary: ExplainSummary, groups: ExplainGroupState[]): void {
    const s = this.summary;
    s.records += summary.records;
    s.allowed += summary.allowed;
    s.denied += summary.denied;
    for (const [p, n] of Object.entries(summary.deniedBy)) s.deniedBy[p] = (s.deniedBy[p] ?? 0) + n;
    s.noChain += summary.noChain;
    s.rejected = (s.rejected ?? 0) + (summary.rejected ?? 0);
    s.undecidable += summary.undecidable;
    s.agrees += summary.agrees;
    s.disagreements += summary.disagreements;
    s.notFromProxy = (s.notFromProxy ?? 0) + (summary.notFromProxy ?? 0);
    for (const { key, group } of groups) {
      const g = this.groups.get(key);
      if (g) g.count += group.count;
      else this.groups.set(key, { ...group });
    }
  }

  groupList(): ExplainGroup[] {
    const order = (x: string): number => (x.startsWith('ALLOW') ? 0 : x.startsWith('DENY') ? 1 : x.startsWith('NOT ') ? 4 : x.startsWith('NO') ? 2 : 3);
    return [...this.groups.values()].sort((a, b) => order(a.decision) - order(b.decision) || b.count - a.count || a.policy.localeCompare(b.policy) || (a.dump ?? '').localeCompare(b.dump ?? ''));
  }
}

const fmtN = (n: number): string => n.toLocaleString('en-US');

/** `1,204 records: 1,150 allowed, 54 denied (41 by ns[foo]-policy[deny-post]-rule[0], 13 by no ALLOW match); 0 disagreements` */
export function summaryLine(s: ExplainSummary): string {
  const by = Object.entries(s.deniedBy)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([p, n]) => `${fmtN(n)} by ${p === 'none' ? 'no ALLOW match' : p}`);
  let line = `${fmtN(s.records)} record${s.records === 1 ? '' : 's'}: ${fmtN(s.allowed)} allowed, ${fmtN(s.denied)} denied`;
  if (by.length) line += ` (${by.join(', ')})`;
  if (s.noChain) line += `, ${fmtN(s.noChain)} rejected with no filter chain`;
  if (s.rejected) line += `, ${fmtN(s.rejected)} rejected by the HTTP connection manager before RBAC`;
  if (s.undecidable) line += `, ${fmtN(s.undecidable)} undecidable`;
  if (s.notFromProxy) line += `, ${fmtN(s.notFromProxy)} not from this proxy`;
  line += `; ${fmtN(s.disagreements)} disagreement${s.disagreements === 1 ? '' : 's'}`;
  return line;
}

// ---------- replay against another config ----------

export interface DecisionChange {
  record: AccessRecord;
  before: { decision: string; policy: string | null; source: 'log' | 'config' };
  after: { decision: string; policy: string | null };
  explanation: Explanation;
}

/** Before (what Envoy logged, or a baseline decision) vs after (the proposed config): a change, or null. */
export function decisionChange(e: Explanation, baseline?: Explanation): DecisionChange | null {
  const after = e.decision;
  if (!after || after.decision === 'UNDECIDABLE') return null;
  let before: DecisionChange['before'];
  if (baseline) {
    const b = baseline.decision;
    if (!b || b.decision === 'UNDECIDABLE') return null;
    before = { decision: b.decision, policy: b.decision === 'DENY' ? b.policy ?? 'none' : null, source: 'config' };
  } else if (e.logged === 'denied') before = { decision: 'DENY', policy: e.loggedPolicy ?? 'none', source: 'log' };
  else if (e.logged === 'allowed') before = { decision: 'ALLOW', policy: null, source: 'log' };
  else return null;
  // An HCM local reply (path_normalization_failed) is named by its details, not as an RBAC policy.
  const afterPolicy = after.decision === 'DENY' ? (after.localReply ? after.localReply.details : sanitizePolicyId(after.policy ?? 'none')) : null;
  const beforePolicy = before.policy === null ? null : sanitizePolicyId(before.policy);
  if (before.decision === after.decision && beforePolicy === afterPolicy) return null;
  return { record: e.record, before, after: { decision: after.decision, policy: afterPolicy }, explanation: e };
}

// ---------- wiring to the config model ----------

/** The parts of a ConfigDump this module needs to pick the dump of a record's proxy (and the one in force at its time). */
export type DumpLike = DumpKeySource;

/**
 * Thrown by a decider when the record cannot have been written by the proxy of the dump (its local
 * address is not the proxy's, or none of the dumps is its proxy's): the verdict is "not from this
 * proxy", never a disagreement. Thrown for every record of a proxy without a dump (often thousands): no stack.
 */
export class NotFromProxyError extends StacklessError {}

export type DumpDecider<D extends DumpLike> = (dump: D, req: RequestAttrs, opts: DeciderOptions) => Decision;

/**
 * A decider over one or several proxies' dumps, possibly several dumps per proxy taken at different
 * times. The record's proxy is found as `report` finds it (proxies.ts `ProxyIndex`: node id, `kubectl
 * logs --prefix` pod, the log file's name, then the proxy's own address on the record), and among its
 * dumps the one in force at the record's time (`inForceAt`, by the listeners' `last_updated`). The
 * decision names the dump it was made over (`Decision.config`). A record whose local address is not
 * the proxy's, or whose proxy has none of the dumps, throws NotFromProxyError.
 */
export function deciderOver<D extends DumpLike>(dumps: D[], decideDump: DumpDecider<D>, memo = true): Decider {
  // Decisions are memoized per distinct input. Source ports and the x-request-id header vary per
  // request and almost never matter to RBAC, so they are left out of the key unless the config
  // mentions them (source port inputs, CEL source.port, an x-request-id header matcher).
  const { keepPorts, keepRequestId } = memo ? configMentions(dumps) : { keepPorts: false, keepRequestId: false };
  const pick = dumpPicker(dumps);
  const decideOne = (dump: D, req: RequestAttrs, opts: DeciderOptions): Decision => ({ ...decideDump(dump, req, opts), config: dump.source });
  /** The decider throwing what `attempt` gives instead of a decision. */
  const throwing = (attempt: (req: RequestAttrs, opts: DeciderOptions) => Decision | Error): AttemptingDecider => {
    const decide = ((req: RequestAttrs, opts: DeciderOptions): Decision => {
      const d = attempt(req, opts);
      if (d instanceof Error) throw d;
      return d;
    }) as AttemptingDecider;
    decide.attempt = attempt;
    return decide;
  };
  if (!memo) return throwing((req, opts) => {
    const dump = pick(req, opts);
    return dump instanceof Error ? dump : decideOne(dump, req, opts);
  });
  const index = new Map<D, number>(dumps.map((d, i) => [d, i]));
  const recent = dumps.map(() => new RecentDecisions());
  const known = dumps.map(() => new PartsMemo());
  const cache = new DecisionCache();
  return throwing((req, opts) => {
    const dump = pick(req, opts);
    if (dump instanceof Error) return dump;
    const i = index.get(dump)!;
    const n = requestParts(req, opts, keepPorts, keepRequestId, PARTS);
    const r = recent[i]!;
    const seen = r.find(PARTS, n);
    if (seen) return seen;
    const h = hashParts(PARTS, n);
    const k = known[i]!;
    return fromParts(PARTS, n, h, r, k, cache) ?? fromKey(PARTS, n, h, r, k, cache, `${i}|${decisionKey(req, opts, keepPorts, keepRequestId)}`, () => decideOne(dump, req, opts));
  });
}

/**
 * The decision of a request (its parts `p[0..n)`, hashed `h`) not among the recent ones from the parts memo, while
 * its memo entry is still in the cache (then also made a recent one); undefined when not found (see fromKey).
 */
function fromParts(p: unknown[], n: number, h: number, recent: RecentDecisions, known: PartsMemo, cache: DecisionCache): Decision | undefined {
  const x = known.find(p, n, h);
  if (x === undefined) return undefined;
  cache.noteHit();
  // the entry's own parts (equal to p's, never changed) are the recent one's: no copy
  const d = x.entry.d!;
  recent.addOwned(x.parts, d);
  return d;
}

/**
 * The decision of a request the parts memo did not find: from the cache by its key string, else `decide()`;
 * stored in the recent ones, the cache, and the parts memo as the cache's entry.
 */
function fromKey(p: unknown[], n: number, h: number, recent: RecentDecisions, known: PartsMemo, cache: DecisionCache, key: string, decide: () => Decision): Decision {
  let e = cache.lookup(key);
  let d = e?.d;
  if (!d) {
    d = decide();
    e = cache.store(key, d);
  }
  if (e) known.add(p, n, h, e);
  recent.add(p, n, d);
  return d;
}

/**
 * One dump's decisions memoized by the same key and bounded cache as `deciderOver` (for callers that pick
 * the dump themselves, e.g. `report`, which joins records to proxies through correlation).
 */
export function memoizedDumpDecider<D>(dump: D, decideDump: (dump: D, req: RequestAttrs, opts: DeciderOptions) => Decision, cache = new DecisionCache(), keyPrefix = ''): Decider {
  const { keepPorts, keepRequestId } = configMentions([dump]);
  const recent = new RecentDecisions();
  const known = new PartsMemo();
  return (req, opts) => {
    const n = requestParts(req, opts, keepPorts, keepRequestId, PARTS);
    const seen = recent.find(PARTS, n);
    if (seen) return seen;
    const h = hashParts(PARTS, n);
    return fromParts(PARTS, n, h, recent, known, cache) ?? fromKey(PARTS, n, h, recent, known, cache, keyPrefix + decisionKey(req, opts, keepPorts, keepRequestId), () => decideDump(dump, req, opts));
  };
}

/**
 * The memo's requests found by their parts (`requestParts`), hashed, without a key string: a log whose requests
 * are more than RecentDecisions holds (e.g. 400 distinct requests in random order) otherwise builds, flattens and
 * hashes a key string of ~200 characters per record, the larger part of its replay. Parts equal ⇒ memo keys equal
 * (requestParts), so an entry found here is the cache's entry for the request's key: it is given while the cache
 * still holds it (`CacheEntry.d`), and a request whose entry left the cache goes to the cache by its key again.
 * Only entries the cache stored are added, so this holds no decision the cache does not; it is bounded by its
 * entries and the characters of their parts (copies, so no part keeps a log chunk it was sliced from alive), and
 * starts afresh when full.
 */
class PartsMemo {
  private readonly table = new Map<number, PartsEntry>();
  private entries = 0;
  private chars = 0;

  /** The entry of the request, while its decision is in the cache. */
  find(p: readonly unknown[], n: number, h: number): PartsEntry | undefined {
    let prev: PartsEntry | undefined;
    for (let x = this.table.get(h); x !== undefined; prev = x, x = x.next) {
      const q = x.parts;
      if (q.length !== n) continue;
      let j = 0;
      while (j < n && q[j] === p[j]) j++;
      if (j < n) continue;
      if (x.entry.d === undefined) {
        // its decision left the cache: unlinked (the caller finds the request by its key and adds it again)
        if (prev) prev.next = x.next;
        else if (x.next) this.table.set(h, x.next);
        else this.table.delete(h);
        this.entries--;
        return undefined;
      }
      return x;
    }
    return undefined;
  }

  add(p: readonly unknown[], n: number, h: number, entry: CacheEntry): void {
    // a hash shared by too many requests (a log made to collide it) is not extended: those requests go by their key
    // string, whose hashing V8 seeds, as before this memo
    let chain = 0;
    for (let x = this.table.get(h); x !== undefined; x = x.next) if (++chain >= PARTS_MEMO_CHAIN) return;
    const parts = new Array<unknown>(n);
    let chars = 0;
    for (let i = 0; i < n; i++) {
      const v = p[i];
      if (typeof v === 'string') {
        parts[i] = ownString(v);
        chars += v.length;
      } else parts[i] = v;
    }
    if (this.entries >= PARTS_MEMO_ENTRIES || this.chars + chars > PARTS_MEMO_CHARS) {
      this.table.clear();
      this.entries = this.chars = 0;
    }
    this.table.set(h, { parts, entry, next: this.table.get(h) });
    this.entries++;
    this.chars += chars;
  }
}

interface PartsEntry {
  parts: unknown[];
  entry: CacheEntry;
  next: PartsEntry | undefined;
}

/** PartsMemo's bounds: entries, and characters of their string parts (8M: 16 MB). */
const PARTS_MEMO_ENTRIES = 16384;
const PARTS_MEMO_CHARS = 8 * 1024 * 1024;
/** The most requests PartsMemo keeps under one hash. */
const PARTS_MEMO_CHAIN = 8;

/**
 * A string with the same characters that refers to no other string: a part of a record may be a slice of the log
 * chunk it was read from, which a stored slice would keep alive. (A string of fewer than 13 characters is never a
 * slice in V8; a longer one is flattened into a string of its own through a concatenation.)
 */
function ownString(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/**
 * PartsMemo's hash of the parts: each part's own hash (a string's FNV-1a over its characters and length; numbers,
 * booleans and undefined by value) mixed in turn. A string part equal to the one at its position in the request
 * before (compared natively, without hashing) reuses that one's hash: most parts repeat from record to record.
 */
function hashParts(p: readonly unknown[], n: number): number {
  let h = 0x811c9dc5 ^ n;
  for (let i = 0; i < n; i++) {
    const v = p[i];
    let x: number;
    if (typeof v === 'string') {
      if (v === LAST_STRING[i]) x = LAST_STRING_HASH[i]!;
      else {
        x = 0x811c9dc5;
        for (let j = 0; j < v.length; j++) x = Math.imul(x ^ v.charCodeAt(j), 16777619);
        x = Math.imul(x ^ (v.length | 0x10000), 16777619);
        LAST_STRING[i] = v;
        LAST_STRING_HASH[i] = x;
      }
    } else if (typeof v === 'number') x = Math.imul((v | 0) ^ 0x20000, 16777619);
    else x = v === true ? 0x30001 : v === false ? 0x30002 : v === undefined ? 0x30003 : 0x30004;
    h = Math.imul(h ^ x, 0x9e3779b1);
    h = (h << 13) | (h >>> 19);
  }
  return h | 0;
}

/** The string parts hashParts hashed last, by position, and their hashes. */
const LAST_STRING: (string | undefined)[] = [];
const LAST_STRING_HASH: number[] = [];

/**
 * The decisions of the last few distinct requests of one dump, found by comparing the request's parts (those the
 * memo key is built from, `requestParts`) with `===`: consecutive records of a log mostly repeat a handful of
 * requests (differing in source port and request id only), and finding them here costs no key string, whose
 * building, flattening and hashing was the larger part of a replayed record's time. Parts equal ⇒ memo keys equal,
 * so a request found here gets the decision the memo would give; one not found goes to the memo.
 */
class RecentDecisions {
  private readonly parts: unknown[][] = [];
  private readonly decisions: Decision[] = [];
  constructor(private readonly capacity = 8) {}

  find(p: readonly unknown[], n: number): Decision | undefined {
    const all = this.parts;
    outer: for (let i = 0; i < all.length; i++) {
      const q = all[i]!;
      if (q.length !== n) continue;
      for (let j = 0; j < n; j++) if (q[j] !== p[j]) continue outer;
      const d = this.decisions[i]!;
      if (i > 0) {
        // one step towards the front: the requests that keep coming back are compared first
        all[i] = all[i - 1]!;
        all[i - 1] = q;
        this.decisions[i] = this.decisions[i - 1]!;
        this.decisions[i - 1] = d;
      }
      return d;
    }
    return undefined;
  }

  add(p: readonly unknown[], n: number, d: Decision): void {
    this.addOwned(p.slice(0, n), d);
  }

  /** Adds a request by parts that are its own (never changed afterwards, here or by the caller). */
  addOwned(parts: unknown[], d: Decision): void {
    if (this.parts.length >= this.capacity) {
      this.parts.pop();
      this.decisions.pop();
    }
    this.parts.unshift(parts);
    this.decisions.unshift(d);
  }
}

/** Scratch for requestParts (the replay is not re-entered while a request's parts are compared). */
const PARTS: unknown[] = [];

/**
 * Every value `decisionKey` reads, in its order, into `out` (returns the count): the same request gives the same
 * parts, and equal parts give equal keys (each part is read as the key reads it, `=` endpoints included).
 */
function requestParts(req: RequestAttrs, opts: DeciderOptions, keepPorts: boolean, keepRequestId: boolean, out: unknown[]): number {
  let n = 0;
  out[n++] = opts.kind;
  out[n++] = listKeyPart(opts.unknown);
  const src = req.source;
  const remote = req.remote;
  const direct = req.directRemote;
  n = epParts(src, keepPorts, out, n);
  const remoteSame = sameEndpointPart(remote, src, keepPorts);
  out[n++] = remoteSame;
  if (!remoteSame) n = epParts(remote, keepPorts, out, n);
  const directSame = sameEndpointPart(direct, remote, keepPorts);
  out[n++] = directSame;
  if (!directSame) n = epParts(direct, keepPorts, out, n);
  n = epParts(req.destination, true, out, n);
  out[n++] = req.sni ?? '';
  out[n++] = req.transportProtocol ?? '';
  out[n++] = req.alpn ? itemsKey(req.alpn) : '';
  const t = req.tls;
  out[n++] = t !== undefined;
  if (t) {
    out[n++] = t.version ?? '';
    out[n++] = itemsKey(t.uriSans);
    out[n++] = itemsKey(t.dnsSans);
    out[n++] = t.subject;
    out[n++] = t.peerCertificateValidated;
  }
  const h = req.http;
  out[n++] = h !== undefined;
  if (h) {
    out[n++] = h.method ?? '';
    out[n++] = h.path ?? '';
    out[n++] = h.authority ?? '';
    out[n++] = h.scheme ?? '';
    out[n++] = h.protocol ?? '';
    for (const name in h.headers) {
      if (!keepRequestId && name === 'x-request-id') continue;
      const v = h.headers[name]!;
      out[n++] = name;
      out[n++] = v.length;
      for (let i = 0; i < v.length; i++) out[n++] = v[i];
    }
  }
  out[n++] = req.metadata ? JSON.stringify(req.metadata) : undefined;
  const fs = req.filterState;
  out[n++] = fs ? (fs === NO_FILTER_STATE ? '{}' : JSON.stringify(fs)) : undefined;
  return n;
}

function epParts(e: { address: string; port?: number } | undefined, port: boolean, out: unknown[], n: number): number {
  out[n++] = e === undefined ? undefined : e.address;
  out[n++] = e !== undefined && port ? e.port : undefined;
  return n;
}

/**
 * Memoized decisions bounded by their estimated size, not their count: a decision's traces grow with the
 * policies it evaluated, so 200k cached decisions could hold gigabytes. The oldest entries go first (Map keeps
 * insertion order); a hit costs nothing, a miss is only recomputed.
 */
/** The decision memo's budget (estimated bytes). */
export const DECISION_MEMO_BYTES = 32 * 1024 * 1024;

/**
 * One memoized decision and its estimated size. `d` is cleared when the entry leaves the memo, so a holder of the
 * entry (PartsMemo) sees that it is gone and does not keep the decision alive past the memo's budget.
 */
export interface CacheEntry {
  d: Decision | undefined;
  bytes: number;
}

export class DecisionCache {
  private readonly map = new Map<string, CacheEntry>();
  private bytes = 0;
  /** Lookups and hits in the current window, and whether misses are stored only one in ADMIT_EVERY. */
  private lookups = 0;
  private hits = 0;
  private sparse = false;
  private rng = 0x9e3779b9;
  constructor(readonly maxBytes = DECISION_MEMO_BYTES) {}

  get size(): number {
    return this.map.size;
  }

  get estimatedBytes(): number {
    return this.bytes;
  }

  /** Whether the recent hit rate is so low that only one miss in ADMIT_EVERY is stored. */
  get storingSparsely(): boolean {
    return this.sparse;
  }

  get(key: string): Decision | undefined {
    return this.lookup(key)?.d;
  }

  /** The entry of `key`, counted as a lookup (and a hit when found) in the hit-rate window. */
  lookup(key: string): CacheEntry | undefined {
    const e = this.map.get(key);
    if (e) this.hits++;
    this.counted();
    return e;
  }

  /** A hit found without a lookup by key (a PartsMemo entry still in the memo): counted as `lookup` counts one. */
  noteHit(): void {
    this.hits++;
    this.counted();
  }

  private counted(): void {
    if (++this.lookups === HIT_WINDOW) {
      this.sparse = this.hits * LOW_HIT_RATE < HIT_WINDOW;
      this.lookups = this.hits = 0;
    }
  }

  set(key: string, d: Decision): void {
    this.store(key, d);
  }

  /** Stores the decision of `key` (see set) and gives its entry, or undefined when it was not stored. */
  store(key: string, d: Decision): CacheEntry | undefined {
    // A memo that (almost) never hits — every request distinct, e.g. a path per request — costs more than it
    // saves: sizing and keeping 32 MB of decisions that are never read again (their garbage is old-generation
    // garbage). Then one miss in ADMIT_EVERY is kept, so a request that does repeat still finds its way in and the
    // hit rate that brings full storing back can show. Which miss is kept is drawn at random (a fixed-seed
    // xorshift), so requests repeating at some period cannot always fall between the ones kept.
    if (this.sparse) {
      let x = this.rng;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.rng = x;
      if ((x >>> 0) % ADMIT_EVERY !== 0) return undefined;
    }
    const bytes = 2 * key.length + decisionBytes(d);
    if (bytes > this.maxBytes) return undefined;
    const old = this.map.get(key);
    if (old) {
      this.bytes -= old.bytes;
      old.d = undefined;
      this.map.delete(key);
    }
    const entry: CacheEntry = { d, bytes };
    this.map.set(key, entry);
    this.bytes += bytes;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= v.bytes;
      v.d = undefined;
    }
    return entry.d === undefined ? undefined : entry;
  }
}

/** The decision memo's hit rate is judged over this many lookups; below 1 in LOW_HIT_RATE it stores 1 miss in ADMIT_EVERY. */
const HIT_WINDOW = 1024;
const LOW_HIT_RATE = 32;
const ADMIT_EVERY = 16;

/** Rough heap size of a decision: a fixed cost per object plus its strings, walked once when cached. */
function decisionBytes(v: unknown): number {
  let total = 0;
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === 'string') total += 16 + 2 * x.length;
    else if (Array.isArray(x)) {
      total += 32 + 8 * x.length;
      for (const y of x) stack.push(y);
    } else if (x !== null && typeof x === 'object') {
      total += 64;
      for (const y of Object.values(x)) {
        total += 16;
        stack.push(y);
      }
    } else total += 8;
  }
  return total;
}

/** Config text that makes source ports, or the x-request-id header, part of the decision memo's key. */
const SOURCE_PORT_TEXT = /SourcePortInput|source_port|source\.port/;
const REQUEST_ID_TEXT = /x-request-id/i;
/**
 * Access-log settings are left out: every Istio sidecar's log format names %REQ(X-REQUEST-ID)%, which RBAC never
 * reads, and keeping it made every request id a distinct key (no decision was ever reused).
 */
const ACCESS_LOG_KEY = /^access_?logs?$/i;

/** The end of an object's walk in `configMentions` (it leaves the path of objects being walked). */
class Leave {
  constructor(readonly o: object) {}
}

/**
 * The memo's "does the config read source ports / x-request-id" test: whether any key or string value of the
 * dumps (Maps and Sets included, access-log settings left out) matches. The values are walked in place and the
 * walk stops once both are found: serialising the dumps to test the text made a string as large as the model
 * (143 MB for a dump of 150k malformed listeners and their diagnostics, beside the 210 MB model), which ran
 * `explain` out of a 512 MB heap. An object met again on its own path (a cycle) is not followed; one shared by
 * several parents is walked under each, as serialising did.
 */
export function configMentions(roots: readonly unknown[]): { keepPorts: boolean; keepRequestId: boolean } {
  let keepPorts = false;
  let keepRequestId = false;
  const seen = (s: string): boolean => {
    if (!keepPorts && SOURCE_PORT_TEXT.test(s)) keepPorts = true;
    if (!keepRequestId && REQUEST_ID_TEXT.test(s)) keepRequestId = true;
    return keepPorts && keepRequestId;
  };
  const onPath = new Set<object>();
  const stack: unknown[] = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push(roots[i]);
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === 'string') {
      if (seen(x)) break;
      continue;
    }
    if (x instanceof Leave) {
      onPath.delete(x.o);
      continue;
    }
    if (typeof x !== 'object' || x === null || onPath.has(x) || ArrayBuffer.isView(x)) continue;
    onPath.add(x);
    stack.push(new Leave(x));
    if (Array.isArray(x)) {
      for (let i = x.length - 1; i >= 0; i--) stack.push(x[i]);
    } else if (x instanceof Map) {
      for (const [k, v] of x as Map<unknown, unknown>) {
        if (typeof k === 'string' && ACCESS_LOG_KEY.test(k)) continue;
        stack.push(v, k);
      }
    } else if (x instanceof Set) {
      for (const v of x as Set<unknown>) stack.push(v);
    } else {
      const o = x as Record<string, unknown>;
      let done = false;
      for (const k of Object.keys(o)) {
        if (ACCESS_LOG_KEY.test(k)) continue;
        if ((done = seen(k))) break;
        stack.push(o[k]);
      }
      if (done) break;
    }
  }
  return { keepPorts, keepRequestId };
}

/**
 * A logged value as a memo key part: its length, `:`, then the value. No value can pose as a separator or as
 * another field, so two different requests never build the same key (an attacker's path `/a|b` beside authority
 * `c` must not share the decision of path `/a` with authority `b|c`), and no value needs scanning or escaping.
 */
function val(s: string): string {
  return s.length + ':' + s;
}

/**
 * Whether endpoint `a` is written `=` after `b` in a memo key: both present and equal as `ep` reads them (the
 * address, and the port when ports are kept) — by value, never by object identity, so which records share
 * endpoint objects (compact-record.ts shares equal ones up to a bound; a spill's batch keeps them shared)
 * changes no key, and so no decision a record is given.
 */
function sameEndpointPart(a: { address: string; port?: number } | undefined, b: { address: string; port?: number } | undefined, port: boolean): boolean {
  return a !== undefined && b !== undefined && (a === b || (a.address === b.address && (!port || a.port === b.port)));
}

function ep(e: { address: string; port?: number } | undefined, port: boolean): string {
  return e ? (port && e.port !== undefined ? val(e.address) + e.port : val(e.address)) : '';
}

function decisionKey(req: RequestAttrs, opts: DeciderOptions, keepPorts: boolean, keepRequestId: boolean): string {
  // Every variable part is a val() (digits first), a number, a list of val()s, or one of this tool's own words;
  // an endpoint the key reads as the one before it (a reader's source = remote = directRemote) is `=`.
  const src = req.source;
  const remote = req.remote;
  const direct = req.directRemote;
  let k = `${opts.kind}|${listKeyPart(opts.unknown)}|${ep(src, keepPorts)}|${sameEndpointPart(remote, src, keepPorts) ? '=' : ep(remote, keepPorts)}|${sameEndpointPart(direct, remote, keepPorts) ? '=' : ep(direct, keepPorts)}|${ep(req.destination, true)}|${val(req.sni ?? '')}|${val(req.transportProtocol ?? '')}|${req.alpn ? itemsKey(req.alpn) : ''}`;
  const t = req.tls;
  if (t) k += `|T${val(t.version ?? '')}${itemsKey(t.uriSans)}|${itemsKey(t.dnsSans)}|${val(t.subject)}${t.peerCertificateValidated}`;
  const h = req.http;
  if (h) {
    k += `|H${val(h.method ?? '')}${val(h.path ?? '')}${val(h.authority ?? '')}${val(h.scheme ?? '')}${val(h.protocol ?? '')}`;
    for (const name in h.headers) {
      if (!keepRequestId && name === 'x-request-id') continue;
      k += `|${val(name)}${itemsKey(h.headers[name]!)}`;
    }
  }
  if (req.metadata) k += `|M${val(JSON.stringify(req.metadata))}`;
  if (req.filterState) k += `|F${val(JSON.stringify(req.filterState))}`;
  return k;
}

/**
 * Which side wrote the record: the client sidecar's outbound listener (upstream cluster
 * `outbound|...`, `PassthroughCluster`, `BlackHoleCluster`) or the server's inbound one.
 */
export function recordDirection(rec: AccessRecord | undefined): 'inbound' | 'outbound' | 'unknown' {
  const c = rec?.upstreamCluster;
  if (!c) return 'unknown';
  // by the first letter, then the tests below that can hold for it (one or two prefix tests instead of up to five)
  const c0 = c.charCodeAt(0);
  if (c0 !== 111 /* o */ && c0 !== 105 /* i */ && c0 !== 80 /* P */ && c0 !== 66 /* B */ && c0 !== 73 /* I */) return 'unknown';
  if (c.startsWith('outbound|') || c === 'PassthroughCluster' || c === 'BlackHoleCluster' || c.startsWith('outbound_')) return 'outbound';
  if (c.startsWith('inbound|') || c.startsWith('InboundPassthroughCluster')) return 'inbound';
  return 'unknown';
}

/** The dump a record is replayed through, or the error for a record none of them is for (given, not thrown). */
function dumpPicker<D extends DumpLike>(dumps: D[]): (req: RequestAttrs, opts: DeciderOptions) => D | Error {
  const keyed = dumps.map((dump) => ({ ...proxyKeys(dump), dump }));
  const index = new ProxyIndex(keyed);
  const known = keyed.every((k) => k.ips.length > 0);
  const single = index.singleProxy;
  // the proxy a record names (ProxyIndex.named) depends on its node and file only: asked once per pair
  const namedBy = new Map<string, Map<string, typeof keyed>>();
  let namedCount = 0;
  const named = (node: string | undefined, file: string): typeof keyed => {
    const n = node || '';
    let byFile = namedBy.get(n);
    if (!byFile) {
      if (namedCount >= 4096) {
        namedBy.clear();
        namedCount = 0;
      }
      byFile = new Map();
      namedBy.set(n, byFile);
    }
    let hit = byFile.get(file);
    if (!hit) {
      hit = index.named({ node, ref: { file } });
      byFile.set(file, hit);
      namedCount++;
    }
    return hit;
  };
  let okChosen: (typeof keyed)[number] | undefined;
  let okDir = '';
  let okLocal: string | undefined;
  let okPeer: string | undefined;
  // the error thrown last for a record none of the dumps is for, and what its message names (a proxy without a
  // dump has thousands of such records in a row: one error object, its message built once, is thrown for them)
  let noneErr: Error | undefined;
  let noneNode: string | undefined;
  let noneDir = '';
  let noneAddress: string | undefined;
  return (req, opts) => {
    const rec = opts.record;
    const dir = recordDirection(rec);
    // the proxy's own address on the record: the source of an outbound record, else the destination
    const own = dir === 'outbound' ? req.source : req.destination;
    let chosen: (typeof keyed)[number] | undefined;
    if (single) chosen = inForceAt(keyed, rec?.timeMs);
    else {
      // index.forRecord, with the named proxy memoized
      const byName = named(rec?.node, rec?.ref?.file ?? '');
      chosen = inForceAt(byName.length ? byName : index.atIp(own?.address), rec?.timeMs);
    }
    if (!chosen) {
      // the message reads the node, the direction and own's address (own is present exactly when that address is)
      const node = rec?.node || undefined;
      const address = own?.address;
      if (noneErr !== undefined && node === noneNode && dir === noneDir && address === noneAddress) return noneErr;
      const why = `none of the ${dumps.length} config dumps is for this record's proxy (${node ? `node ${node}, ` : ''}${dir === 'outbound' ? `outbound, source ${address ?? 'unknown'}` : `destination ${address ?? 'unknown'}`})`;
      noneErr = known && own ? new NotFromProxyError(`not from these proxies: ${why}`) : new Error(why);
      noneNode = node;
      noneDir = dir;
      noneAddress = address;
      return noneErr;
    }
    // whether the record can be the proxy's depends on its addresses only (the ports name it in the message): the
    // last record found the proxy's is remembered
    const local = req.destination?.address;
    const peer = req.source?.address;
    if (chosen === okChosen && dir === okDir && local === okLocal && peer === okPeer) return chosen.dump;
    const not = notFromProxy(chosen, dir, req.destination, req.source);
    if (not) return new NotFromProxyError(not);
    okChosen = chosen;
    okDir = dir;
    okLocal = local;
    okPeer = peer;
    return chosen.dump;
  };
}
