/**
 * Composition: the decision for one request/connection over a whole proxy config — listener and
 * filter-chain selection, then the chain's network RBAC filters in order, then inside the HTTP
 * connection manager the HTTP filters in order with per-route RBACPerRoute overrides after route
 * matching. The first deny wins. ext_authz (Istio CUSTOM) cannot be decided offline: when the request
 * would reach it we say so and the decision is UNDECIDABLE (unless something before it denies).
 */
import type { Decision, FilterDecision, TraceNode } from '../model/decision.js';
import type { JsonValue, RequestAttrs } from '../model/attrs.js';
import {
  closestMiss,
  connectionTerminationDetails,
  evaluateRbacFilter,
  parseRbacFilter,
  parseRbacPerRoute,
  responseCodeDetails,
  type RbacFilter,
  type RbacPerRoute,
} from '../rbac/index.js';
import { buildContext } from '../rbac/context.js';
import { MetadataMatcher } from '../rbac/metadata-matcher.js';
import type { ConfigDump, FilterChain, HttpFilter, ProtoObject, Route, RouteConfiguration, VirtualHost } from './model.js';
import { selectFilterChain } from './select.js';
import { matchRoute } from './routes.js';
import { assumedIstioClientAlpn, customProviderOf, istioHttpFilterEffect, istioNetworkFilterEffect } from '../istio/sidecar-filters.js';
import { classifyHttpFilter, classifyNetworkFilter, isHttpExtAuthz, isHttpRbac, isNetworkExtAuthz, isNetworkRbac } from './filters.js';
import { canonicalPath, hcmPathSettings, mergeSlashes, normalizeRequestPath, stripsDotSegmentParameters, unescapeSlashes } from './hcm/path.js';
import { hcmRemoteAddressSettings, remoteFromXff } from './hcm/xff.js';
import { hcmHostSettings, normalizeHost } from './hcm/host.js';
import { istioPathNormalization } from '../istio/path-normalization.js';
import { assumeIstioPeerCertificate } from '../istio/peer-certificate.js';
import { HBONE_PORT } from '../istio/ports.js';
import { enterConnectTunnel, findConnectTunnel, type TunnelEntry } from './connect-tunnel.js';

/** One step of a chain, in order: an RBAC filter (with its per-route override), or an ext_authz filter. */
export type ChainStep =
  | { type: 'rbac'; filter: RbacFilter; perRoute?: RbacPerRoute | null }
  | { type: 'ext_authz'; kind: 'http' | 'network'; name: string; config: Record<string, unknown>; disabledOnRoute?: boolean; path?: string }
  /** A filter whose config is not in the evidence (e.g. an RBAC filter delivered by ECDS): undecidable. */
  | { type: 'unknown'; kind: 'http' | 'network'; name: string; reason: string };

/**
 * Parsed filters by the config object they came from: a dump's configs are immutable once loaded, so
 * deciding many requests over one dump parses (and compiles the regexes of) each filter once.
 */
const parsedFilters = new WeakMap<object, RbacFilter>();
const parsedPerRoute = new WeakMap<object, RbacPerRoute>();

function cachedRbacFilter(config: ProtoObject, opts: { kind: 'http' | 'network'; name: string; path: string }): RbacFilter {
  let f = parsedFilters.get(config);
  if (!f) parsedFilters.set(config, (f = parseRbacFilter(config, opts)));
  return f;
}

function cachedPerRoute(config: ProtoObject, opts: { name: string; path: string }): RbacPerRoute {
  let f = parsedPerRoute.get(config);
  if (!f) parsedPerRoute.set(config, (f = parseRbacPerRoute(config, opts)));
  return f;
}

export interface ComposeOptions {
  trace?: boolean;
  unknown?: Iterable<string>;
  routeMetadata?: Record<string, JsonValue> | null;
}

function extAuthzTarget(cfg: Record<string, unknown>): string {
  const g = cfg.grpc_service as Record<string, unknown> | undefined;
  const eg = g?.envoy_grpc as Record<string, unknown> | undefined;
  const gg = g?.google_grpc as Record<string, unknown> | undefined;
  const h = cfg.http_service as Record<string, unknown> | undefined;
  const su = h?.server_uri as Record<string, unknown> | undefined;
  return String(eg?.cluster_name ?? gg?.target_uri ?? su?.cluster ?? su?.uri ?? 'an ext_authz service');
}


