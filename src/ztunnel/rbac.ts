/**
 * ztunnel's L4 authorization for one policy, as `src/rbac.rs` `Authorization::matches` decides it:
 * empty `rules` never match; a rule is an AND of clauses (a rule without clauses matches); a clause
 * is an OR of matches, empty matches are skipped (so a clause of only empty matches fails, while a
 * clause with no matches at all passes); a match is an AND over its fields, where a populated
 * positive list needs any entry to match and a populated negative list needs none to match.
 * Principals and namespaces come from the peer's SPIFFE identity (absent for plaintext: the
 * principal then never matches and the namespace is the empty string, as in ztunnel).
 * Pure: every leaf of the trace names the attribute, its value and what was expected.
 */
import type { TraceNode } from '../model/decision.js';
import { CidrRange, parseIp, type IpAddr } from '../rbac/cidr.js';
import type { ZtIpNet, ZtMatch, ZtPolicy, ZtServiceAccountMatch, ZtStringMatch } from './model.js';

/** A SPIFFE identity as ztunnel parses it (`spiffe://<trust domain>/ns/<namespace>/sa/<service account>`). */
export interface ZtIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

/** `rbac::Connection`: what ztunnel's RBAC reads. */
export interface ZtConnectionAttrs {
  src: { ip: string; port: number };
  dst: { ip: string; port: number };
  /** null: no peer identity (plaintext inbound). */
  srcIdentity: ZtIdentity | null;
}

/** `Identity::from_str`: exactly `spiffe://td/ns/<ns>/sa/<sa>`; anything else is not an identity. */
export function parseSpiffeIdentity(uri: string): ZtIdentity | null {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (!m) return null;
  return { trustDomain: m[1]!, namespace: m[2]!, serviceAccount: m[3]! };
}

export function identityString(id: ZtIdentity): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** `StringMatch::matches`. */
export function stringMatches(m: ZtStringMatch, check: string): boolean {
  switch (m.kind) {
    case 'exact':
      return m.value === check;
    case 'prefix':
      return check.startsWith(m.value);
    case 'suffix':
      return check.endsWith(m.value);
    case 'presence':
      return check.length > 0;
  }
}

/** `StringMatch::matches_principal`: the identity must carry `spiffe://`, which is stripped first. */
export function principalMatches(m: ZtStringMatch, id: string): boolean {
  if (!id.startsWith('spiffe://')) return false;
  return stringMatches(m, id.slice('spiffe://'.length));
}

/** `ServiceAccountMatch::matches`: namespace and service account of the identity (no identity: no match). */
export function serviceAccountMatches(m: ZtServiceAccountMatch, id: ZtIdentity | null): boolean {
  return id !== null && id.namespace === m.namespace && id.serviceAccount === m.serviceAccount;
}

/** `IpNet::contains` (families never mix). */
export function ipNetContains(n: ZtIpNet, ip: IpAddr | null): boolean {
  if (!ip) return false;
  return new CidrRange({ family: n.bytes.length === 4 ? 4 : 6, bytes: new Uint8Array(n.bytes) }, n.prefix).contains(ip);
}

export function describeStringMatch(m: ZtStringMatch): string {
  return m.kind === 'presence' ? 'present' : `${m.kind} ${JSON.stringify(m.value)}`;
}

/** `RbacMatch::is_empty`. */
export function isEmptyMatch(m: ZtMatch): boolean {
  return (
    m.namespaces.length + m.notNamespaces.length + m.serviceAccounts.length + m.notServiceAccounts.length + m.principals.length +
      m.notPrincipals.length + m.sourceIps.length + m.notSourceIps.length + m.destinationIps.length + m.notDestinationIps.length +
      m.destinationPorts.length + m.notDestinationPorts.length ===
    0
  );
}

interface Field<T> {
  /** Trace node name (the dump's field name). */
  node: string;
  attribute: string;
  actual: string | number | null;
  list: T[];
  describe: (x: T) => string;
  pred: (x: T) => boolean;
}

/** `matches_internal` for one positive or negative list, as a trace leaf. */
function leaf<T>(f: Field<T>, negative: boolean): TraceNode {
  const any = f.list.some(f.pred);
  const matched = negative ? !any : any;
  const expected = `${negative ? 'none of' : 'any of'} [${f.list.map(f.describe).join(', ')}]`;
  const shown = f.actual === null || f.actual === '' ? (f.attribute.startsWith('source.') && f.attribute !== 'source.ip' ? 'none (no peer identity)' : 'none') : JSON.stringify(f.actual);
  return {
    node: f.node,
    matched,
    attribute: f.attribute,
    actual: f.actual,
    expected,
    detail: `${f.attribute}: ${shown} — ${matched ? 'matches' : 'needs'} ${expected}`,
  };
}

