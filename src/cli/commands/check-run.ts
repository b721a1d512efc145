/**
 * `meshsleuth check <config> --request <json|@file>`: the RBAC decision for one request (or one per
 * NDJSON line), over a full config dump or a bare RBAC filter config. A thin shell: parsing and
 * output selection only; the engines decide.
 */
import { stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { runCommand, UsageError, warn, writeOut } from '../common.js';
import { startProgress } from '../progress.js';
import { InputError, formatLocation } from '../../model/errors.js';
import type { Decision } from '../../model/decision.js';
import type { RequestAttrs } from '../../model/attrs.js';
import { parseRequestAttrs, parseRbacFilter, explainText, RbacConfigError, type RbacFilter } from '../../rbac/index.js';
import { decideRequest, decideWithFilter } from '../../envoy/decide.js';
import { parseStructured, readStructuredFile } from '../../readers/structured.js';
import { sniffBinary } from '../../readers/sniff.js';
import { readWholeFile } from '../../readers/files.js';
import { isConfigDump, dumpsFromDocuments, loadConfigDumps, parseConfigDump } from '../../readers/configdump/index.js';
import { policiesToConfigDump, type PolicyInputFlags } from '../policy-input.js';
import type { ConfigDump } from '../../envoy/model.js';
import { toJson, toYaml } from '../../report/serialize.js';
import { isSecretHeader, redactValue } from '../../model/redact.js';
import type { TraceNode } from '../../model/decision.js';
import { isZtunnelConfigDump, isZtunnelPolicyArray, parseZtunnelConfig } from '../../readers/configdump/ztunnel.js';
import { decideZtunnel } from '../../ztunnel/state.js';
import type { ZtunnelConfig } from '../../ztunnel/model.js';
import { peerIdentity, trustDomainOf, type PeerIdentity, type TrustDomain } from '../../istio/trust-domain.js';

export interface CheckArgs extends PolicyInputFlags {
  config?: string;
  request?: string;
  from?: string;
  plaintext?: boolean;
  'source-ip'?: string;
  'dest-ip'?: string;
  port?: number;
  method?: string;
  path?: string;
  host?: string;
  header?: string[];
  sni?: string;
  listener?: string;
  kind?: string;
  output: string;
  'show-secrets'?: boolean;
  trace?: boolean;
}

/** What `check` decides against, with the trust domain `--from ns/sa` expands in. */
type Target = ({ type: 'filter'; filter: RbacFilter } | { type: 'dump'; dump: ConfigDump } | { type: 'ztunnel'; config: ZtunnelConfig }) & { trustDomain: TrustDomain; file: string };

async function loadTarget(file: string, kind: 'http' | 'network'): Promise<Target> {
  if (file !== '-' && (await stat(file)).isDirectory()) {
    // A directory (DESIGN: files may be given as directories) stands for the one dump it holds.
    const { dumps, diagnostics } = await loadConfigDumps([file]);
    for (const d of diagnostics) warn(d.message || formatLocation(d.location));
    if (dumps.length !== 1) throw new InputError({ file }, 'a directory holding one proxy config dump', dumps.length === 0 ? 'none' : `${dumps.length} dumps (${dumps.slice(0, 4).map((d) => d.source).join(', ')}${dumps.length > 4 ? ', …' : ''}); name one`);
    return { type: 'dump', dump: dumps[0]!, trustDomain: trustDomainOf(dumps[0]!, null), file };
  }
  const docs = file === '-' ? parseStructured(await readWholeFile('-'), 'stdin') : await readStructuredFile(file);
  // ztunnel (ambient) config dump: `istioctl ztunnel-config all -o json` / ztunnel's /config_dump.
  if (docs.length === 1 && (isZtunnelConfigDump(docs[0]) || isZtunnelPolicyArray(docs[0]))) return { type: 'ztunnel', config: parseZtunnelConfig(docs[0], file), trustDomain: trustDomainOf(null, docs[0]), file };
  if (docs.length === 1 && isConfigDump(docs[0])) {
    const dumps = dumpsFromDocuments(docs, file);
    if (dumps.length !== 1) throw new InputError({ file }, 'one proxy config dump', `${dumps.length} dumps (a bundle); pass one proxy's dump`);
    return { type: 'dump', dump: dumps[0]!, trustDomain: trustDomainOf(dumps[0]!, docs[0]), file };
  }
  if (docs.length !== 1) throw new InputError({ file }, 'one YAML/JSON document (an RBAC filter config or a config dump)', `${docs.length} documents`);
  try {
    return { type: 'filter', filter: parseRbacFilter(docs[0], { kind }), trustDomain: trustDomainOf(null, docs[0]), file };
  } catch (e) {
    if (e instanceof RbacConfigError) {
      const err = new RbacConfigError(e.location.path ?? '$', e.reason, { file });
      throw err;
    }
    throw e;
  }
}

/** Flags that cannot be given together (exit 2): a plaintext connection has no peer certificate and no SNI. */
function checkConflicts(a: CheckArgs): void {
  if (a.plaintext) {
    for (const f of ['from', 'sni'] as const) if (a[f] !== undefined) throw new UsageError(`--plaintext and --${f} contradict each other (a plaintext connection has no ${f === 'from' ? 'peer certificate' : 'SNI'}); give one`);
  }
  for (const f of ['source-ip', 'dest-ip'] as const) {
    const v = a[f];
    if (v !== undefined && isIP(v.replace(/^\[(.*)\]$/, '$1')) === 0) throw new UsageError(`--${f}: expected an IPv4 or IPv6 address, found '${v}'`);
  }
}

/** `--listener` must name a listener of the dump (a typo would otherwise read as "no listener takes this connection"). */
function checkListener(target: Target, listener: string | undefined): void {
  if (listener === undefined) return;
  if (target.type !== 'dump') throw new UsageError(`--listener applies to a full config dump; ${target.file} is a bare RBAC filter config`);
  const names = [...new Set(target.dump.listeners.flatMap((l) => [l.name, l.displayName].filter((n): n is string => !!n)))];
  if (!names.includes(listener)) throw new UsageError(`--listener ${listener}: no such listener in ${target.file} (listeners: ${names.slice(0, 12).join(', ')}${names.length > 12 ? `, … ${names.length - 12} more` : ''})`);
}

/** The convenience flags, applied over the request JSON (flags win). */
function applyFlags(base: RequestAttrs, a: CheckArgs, peer: PeerIdentity | null, defaultDest: string | null, notes: string[]): RequestAttrs {
  const r: RequestAttrs = structuredClone(base);
  if (peer) {
    r.tls = { uriSans: [peer.id], dnsSans: [], subject: '', peerCertificateValidated: true };
    if (peer.note) notes.push(`--from: ${peer.note}`);
  }
  if (a.plaintext) delete r.tls;
  if (a['source-ip'] !== undefined) r.source = { ...(r.source ?? {}), address: a['source-ip'] };
  if (a['dest-ip'] !== undefined) r.destination = { ...(r.destination ?? {}), address: a['dest-ip'] };
  if (a.port !== undefined) {
    if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new UsageError(`--port: expected a port number 0-65535, found ${a.port}`);
    r.destination = { address: r.destination?.address ?? defaultDest ?? '0.0.0.0', port: a.port };
    if (!base.destination?.address && a['dest-ip'] === undefined) notes.push(`destination address not given: assumed ${r.destination.address}`);
  }
  if (a.sni !== undefined) r.sni = a.sni;
  const httpFlags = a.method !== undefined || a.path !== undefined || a.host !== undefined || (a.header?.length ?? 0) > 0;
  if (httpFlags) {
    r.http ??= { headers: {} };
    if (a.method !== undefined) r.http.method = a.method;
    if (a.path !== undefined) r.http.path = a.path;
    if (a.host !== undefined) r.http.authority = a.host;
    for (const h of a.header ?? []) {
      const i = h.indexOf(':', h.startsWith(':') ? 1 : 0);
      if (i <= 0) throw new UsageError(`-H ${JSON.stringify(h)}: expected name:value`);
      const name = h.slice(0, i).trim().toLowerCase();
      const value = h.slice(i + 1).replace(/^ /, '');
      if (name === ':method') r.http.method = value;
      else if (name === ':path') r.http.path = value;
      else if (name === ':authority' || name === 'host') r.http.authority = value;
      else (r.http.headers[name] ??= []).push(value);
    }
  }
  return r;
}

/** Reads --request: inline JSON, @file or @- (stdin). Returns one entry per request with its location. */
async function readRequests(spec: string | undefined): Promise<{ value: unknown; file?: string; line?: number }[]> {
  if (spec === undefined) return [{ value: {} }];
  let text: string;
  let file: string | undefined;
  if (spec.startsWith('@')) {
    file = spec.slice(1) === '-' ? 'stdin' : spec.slice(1);
    if (spec !== '@-' && (await stat(file)).isDirectory()) throw new InputError({ file }, 'a file of request JSON (one object, a list, or NDJSON)', 'a directory');
    const buf = await readWholeFile(spec === '@-' ? '-' : file);
    const bin = sniffBinary(buf);
    if (bin) throw new InputError({ file, offset: 0 }, 'request JSON (one object, a list, or NDJSON)', bin);
    text = buf.toString('utf8');
  } else text = spec;
  const trimmed = text.trim();
  if (trimmed === '') throw new InputError({ file: file ?? '--request' }, 'a request JSON object', 'nothing');
  // One JSON document (possibly multi-line), or NDJSON (one object per line).
  let whole: { v: unknown } | null = null;
  try {
    whole = { v: JSON.parse(trimmed) as unknown };
  } catch {
    /* not a single document: try NDJSON */
  }
  if (whole) {
    const v = whole.v;
    // A JSON array of requests is a batch too.
    if (Array.isArray(v)) {
      if (v.length === 0) throw new InputError({ file: file ?? '--request', path: '$' }, 'at least one request', 'an empty list');
      return v.map((value, i) => ({ value, file: `${file ?? '--request'}[${i}]` }));
    }
    return [{ value: v, file }];
  }
  const out: { value: unknown; file?: string; line?: number }[] = [];
  const lines = text.split('\n');
  lines.forEach((l, i) => {
    if (l.trim() === '') return;
    try {
      out.push({ value: JSON.parse(l), file, line: i + 1 });
    } catch (e) {
      out.push({ value: new InputError({ file: file ?? '--request', line: i + 1 }, 'a JSON request object', `invalid JSON (${(e as Error).message})`), file, line: i + 1 });
    }
  });
  if (out.length === 1 && out[0]!.value instanceof InputError) throw out[0]!.value;
  return out;
}

function decide(target: Target, req: RequestAttrs, a: CheckArgs): Decision {
  const trace = a.trace !== false;
  if (target.type === 'filter') return decideWithFilter(target.filter, req, { trace });
  if (target.type === 'ztunnel') return decideZtunnel(target.config, req, { trace });
  return decideRequest(target.dump, req, { listener: a.listener, trace });
}

/** `<config>`, or `--policies … --workload …` compiled into the sidecar's synthetic dump (what-if without a cluster). */
async function resolveTarget(a: CheckArgs): Promise<Target> {
  if (a.policies?.length) {
    if (a.config !== undefined) throw new UsageError('give either <config> or --policies, not both');
    const compiled = await policiesToConfigDump(a);
    for (const d of compiled.diagnostics) warn(d.message);
    const dump = parseConfigDump(compiled.configDump, compiled.source);
    return { type: 'dump', dump, trustDomain: trustDomainOf(dump, compiled.configDump), file: compiled.source };
  }
  if (a.config === undefined) throw new UsageError('name a config dump or RBAC filter config, or pass --policies <files> --workload <ns>/<name>');
  return loadTarget(a.config, a.kind === 'network' ? 'network' : 'http');
}

/** Secret header values in traces are redacted (the decision itself is unchanged). */
function redactDecision(d: Decision): Decision {
  const fix = (n: TraceNode): TraceNode => {
    const out: TraceNode = { ...n };
    if (n.node === 'header' && n.attribute && isSecretHeader(n.attribute) && typeof n.actual === 'string') {
      out.actual = redactValue(n.attribute, n.actual);
      out.detail = n.detail.split(JSON.stringify(n.actual)).join(JSON.stringify(out.actual));
    }
    if (n.children) out.children = n.children.map(fix);
    return out;
  };
  const fixPolicies = (f: Decision['filters'][number]): Decision['filters'][number] => ({
    ...f,
    policies: f.policies.map((p) => ({ ...p, trace: fix(p.trace), ...(p.failing ? { failing: p.failing.map(fix) } : {}) })),
    ...(f.shadowDecision ? { shadowDecision: fixPolicies(f.shadowDecision) } : {}),
  });
  return {
    ...d,
    filters: d.filters.map(fixPolicies),
    ...(d.closestMiss
      ? {
          closestMiss: d.closestMiss.map((m) => {
            const failing = m.failing.map(fix);
            let summary = m.summary;
            m.failing.forEach((f, i) => (summary = summary.split(f.detail).join(failing[i]!.detail)));
            return { ...m, failing, summary };
          }),
        }
      : {}),
  };
}

function render(d: Decision, a: CheckArgs): string {
  const shown = a['show-secrets'] ? d : redactDecision(d);
  switch (a.output) {
    case 'json':
      return toJson(shown);
    case 'ndjson':
      return JSON.stringify(shown) + '\n';
    case 'yaml':
      return toYaml(shown);
    default:
      return explainText(shown) + '\n';
  }
}

/** `check`'s handler (its builder is in check.ts, loaded without this module's imports for --help). */
export function runCheck(a: CheckArgs): Promise<void> {
  return runCommand(async () => {
      checkConflicts(a);
      if (a.config === '-' && a.request === '@-') throw new UsageError('standard input can hold the config or the requests, not both (<config> is -, --request is @-)');
      const target = await resolveTarget(a);
      checkListener(target, a.listener);
      const defaultDest = target.type === 'dump' ? (target.dump.node?.ip ?? null) : null;
      const peer = a.from !== undefined ? peerIdentity(a.from, target.trustDomain) : null;
      if (peer?.warning) warn(peer.warning);
      if (peer && target.trustDomain.assumed && peer.id.startsWith(`spiffe://${target.trustDomain.trustDomain}/`) && !a.from!.includes('://')) warn(`--from: trust domain ${target.trustDomain.trustDomain} assumed (${target.trustDomain.from})`);
      const entries = await readRequests(a.request);
      let skipped = 0;
      let out = '';
      // a file of many requests (NDJSON, a list) is decided one by one: progress on a terminal
      const prog = startProgress({ label: 'check', totalRecords: entries.length > 1 ? entries.length : null, unit: 'requests' });
      let done = 0;
      for (const e of entries) {
        if (entries.length > 1) prog.update({ records: done++ });
        try {
          if (e.value instanceof InputError) throw e.value;
          const notes: string[] = [];
          const loc = { file: e.file ?? (a.request?.startsWith('@') ? undefined : '--request'), line: e.line };
          const req = applyFlags(parseRequestAttrs(e.value, loc, { destinationAddress: defaultDest ?? undefined, notes }), a, peer, defaultDest, notes);
          // A dump's listener and filter chain are chosen by the destination port: without one there is no question to answer.
          if (target.type === 'dump' && req.destination?.port === undefined && a.listener === undefined) {
            if (entries.length === 1) throw new UsageError(`${a.config ?? target.file} is a config dump: name the destination port that selects the listener and filter chain (--port, or destination.port in --request)`);
            throw new InputError({ ...loc, file: loc.file ?? a.request ?? '--request', path: '$.destination.port' }, 'a destination port to choose the listener and filter chain (--port, or destination.port in --request)', 'none');
          }
          const d = decide(target, req, a);
          if (notes.length) d.reasons = [...(d.reasons ?? []), ...notes];
          const text = render(d, a);
          out += entries.length > 1 && (a.output === 'text' || a.output === 'table') ? `${e.line !== undefined ? `line ${e.line}: ` : ''}${text}` : text;
        } catch (err) {
          if (entries.length > 1 && err instanceof InputError) {
            prog.clear();
            warn(err.message);
            skipped++;
            continue;
          }
          prog.done();
          throw err;
        }
      }
      prog.done();
      await writeOut(out);
      if (skipped > 0) {
        warn(`${skipped} of ${entries.length} requests skipped (malformed)`);
        return 2;
      }
      return 0;
    });
}