/**
 * Runs a sequence of RBAC / ext_authz steps (network ones first, then HTTP) and composes the
 * decision: first deny wins; shadow-only filters never deny; dynamic metadata written by earlier
 * filters is visible to later ones (ext_authz `filter_enabled_metadata`).
 */
export function composeDecision(steps: ChainStep[], req: RequestAttrs, opts: ComposeOptions = {}): Decision {
  const filters: FilterDecision[] = [];
  const reasons: string[] = [];
  // Dynamic metadata accumulates as filters run (shadow results, enforced results).
  const dyn: Record<string, Record<string, JsonValue>> = {};
  for (const [ns, v] of Object.entries(req.metadata ?? {})) if (v && typeof v === 'object' && !Array.isArray(v)) dyn[ns] = { ...(v as Record<string, JsonValue>) };
  let pendingUndecidable: { filter: FilterDecision; reason: string } | null = null;
  const contexts: Partial<Record<'http' | 'network', ReturnType<typeof buildContext>>> = {};
  let allowPolicy: string | null = null;

  const finish = (d: Omit<Decision, 'filters'>): Decision => {
    const { closestMiss: cm, reasons: rs, ...head } = d;
    const out: Decision = { ...head, filters };
    if (cm) out.closestMiss = cm;
    const all = [...(rs ?? []), ...reasons];
    if (all.length) out.reasons = all;
    return out;
  };

  for (const step of steps) {
    if (step.type === 'unknown') {
      const fd: FilterDecision = { name: step.name, kind: step.kind, action: 'ALLOW', shadow: false, result: 'UNDECIDABLE', effectivePolicy: null, policies: [], enforcing: true, note: step.reason };
      filters.push(fd);
      if (!pendingUndecidable) pendingUndecidable = { filter: fd, reason: `${step.name}: ${step.reason}` };
      continue;
    }
    if (step.type === 'ext_authz') {
      const fem = step.config.filter_enabled_metadata;
      let enabled = !step.disabledOnRoute;
      if (enabled && fem) {
        const mm = MetadataMatcher.parse(fem, `${step.path ?? '$'}.filter_enabled_metadata`);
        enabled = mm.matchValue(mm.lookup(dyn as Record<string, JsonValue>)) === 1;
      }
      const target = extAuthzTarget(step.config);
      const rbacNs = step.kind === 'http' ? 'envoy.filters.http.rbac' : 'envoy.filters.network.rbac';
      const shadowId = Object.entries(dyn[rbacNs] ?? {}).find(([k]) => k.endsWith('shadow_effective_policy_id') && k.includes('ext_authz'))?.[1];
      const provider = customProviderOf(typeof shadowId === 'string' ? shadowId : undefined) ?? target;
      const fd: FilterDecision = {
        name: step.name,
        kind: step.kind,
        action: 'DENY',
        shadow: false,
        result: enabled ? 'UNDECIDABLE' : 'ALLOW',
        effectivePolicy: enabled && typeof shadowId === 'string' ? shadowId : null,
        policies: [],
        enforcing: enabled,
        custom: { provider, wouldBeSent: enabled },
        note: enabled
          ? `would be sent to ext_authz provider ${provider}${provider === target ? '' : ` (${target})`}; its answer cannot be known offline`
          : step.disabledOnRoute
            ? 'ext_authz disabled on this route'
            : `ext_authz not enabled for this request (filter_enabled_metadata did not match): not sent to ${provider}`,
      };
      filters.push(fd);
      if (enabled && !pendingUndecidable) pendingUndecidable = { filter: fd, reason: fd.note! };
      continue;
    }
    const f = step.filter;
    // One context per filter kind: `dyn` is updated in place, so later filters see earlier filters' metadata.
    const ctx = (contexts[f.kind] ??= buildContext({ ...req, metadata: dyn as Record<string, JsonValue> }, { kind: f.kind, unknown: opts.unknown, routeMetadata: opts.routeMetadata }));
    const fd = evaluateRbacFilter(f, req, { trace: opts.trace, context: ctx, perRoute: step.perRoute });
    filters.push(fd);
    for (const [ns, kv] of Object.entries(fd.dynamicMetadata ?? {})) Object.assign((dyn[ns] ??= {}), kv);
    if (fd.enforcing === false || fd.shadow) continue;
    if (fd.result === 'DENY') {
      const id = fd.effectivePolicy;
      const isTree = fd.policies[0]?.trace.node === 'matcher';
      const misses = fd.action === 'ALLOW' && !id && !isTree ? closestMiss(fd) : undefined;
      if (pendingUndecidable) reasons.push(`an earlier filter could not be decided (${pendingUndecidable.reason}); Envoy may have denied there instead`);
      return finish({
        decision: 'DENY',
        policy: id,
        responseCodeDetails: f.kind === 'http' ? responseCodeDetails(id) : null,
        ...(f.kind === 'network' ? { connectionTerminationDetails: connectionTerminationDetails(id) } : {}),
        ...(misses && misses.length ? { closestMiss: misses } : {}),
      });
    }
    if (fd.result === 'UNDECIDABLE') {
      if (!pendingUndecidable) pendingUndecidable = { filter: fd, reason: `${fd.name}: ${fd.note ?? fd.policies.find((p) => p.undecidableReason)?.undecidableReason ?? 'undecidable'}` };
      continue;
    }
    if (fd.action === 'ALLOW' && fd.effectivePolicy) allowPolicy = fd.effectivePolicy;
  }
  if (pendingUndecidable) {
    return finish({ decision: 'UNDECIDABLE', policy: pendingUndecidable.filter.effectivePolicy, responseCodeDetails: null, reasons: [pendingUndecidable.reason] });
  }
  return finish({ decision: 'ALLOW', policy: allowPolicy, responseCodeDetails: null });
}