function matchTrace(m: ZtMatch, conn: ZtConnectionAttrs): TraceNode {
  if (isEmptyMatch(m)) return { node: 'match', matched: false, detail: 'empty match: skipped (never matches)' };
  const srcIp = parseIp(conn.src.ip);
  const dstIp = parseIp(conn.dst.ip);
  const id = conn.srcIdentity;
  const idStr = id ? identityString(id) : '';
  const ns = id ? id.namespace : '';
  const sa = (x: ZtServiceAccountMatch): string => `${x.namespace}/${x.serviceAccount}`;
  const children: TraceNode[] = [];
  const add = <T>(pos: T[], neg: T[], base: Omit<Field<T>, 'list' | 'node'>, node: string, notNode: string): void => {
    if (pos.length) children.push(leaf({ ...base, list: pos, node }, false));
    if (neg.length) children.push(leaf({ ...base, list: neg, node: notNode }, true));
  };
  // Field order as in rbac.rs: destination ip, source ip, destination port, service accounts, principals, namespaces.
  add(m.destinationIps, m.notDestinationIps, { attribute: 'destination.ip', actual: conn.dst.ip, describe: (x: ZtIpNet) => x.text, pred: (x: ZtIpNet) => ipNetContains(x, dstIp) }, 'destinationIps', 'notDestinationIps');
  add(m.sourceIps, m.notSourceIps, { attribute: 'source.ip', actual: conn.src.ip, describe: (x: ZtIpNet) => x.text, pred: (x: ZtIpNet) => ipNetContains(x, srcIp) }, 'sourceIps', 'notSourceIps');
  add(m.destinationPorts, m.notDestinationPorts, { attribute: 'destination.port', actual: conn.dst.port, describe: (x: number) => String(x), pred: (x: number) => x === conn.dst.port }, 'destinationPorts', 'notDestinationPorts');
  add(m.serviceAccounts, m.notServiceAccounts, { attribute: 'source.serviceAccount', actual: id ? `${id.namespace}/${id.serviceAccount}` : null, describe: sa, pred: (x: ZtServiceAccountMatch) => serviceAccountMatches(x, id) }, 'serviceAccounts', 'notServiceAccounts');
  add(m.principals, m.notPrincipals, { attribute: 'source.principal', actual: id ? idStr : null, describe: describeStringMatch, pred: (x: ZtStringMatch) => principalMatches(x, idStr) }, 'principals', 'notPrincipals');
  add(m.namespaces, m.notNamespaces, { attribute: 'source.namespace', actual: id ? ns : null, describe: describeStringMatch, pred: (x: ZtStringMatch) => stringMatches(x, ns) }, 'namespaces', 'notNamespaces');
  const matched = children.every((c) => c.matched === true);
  return { node: 'match', matched, detail: matched ? 'match: every field matches' : `match: ${children.filter((c) => c.matched !== true).length} field(s) fail`, children };
}

function clauseTrace(clause: ZtMatch[], conn: ZtConnectionAttrs, index: number): TraceNode {
  if (clause.length === 0) return { node: 'clause', matched: true, detail: `clause ${index}: no matches (always matches)`, children: [] };
  const children = clause.map((m) => matchTrace(m, conn));
  const matched = children.some((c) => c.matched === true);
  return { node: 'clause', matched, detail: `clause ${index}: ${matched ? 'a match matches' : children.every((c) => !c.children) ? 'only empty matches (cannot match)' : 'no match matches'}`, children };
}

function ruleTrace(rule: ZtMatch[][], conn: ZtConnectionAttrs, index: number): TraceNode {
  // ztunnel short-circuits after the first failing clause; the trace evaluates every clause for the explanation (same result).
  const children = rule.map((cl, j) => clauseTrace(cl, conn, j));
  const matched = children.every((c) => c.matched === true);
  return { node: 'rule', matched, detail: `rule ${index}: ${rule.length === 0 ? 'no clauses (always matches)' : matched ? 'every clause matches' : 'a clause fails'}`, children };
}

/** The failing leaves that would have to change for this node to match (fewest first for ORs). */
function failingLeaves(n: TraceNode): TraceNode[] {
  if (n.matched === true) return [];
  if (!n.children || n.children.length === 0) return [n];
  if (n.node === 'clause') {
    // OR: the non-empty match with fewest failing leaves.
    const options = n.children.filter((c) => c.children).map(failingLeaves);
    if (options.length === 0) return [n];
    return options.reduce((a, b) => (b.length < a.length ? b : a));
  }
  if (n.node === 'policy') {
    const options = n.children.map(failingLeaves);
    return options.reduce((a, b) => (b.length < a.length ? b : a));
  }
  return n.children.flatMap(failingLeaves);
}

export interface ZtPolicyEvaluation {
  matched: boolean;
  trace: TraceNode;
  failing: TraceNode[];
}

/** `Authorization::matches`, with its trace. */
export function evaluatePolicy(p: ZtPolicy, conn: ZtConnectionAttrs): ZtPolicyEvaluation {
  const key = `${p.namespace}/${p.name}`;
  if (p.rules.length === 0) {
    const trace: TraceNode = { node: 'policy', matched: false, detail: `${key}: no rules (matches nothing)`, children: [] };
    return { matched: false, trace: { ...trace }, failing: [{ node: 'rules', matched: false, detail: `${key} has no rules: it matches nothing`, attribute: 'rules', actual: 0, expected: 'at least one rule' }] };
  }
  const children = p.rules.map((r, i) => ruleTrace(r, conn, i));
  const matched = children.some((c) => c.matched === true);
  const trace: TraceNode = { node: 'policy', matched, detail: `${key}: ${matched ? 'a rule matches' : 'no rule matches'}`, children };
  return { matched, trace, failing: matched ? [] : failingLeaves(trace) };
}