function readsRouteMetadata(n: TraceNode): boolean {
  if (n.matched === 'undecidable' && n.attribute?.startsWith('route metadata')) return true;
  return (n.children ?? []).some(readsRouteMetadata);
}

/** Decision for a bare RBAC filter config (what `check` does when <config> is not a full dump). */
export function decideWithFilter(filter: RbacFilter, req: RequestAttrs, opts: ComposeOptions = {}): Decision {
  // No route table here: the matched route's metadata (sourced_metadata ROUTE) comes with the request, else it is unknown.
  const routeKnown = opts.routeMetadata !== undefined || req.routeMetadata !== undefined;
  const routeMetadata = opts.routeMetadata !== undefined ? opts.routeMetadata : (req.routeMetadata ?? null);
  const unknown = routeKnown || filter.kind !== 'http' ? opts.unknown : [...(opts.unknown ?? []), 'routeMetadata'];
  const d = composeDecision([{ type: 'rbac', filter }], req, { ...opts, routeMetadata, unknown });
  if (!routeKnown && d.filters.some((f) => f.policies.some((p) => p.matched === 'undecidable' && readsRouteMetadata(p.trace)))) {
    d.reasons = [...(d.reasons ?? []), 'sourced_metadata ROUTE reads the matched route\'s metadata: a bare RBAC filter config has no route table, so give it as routeMetadata in the request (null = no route matched), or give a full config dump'];
  }
  if (filter.kind === 'http' && !req.http) d.reasons = [...(d.reasons ?? []), 'the request has no http part: headers and paths are absent'];
  const p = filter.kind === 'http' ? req.http?.path : undefined;
  if (p !== undefined && (canonicalPath(p) !== p || mergeSlashes(p) !== p || unescapeSlashes(p) !== null)) {
    d.reasons = [...(d.reasons ?? []), `:path ${JSON.stringify(p)} was evaluated as given: a bare RBAC filter config has no HTTP connection manager, whose normalize_path / merge_slashes / path_with_escaped_slashes_action may rewrite it before RBAC (give a full config dump to apply them)`];
  }
  return d;
}


// ---------------------------------------------------------------------------------------------
// Full config dump

export interface DecideOptions {
  /** Use this listener (name or display name) instead of choosing one from the destination. */
  listener?: string;
  trace?: boolean;
  unknown?: Iterable<string>;
}

/** typed_per_filter_config value for `name`: most specific of route, virtual host, route configuration. */
function perFilterConfig(name: string, rc: RouteConfiguration | null, vh: VirtualHost | null, route: Route | null): { cfg: ProtoObject; where: string } | null {
  for (const [o, where] of [[route, route?.jsonPath], [vh, vh?.jsonPath], [rc, rc?.jsonPath]] as const) {
    const c = o?.typedPerFilterConfig?.[name];
    if (c) return { cfg: c, where: `${where ?? '$'}.typed_per_filter_config[${JSON.stringify(name)}]` };
  }
  return null;
}

/** envoy.config.route.v3.FilterConfig wrapper: `{config, disabled, is_optional}`. */
function unwrapFilterConfig(c: ProtoObject): { config: ProtoObject | null; disabled: boolean | null } {
  if (String(c['@type'] ?? '').endsWith('envoy.config.route.v3.FilterConfig')) {
    const inner = c.config && typeof c.config === 'object' ? (c.config as ProtoObject) : null;
    return { config: inner, disabled: c.disabled === true ? true : c.disabled === false ? false : null };
  }
  return { config: c, disabled: null };
}

/**
 * Default ALPN when the request does not say: a plaintext HTTP request is what http_inspector reports
 * (`http/1.1`, or `h2c` for HTTP/2); for TLS we cannot know what the client offered, so we assume an Istio
 * sidecar client (its `istio.alpn` filter) and say so.
 */
function defaultAlpn(req: RequestAttrs): { alpn: string[]; note: string | null } | null {
  if (req.alpn && req.alpn.length) return null;
  const h2 = /^(HTTP\/2|h2|h2c)$/i.test(req.http?.protocol ?? '');
  if (!req.tls) return req.http ? { alpn: [h2 ? 'h2c' : 'http/1.1'], note: null } : null;
  return assumedIstioClientAlpn(req.http !== undefined, h2);
}

/**
 * Decides one request/connection over a proxy's config dump: listener + filter chain from the
 * destination and TLS facts, network RBAC filters in order, then (for HTTP) route matching and the HCM's
 * HTTP filters in order with RBACPerRoute overrides. A plaintext connection to a STRICT port matches no
 * chain: `filter_chain_not_found`, not an RBAC result.
 */
export function decideRequest(dump: ConfigDump, req0: RequestAttrs, opts: DecideOptions = {}): Decision {
  const reasons: string[] = [];
  let req = req0;
  if (req.routeMetadata !== undefined) reasons.push('routeMetadata in the request is ignored: with a full config dump the matched route supplies it');
  if (opts.unknown && (dump.node?.istioVersion || dump.node?.proxyType)) {
    const assumed = assumeIstioPeerCertificate(req, [...opts.unknown]);
    if (assumed) {
      req = assumed.req;
      opts = { ...opts, unknown: assumed.unknown };
      reasons.push(assumed.note);
    }
  }
  const beforeAlpn = req;
  const reasonsBeforeAlpn = reasons.length;
  const da = defaultAlpn(req);
  if (da) {
    req = { ...req, alpn: da.alpn };
    if (da.note) reasons.push(da.note);
  }
  const sel = selectFilterChain(dump, req, { listener: opts.listener });
  if (sel.reason === 'no_listener' && opts.listener === undefined && req.destination?.port !== undefined && req.destination.port !== HBONE_PORT) {
    const entry = findConnectTunnel(dump, HBONE_PORT);
    if (entry) return decideInTunnel(dump, entry, beforeAlpn, reasons.slice(0, reasonsBeforeAlpn), opts);
  }
  const listener = sel.listener ? sel.listener.displayName || sel.listener.name : null;
  const chainName = sel.chain ? sel.chain.name || (sel.chain.isDefault ? '(default)' : `#${sel.chain.index}`) : null;
  const base = { listener, filterChain: chainName };
  const traceNote = sel.trace.length ? [`chain selection: ${sel.trace.join('; ')}`] : [];
  if (sel.reason === 'filter_chain_not_found') {
    return { decision: 'DENY', policy: null, responseCodeDetails: 'filter_chain_not_found', connectionTerminationDetails: null, ...base, filters: [], reasons: [...reasons, `no filter chain of listener ${listener} matches this connection: Envoy closes it (response flag NR) before any RBAC filter runs${req.tls ? '' : ' — a plaintext connection to a port that only accepts mTLS (STRICT)'}`, ...traceNote] };
  }
  if (sel.reason === 'no_listener' || sel.reason === 'undecidable' || !sel.chain) {
    return { decision: 'UNDECIDABLE', policy: null, responseCodeDetails: null, ...base, filters: [], reasons: [...reasons, sel.reason === 'no_listener' ? 'no listener takes this connection' : 'the filter chain cannot be chosen offline', ...traceNote] };
  }
  if (sel.transportMismatch === 'tls-handshake-fails') {
    return { decision: 'DENY', policy: null, responseCodeDetails: null, ...base, filters: [], reasons: [...reasons, `chain ${chainName} terminates TLS but the client speaks plaintext: the TLS handshake fails before any RBAC filter runs`, ...traceNote] };
  }
  const chain: FilterChain = sel.chain;
  const steps: ChainStep[] = [];
  let routeMetadata: Record<string, JsonValue> | null = null;
  /** Why the matched route (and so its metadata, for sourced_metadata ROUTE) is not known. */
  const routeUnknown: string[] = [];
  // Network filters in order; the HCM's HTTP filters run after all network filters let the data through.
  let hcmIndex = -1;
  chain.filters.forEach((nf, i) => {
    if (nf.hcm && hcmIndex === -1) hcmIndex = i;
  });
  for (const nf of chain.filters) {
    if (nf.hcm) break;
    if (isNetworkRbac(nf) && nf.configSource === 'config_discovery' && Object.keys(nf.config).length === 0) steps.push({ type: 'unknown', kind: 'network', name: nf.name, reason: 'RBAC config comes from ECDS and is not in the dump' });
    else if (isNetworkRbac(nf)) steps.push({ type: 'rbac', filter: cachedRbacFilter(nf.config, { kind: 'network', name: nf.name, path: `${nf.jsonPath}.typed_config` }) });
    else if (isNetworkExtAuthz(nf)) steps.push({ type: 'ext_authz', kind: 'network', name: nf.name, config: nf.config, path: nf.jsonPath });
    else {
      const effect = istioNetworkFilterEffect(nf, req);
      if (effect) {
        req = effect.req;
        reasons.push(effect.reason);
        continue;
      }
      const c = classifyNetworkFilter(nf.name, nf.typeUrl);
      if (c.note && c.kind === 'other') reasons.push(`network filter ${nf.name}: ${c.note}`);
    }
  }
  const hcm = hcmIndex >= 0 ? chain.filters[hcmIndex]!.hcm! : null;
  let pathRewrite: Decision['pathRewrite'];
  if (hcm) {
    if (!req.http) reasons.push('the chain is HTTP but the request has no http part: HTTP RBAC filters see no headers or path');
    const pre = hcmRequestPath(chain.filters[hcmIndex]!.config, req, dump, opts.unknown);
    reasons.push(...pre.notes);
    if (pre.localReply) {
      return { decision: 'DENY', policy: null, responseCodeDetails: pre.localReply.details, ...base, filters: [], localReply: pre.localReply, ...(pre.pathRewrite ? { pathRewrite: pre.pathRewrite } : {}), reasons };
    }
    req = pre.req;
    pathRewrite = pre.pathRewrite;
    const xff = hcmRemote(chain.filters[hcmIndex]!.config, req, opts.unknown);
    req = xff.req;
    reasons.push(...xff.notes);
    const rc = hcm.routeConfig;
    let vh: VirtualHost | null = null;
    let route: Route | null = null;
    if (rc && req.http) {
      const m = matchRoute(rc, req.http, req.tls ?? null);
      // The route the HCM matched is known only when the record carries what route matching reads.
      const unreadable = ['http.path', 'http.authority'].filter((a) => isUnknownAttr(opts.unknown, a));
      if (unreadable.length) routeUnknown.push(`the evidence does not carry ${unreadable.join(' and ')}, so the matched route is unknown`);
      else if (m?.uncertain) routeUnknown.push(`route choice uncertain (${m.unevaluated.join('; ')})`);
      if (m) {
        vh = m.virtualHost;
        route = m.route;
        if (m.uncertain) reasons.push(`route choice uncertain: ${m.unevaluated.join('; ')}`);
        const fm = route.metadata?.filter_metadata;
        if (fm && typeof fm === 'object') routeMetadata = fm as Record<string, JsonValue>;
      }
    } else if (!rc && hcm.rdsName) {
      reasons.push(`route configuration ${hcm.rdsName} is not in the dump: per-route overrides unknown`);
      routeUnknown.push(`route configuration ${hcm.rdsName} is not in the dump`);
    }
    for (const hf of hcm.httpFilters as HttpFilter[]) {
      const pf = perFilterConfig(hf.name, rc, vh, route);
      const pfu = pf ? unwrapFilterConfig(pf.cfg) : null;
      const disabled = pfu?.disabled ?? hf.disabled ?? false;
      if (disabled) continue;
      if (isHttpRbac(hf) && hf.configSource === 'config_discovery' && Object.keys(hf.config).length === 0) {
        steps.push({ type: 'unknown', kind: 'http', name: hf.name, reason: 'RBAC config comes from ECDS and is not in the dump' });
      } else if (isHttpRbac(hf)) {
        const filter = cachedRbacFilter(hf.config, { kind: 'http', name: hf.name, path: `${hf.jsonPath}.typed_config` });
        const perRoute = pf && pfu?.config ? cachedPerRoute(pfu.config, { name: hf.name, path: pf.where }) : undefined;
        steps.push({ type: 'rbac', filter, perRoute });
      } else if (isHttpExtAuthz(hf)) {
        const pcfg = pfu?.config ?? null;
        steps.push({ type: 'ext_authz', kind: 'http', name: hf.name, config: hf.config, disabledOnRoute: pcfg?.disabled === true, path: hf.jsonPath });
      } else {
        const effect = istioHttpFilterEffect(hf, req);
        if (effect) {
          req = effect.req;
          reasons.push(effect.reason);
          continue;
        }
        const c = classifyHttpFilter(hf.name, hf.typeUrl);
        if (c.note && c.kind === 'other') reasons.push(`HTTP filter ${hf.name}: ${c.note}`);
        if (c.kind === 'jwt_authn' && !req.metadata?.['envoy.filters.http.jwt_authn']) reasons.push('jwt_authn runs before RBAC: give its payload as metadata["envoy.filters.http.jwt_authn"] to model an authenticated JWT');
      }
    }
  }
  const unknown = routeUnknown.length ? [...(opts.unknown ?? []), 'routeMetadata'] : opts.unknown;
  const d = composeDecision(steps, req, { trace: opts.trace, unknown, routeMetadata: routeUnknown.length ? null : routeMetadata });
  if (routeUnknown.length && d.filters.some((f) => f.policies.some((p) => p.matched === 'undecidable' && readsRouteMetadata(p.trace)))) {
    reasons.push(`sourced_metadata ROUTE reads the matched route's metadata: ${routeUnknown.join('; ')}`);
  }
  const out: Decision = {
    decision: d.decision,
    policy: d.policy,
    responseCodeDetails: d.responseCodeDetails,
    ...(d.connectionTerminationDetails !== undefined ? { connectionTerminationDetails: d.connectionTerminationDetails } : {}),
    listener,
    filterChain: chainName,
    filters: d.filters,
  };
  if (d.closestMiss) out.closestMiss = d.closestMiss;
  const all = [...(d.reasons ?? []), ...reasons];
  if (all.length) out.reasons = all;
  if (pathRewrite) {
    out.pathRewrite = pathRewrite;
    annotatePathLeaves(out, pathRewrite.original);
  }
  return out;
}

/**
 * A request that no listener takes directly but that the proxy accepts inside an HTTP CONNECT tunnel (Istio
 * HBONE to a waypoint): the terminating listener's TLS, the filter state it shares, then the decision on the
 * internal listener with the inner (plaintext) connection.
 */
function decideInTunnel(dump: ConfigDump, entry: TunnelEntry, req: RequestAttrs, reasons: string[], opts: DecideOptions): Decision {
  let unknown = [...(opts.unknown ?? [])];
  if (opts.unknown !== undefined && !req.tls?.uriSans.length) {
    // Replayed evidence (an access-log record of this proxy at a local address only the internal listener
    // serves) describes the inner request: it got there through the tunnel, so the tunnel's TLS handshake, with
    // its required client certificate, succeeded; whose certificate it was is not in this record.
    const dst = req.destination;
    reasons = [
      ...reasons,
      `the record is this proxy's log of the inner request (local address ${dst?.address ?? '?'}:${dst?.port ?? '?'}, served only inside the ${entry.listener.displayName} tunnel): the tunnel was mTLS, and the caller's identity (its peer certificate) is not in this log — the client ztunnel's outbound record to this proxy (src.identity, dst.hbone_addr ${dst?.address ?? '?'}:${dst?.port ?? '?'}) has it`,
    ];
    req = { ...req, sni: undefined, tls: { uriSans: [], dnsSans: [], subject: '', peerCertificateValidated: true } };
    unknown = [...unknown.filter((u) => u !== 'tls'), 'tls.uriSans', 'tls.dnsSans', 'tls.subject'];
  }
  const t = enterConnectTunnel(entry, req, HBONE_PORT, unknown);
  const base = { listener: entry.listener.displayName, filterChain: entry.chain.name || null };
  if (t.t === 'handshake-fails') return { decision: 'DENY', policy: null, responseCodeDetails: null, ...base, filters: [], reasons: [...reasons, ...t.notes] };
  if (t.t === 'undecidable') return { decision: 'UNDECIDABLE', policy: null, responseCodeDetails: null, ...base, filters: [], reasons: [...reasons, ...t.notes] };
  const d = decideRequest(dump, t.req, { ...opts, listener: entry.inner.name, unknown: t.unknown });
  return { ...d, reasons: [...reasons, ...t.notes, ...(d.reasons ?? [])] };
}

/** Path leaves of every trace say what the client sent when the HCM rewrote it (in place, once per node). */
function annotatePathLeaves(d: Decision, original: string): void {
  const seen = new Set<TraceNode>();
  const cut = (p: string): string => p.split(/[?#]/)[0]!;
  const edits: [string, string][] = [];
  const visit = (n: TraceNode): void => {
    if (seen.has(n)) return;
    seen.add(n);
    if ((n.attribute === 'path' || n.attribute === ':path') && typeof n.actual === 'string') {
      const from = n.attribute === 'path' ? cut(original) : original;
      if (from !== n.actual) {
        const head = `${n.attribute}: ${JSON.stringify(n.actual)}`;
        const annotated = `${head} (rewritten by the HTTP connection manager from ${JSON.stringify(from)})`;
        if (n.detail.startsWith(head)) {
          const before = n.detail;
          n.detail = annotated + n.detail.slice(head.length);
          edits.push([before, n.detail]);
        }
      }
    }
    for (const c of n.children ?? []) visit(c);
  };
  const visitFilter = (f: FilterDecision): void => {
    for (const p of f.policies) {
      visit(p.trace);
      for (const x of p.failing ?? []) visit(x);
    }
    if (f.shadowDecision) visitFilter(f.shadowDecision);
  };
  d.filters.forEach(visitFilter);
  for (const m of d.closestMiss ?? []) {
    m.failing.forEach(visit);
    for (const [a, b] of edits) m.summary = m.summary.split(a).join(b);
  }
}

/** `maybeNormalizeHost`: the HCM's :authority rewriting (hcm/host.ts), with a note when it changes. */
function hostOnly(hcmConfig: ProtoObject, req: RequestAttrs, unknown: Iterable<string> | undefined): { req: RequestAttrs; notes: string[] } {
  const authority = req.http?.authority;
  if (!req.http || authority === undefined || isUnknownAttr(unknown, 'http.authority')) return { req, notes: [] };
  const host = normalizeHost(authority, hcmHostSettings(hcmConfig), req.destination?.port);
  if (host === authority) return { req, notes: [] };
  return { req: { ...req, http: { ...req.http, authority: host } }, notes: [`the HTTP connection manager rewrote :authority ${JSON.stringify(authority)} to ${JSON.stringify(host)} (strip_trailing_host_dot / strip_*_host_port): routes and RBAC see the rewritten host`] };
}

/**
 * The remote address (remote_ip) as the HCM sets it from X-Forwarded-For, when the request does not give
 * `remote` itself (a log record's remote address is already Envoy's). source_ip keeps the connection peer.
 */
function hcmRemote(hcmConfig: ProtoObject, req: RequestAttrs, unknown: Iterable<string> | undefined): { req: RequestAttrs; notes: string[] } {
  if (!req.http || req.remote !== undefined || isUnknownAttr(unknown, 'remote')) return { req, notes: [] };
  const s = hcmRemoteAddressSettings(hcmConfig);
  const vals = req.http.headers['x-forwarded-for'];
  const xffHeader = vals && vals.length ? vals.filter((v) => v !== '').join(',') : undefined;
  if (s.detectionExtensions.length) {
    return { req, notes: [`original_ip_detection_extensions (${s.detectionExtensions.join(', ')}) set the remote address and are not modelled: remote_ip reads the connection peer here`] };
  }
  const ip = remoteFromXff(s, xffHeader);
  if (ip === null) return { req, notes: [] };
  const how = `use_remote_address ${s.useRemoteAddress}, xff_num_trusted_hops ${s.xffNumTrustedHops}`;
  return {
    req: { ...req, remote: { address: ip, port: 0 } },
    notes: [`the HTTP connection manager took the remote address ${ip} from X-Forwarded-For ${JSON.stringify(xffHeader)} (${how}): remote_ip reads it; source_ip and direct_remote_ip read the connection peer`],
  };
}

function isUnknownAttr(unknown: Iterable<string> | undefined, attr: string): boolean {
  for (const u of unknown ?? []) if (u === attr || attr.startsWith(u + '.')) return true;
  return false;
}

/**
 * The HTTP connection manager's path handling before routing and the HTTP filters
 * (`maybeNormalizePath`, see hcm/path.ts), from the chain's own HCM config: the request the filters
 * see, a local reply (400/307) instead of any filter, and notes saying what changed and why.
 */
function hcmRequestPath(hcmConfig: ProtoObject, req: RequestAttrs, dump: ConfigDump, unknown: Iterable<string> | undefined): { req: RequestAttrs; notes: string[]; pathRewrite?: Decision['pathRewrite']; localReply?: Decision['localReply'] } {
  if (!req.http) return { req, notes: [] };
  const path = isUnknownAttr(unknown, 'http.path') ? undefined : req.http.path;
  if (path === undefined) return hostOnly(hcmConfig, req, unknown);
  const settings = hcmPathSettings(hcmConfig);
  const notes: string[] = [];
  const istio = dump.node?.istioVersion || dump.node?.proxyType ? istioPathNormalization(settings) : null;
  const fields = [`normalize_path ${settings.normalizePath}`, `merge_slashes ${settings.mergeSlashes}`, `path_with_escaped_slashes_action ${settings.escapedSlashesAction}`].join(', ');
  const how = `${fields}${istio ? `; Istio pathNormalization ${istio}` : ''}`;
  const strips = stripsDotSegmentParameters(dump.node?.envoyVersion);
  const grpc = (req.http.headers['content-type'] ?? []).some((v) => v.startsWith('application/grpc'));
  const r = normalizeRequestPath(path, settings, { grpc, stripDotSegmentParameters: strips ?? true });
  if (settings.normalizePath && strips === null && /(^|\/)\.\.?;/.test(path.split(/[?#]/)[0]!)) {
    notes.push(`the Envoy version is not in the dump: assumed it strips ;parameters from . and .. segments (CVE-2026-73551 fix, Envoy 1.36.10/1.37.6/1.38.4/1.39.1 and later); older Envoy keeps them`);
  }
  if (settings.headerValidator) notes.push(`the HCM has typed_header_validation_config (${settings.headerValidator}): its own path normalisation is not modelled; the HCM fields were applied`);
  const rewrite = r.steps.length ? { original: path, path: r.path, steps: r.steps.map((s) => s.step) } : undefined;
  if (r.action !== 'continue') {
    const localReply: NonNullable<Decision['localReply']> = { by: 'http_connection_manager', status: r.status!, details: r.details!, reason: `${r.reason!} (${how})` };
    if (r.action === 'redirect') localReply.location = r.path;
    notes.push(`the HTTP connection manager answers ${r.status} ${r.details} before any HTTP filter: ${localReply.reason}; no RBAC filter runs`);
    return { req, notes, ...(rewrite ? { pathRewrite: rewrite } : {}), localReply };
  }
  let out = req;
  if (rewrite) {
    notes.push(`the HTTP connection manager rewrote :path ${JSON.stringify(path)} to ${JSON.stringify(r.path)} (${rewrite.steps.join(', ')}; ${how}): routes and RBAC see the rewritten path`);
    out = { ...req, http: { ...req.http, path: r.path } };
  }
  // maybeNormalizeHost runs next (strip_trailing_host_dot, strip_any_host_port / strip_matching_host_port).
  const host = hostOnly(hcmConfig, out, unknown);
  return { req: host.req, notes: [...notes, ...host.notes], ...(rewrite ? { pathRewrite: rewrite } : {}) };
}
