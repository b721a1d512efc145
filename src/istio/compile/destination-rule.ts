/**
 * networking.istio.io DestinationRule as the client-side TLS compiler reads it: `host`, `exportTo`,
 * `workloadSelector`, `trafficPolicy` (tls, loadBalancer.simple, portLevelSettings) and `subsets`, with the
 * complaints istiod's validation (`ValidateDestinationRule`, `validateTLS`) gives for the TLS part, and the
 * visibility/precedence rules of `PushContext.destinationRule` (proxy namespace, then the service's namespace,
 * then the root namespace; most specific host first).
 */
import type { Diagnostic } from '../../model/errors.js';
import type { K8sObject, K8sSource } from '../../readers/k8s.js';

export type ClientTlsMode = 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';

/** `ClientTLSSettings` (networking/v1alpha3/destination_rule.proto). */
export interface ClientTlsSettings {
  mode: ClientTlsMode;
  clientCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  caCrl?: string;
  credentialName?: string;
  /** `undefined` = not set (ISTIO_MUTUAL then verifies the service's accounts); `[]` is "set, empty". */
  subjectAltNames?: string[];
  sni?: string;
  insecureSkipVerify?: boolean;
}

export interface PortTrafficPolicy {
  port: number;
  tls?: ClientTlsSettings;
  loadBalancerSimple?: string;
}

export interface TrafficPolicy {
  tls?: ClientTlsSettings;
  loadBalancerSimple?: string;
  portLevelSettings: PortTrafficPolicy[];
}

export interface Subset {
  name: string;
  labels: Record<string, string>;
  trafficPolicy?: TrafficPolicy;
}

export interface DestinationRule {
  name: string;
  namespace: string;
  /** as written (short names are resolved against the rule's namespace when matched) */
  host: string;
  exportTo: string[];
  workloadSelector?: Record<string, string>;
  trafficPolicy?: TrafficPolicy;
  subsets: Subset[];
  /** the apiVersion it was written with (networking.istio.io/v1alpha3, v1beta1, v1) */
  apiVersion: string;
  creationTimestamp?: string;
  source?: K8sSource;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const TLS_MODES: ClientTlsMode[] = ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'];
const TLS_FIELDS = ['mode', 'clientCertificate', 'privateKey', 'caCertificates', 'caCrl', 'credentialName', 'subjectAltNames', 'sni', 'insecureSkipVerify'];

class DrError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

function loc(o: K8sObject, path: string) {
  return { file: o.source.file, line: o.source.lineAt?.(path) ?? o.source.line, path: `${o.source.path}${path}` };
}

function str(v: unknown, path: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new DrError(path, `${path.slice(1)}: expected a string`);
  return v;
}

function parseTls(v: unknown, path: string, warn: (path: string, msg: string) => void): ClientTlsSettings | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) throw new DrError(path, `${path.slice(1)}: expected an object`);
  for (const k of Object.keys(v)) if (!TLS_FIELDS.includes(k)) throw new DrError(`${path}.${k}`, `strict decoding error: unknown field "${path.slice(1)}.${k}"`);
  const mode = v.mode ?? 'DISABLE';
  if (typeof mode !== 'string' || !TLS_MODES.includes(mode as ClientTlsMode)) {
    throw new DrError(`${path}.mode`, `${path.slice(1)}.mode: Unsupported value: ${JSON.stringify(mode)}: supported values: "DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"`);
  }
  let sans: string[] | undefined;
  if (v.subjectAltNames !== undefined && v.subjectAltNames !== null) {
    if (!Array.isArray(v.subjectAltNames) || v.subjectAltNames.some((s) => typeof s !== 'string')) throw new DrError(`${path}.subjectAltNames`, `${path.slice(1)}.subjectAltNames: expected an array of strings`);
    sans = v.subjectAltNames as string[];
  }
  if (v.insecureSkipVerify !== undefined && typeof v.insecureSkipVerify !== 'boolean') throw new DrError(`${path}.insecureSkipVerify`, `${path.slice(1)}.insecureSkipVerify: expected a boolean`);
  const tls: ClientTlsSettings = { mode: mode as ClientTlsMode };
  for (const k of ['clientCertificate', 'privateKey', 'caCertificates', 'caCrl', 'credentialName', 'sni'] as const) {
    const s = str(v[k], `${path}.${k}`);
    if (s !== undefined && s !== '') tls[k] = s;
  }
  if (sans) tls.subjectAltNames = sans;
  if (v.insecureSkipVerify === true) tls.insecureSkipVerify = true;
  // validateTLS (pkg/config/validation): what istiod rejects, and what it only warns about.
  if (tls.mode === 'ISTIO_MUTUAL' && (tls.clientCertificate || tls.privateKey || tls.caCertificates || tls.credentialName)) {
    throw new DrError(path, `${path.slice(1)}: cannot specify client certificates or CA certificate or credentialName with ISTIO_MUTUAL`);
  }
  if (tls.mode === 'MUTUAL' && !tls.credentialName && (!tls.clientCertificate || !tls.privateKey)) {
    throw new DrError(path, `${path.slice(1)}: client certificate and private key are required for MUTUAL (or a credentialName)`);
  }
  if (tls.mode === 'DISABLE' && Object.keys(tls).length > 1) warn(path, `${path.slice(1)}: mode DISABLE ignores the other TLS fields`);
  return tls;
}

function parsePolicy(v: unknown, path: string, warn: (path: string, msg: string) => void): TrafficPolicy | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) throw new DrError(path, `${path.slice(1)}: expected an object`);
  const lb = (x: unknown, p: string): string | undefined => (isRecord(x) ? str(x.simple, `${p}.simple`) : undefined);
  const out: TrafficPolicy = { portLevelSettings: [] };
  const tls = parseTls(v.tls, `${path}.tls`, warn);
  if (tls) out.tls = tls;
  const simple = lb(v.loadBalancer, `${path}.loadBalancer`);
  if (simple) out.loadBalancerSimple = simple;
  if (v.portLevelSettings !== undefined && v.portLevelSettings !== null) {
    if (!Array.isArray(v.portLevelSettings)) throw new DrError(`${path}.portLevelSettings`, `${path.slice(1)}.portLevelSettings: expected an array`);
    v.portLevelSettings.forEach((pl: unknown, i: number) => {
      const p = `${path}.portLevelSettings[${i}]`;
      if (!isRecord(pl)) throw new DrError(p, `${p.slice(1)}: expected an object`);
      const port = isRecord(pl.port) ? pl.port.number : undefined;
      if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0 || port > 65535) throw new DrError(`${p}.port`, `${p.slice(1)}: port must be set (port.number in 1..65535)`);
      const pt: PortTrafficPolicy = { port };
      const ptls = parseTls(pl.tls, `${p}.tls`, warn);
      if (ptls) pt.tls = ptls;
      const ps = lb(pl.loadBalancer, `${p}.loadBalancer`);
      if (ps) pt.loadBalancerSimple = ps;
      out.portLevelSettings.push(pt);
    });
  }
  return out;
}

function stringMap(v: unknown, path: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v) || Object.values(v).some((x) => typeof x !== 'string')) throw new DrError(path, `${path.slice(1)}: expected a map of strings`);
  return v as Record<string, string>;
}

const isDestinationRule = (o: K8sObject): boolean => o.kind === 'DestinationRule' && o.apiVersion.startsWith('networking.istio.io/');

/** Every DestinationRule among `objects`; invalid ones are left out with an error naming file, line and path. */
export function parseDestinationRules(objects: K8sObject[], defaultNamespace: string): { rules: DestinationRule[]; diagnostics: Diagnostic[] } {
  const rules: DestinationRule[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const o of objects) {
    if (!isDestinationRule(o)) continue;
    const warn = (path: string, message: string): void => {
      diagnostics.push({ severity: 'warning', location: loc(o, path), message: `DestinationRule ${o.metadata.name}: ${message}` });
    };
    try {
      const spec = o.raw.spec;
      if (!isRecord(spec)) throw new DrError('.spec', 'spec: expected an object');
      const host = str(spec.host, '.spec.host');
      if (!host) throw new DrError('.spec.host', 'spec.host: host is required');
      let exportTo: string[] = ['*'];
      if (Array.isArray(spec.exportTo) && spec.exportTo.length > 0) exportTo = spec.exportTo.map((x, i) => str(x, `.spec.exportTo[${i}]`) ?? '');
      const ws = isRecord(spec.workloadSelector) ? stringMap(spec.workloadSelector.matchLabels, '.spec.workloadSelector.matchLabels') : undefined;
      const subsets: Subset[] = [];
      if (Array.isArray(spec.subsets)) {
        spec.subsets.forEach((s: unknown, i: number) => {
          const p = `.spec.subsets[${i}]`;
          if (!isRecord(s)) throw new DrError(p, `${p.slice(1)}: expected an object`);
          const name = str(s.name, `${p}.name`);
          if (!name) throw new DrError(`${p}.name`, `${p.slice(1)}: subset name is required`);
          const tp = parsePolicy(s.trafficPolicy, `${p}.trafficPolicy`, warn);
          subsets.push({ name, labels: stringMap(s.labels, `${p}.labels`) ?? {}, ...(tp ? { trafficPolicy: tp } : {}) });
        });
      }
      const tp = parsePolicy(spec.trafficPolicy, '.spec.trafficPolicy', warn);
      const md = isRecord(o.raw.metadata) ? o.raw.metadata : {};
      rules.push({
        name: o.metadata.name,
        namespace: o.metadata.namespace ?? defaultNamespace,
        host,
        exportTo,
        ...(ws && Object.keys(ws).length ? { workloadSelector: ws } : {}),
        ...(tp ? { trafficPolicy: tp } : {}),
        subsets,
        apiVersion: o.apiVersion,
        ...(typeof md.creationTimestamp === 'string' ? { creationTimestamp: md.creationTimestamp } : {}),
        source: o.source,
      });
    } catch (e) {
      if (!(e instanceof DrError)) throw e;
      diagnostics.push({ severity: 'error', location: loc(o, e.path), message: `DestinationRule ${o.metadata.name}: ${e.message} (istiod rejects it; skipped)` });
    }
  }
  return { rules, diagnostics };
}

/** A short host (`mariadb`) names a service in the rule's own namespace (`ResolveShortnameToFQDN`). */
export function resolveHost(host: string, namespace: string, domainSuffix = 'cluster.local'): string {
  if (host === '*' || host.startsWith('*.') || host.includes('.')) return host;
  return `${host}.${namespace}.svc.${domainSuffix}`;
}

/** `host.Name.Matches` for a concrete service hostname: equal, or the wildcard's suffix ends it. */
export function hostMatches(pattern: string, hostname: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*')) return hostname.endsWith(pattern.slice(1));
  return pattern === hostname;
}

/** `MostSpecificHostMatch`: the exact host, else the longest wildcard. */
function specificity(pattern: string): number {
  return pattern.startsWith('*') ? pattern.length : Number.MAX_SAFE_INTEGER;
}

function visibleTo(dr: DestinationRule, namespace: string): boolean {
  return dr.exportTo.some((e) => e === '*' || (e === '.' ? dr.namespace === namespace : e === namespace));
}

export interface DrChoice {
  rule: DestinationRule;
  /** why this rule: which namespace level it came from */
  scope: 'proxy-namespace' | 'service-namespace' | 'root-namespace';
  /** other rules for the same host that istiod ignores or merges behind this one */
  shadowed: DestinationRule[];
}

const older = (a: DestinationRule, b: DestinationRule): number => (a.creationTimestamp ?? '').localeCompare(b.creationTimestamp ?? '') || `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`);

/**
 * The DestinationRule a sidecar in `proxy.namespace` applies to `hostname` (service in `serviceNamespace`):
 * rules of the proxy's own namespace first (a workloadSelector rule only when it selects the proxy), then rules
 * exported from the service's namespace, then rules exported from the root namespace; within one level the most
 * specific host wins and, among equals, the oldest rule (istiod merges later ones into it, first wins).
 */
export function selectDestinationRule(
  rules: DestinationRule[],
  proxy: { namespace: string; labels: Record<string, string> },
  hostname: string,
  serviceNamespace: string,
  rootNamespace: string,
  domainSuffix = 'cluster.local',
): DrChoice | null {
  const matching = (r: DestinationRule): boolean => hostMatches(resolveHost(r.host, r.namespace, domainSuffix), hostname);
  const selects = (r: DestinationRule): boolean => !r.workloadSelector || (r.namespace === proxy.namespace && Object.entries(r.workloadSelector).every(([k, v]) => proxy.labels[k] === v));
  const levels: Array<[DrChoice['scope'], DestinationRule[]]> = [
    ['proxy-namespace', rules.filter((r) => r.namespace === proxy.namespace && matching(r) && selects(r))],
    ['service-namespace', rules.filter((r) => r.namespace === serviceNamespace && r.namespace !== proxy.namespace && !r.workloadSelector && matching(r) && visibleTo(r, proxy.namespace))],
    ['root-namespace', rules.filter((r) => r.namespace === rootNamespace && r.namespace !== proxy.namespace && r.namespace !== serviceNamespace && !r.workloadSelector && matching(r) && visibleTo(r, proxy.namespace))],
  ];
  for (const [scope, cands] of levels) {
    if (cands.length === 0) continue;
    const best = Math.max(...cands.map((r) => specificity(resolveHost(r.host, r.namespace, domainSuffix))));
    const top = cands.filter((r) => specificity(resolveHost(r.host, r.namespace, domainSuffix)) === best);
    // a workloadSelector rule that selects the proxy comes before the namespace-wide ones
    top.sort((a, b) => Number(!!b.workloadSelector) - Number(!!a.workloadSelector) || older(a, b));
    return { rule: top[0]!, scope, shadowed: cands.filter((r) => r !== top[0]) };
  }
  return null;
}

/**
 * `MergeTrafficPolicy(original, subsetPolicy, port)`: the subset's settings replace the top-level ones; a
 * portLevelSettings entry for the port replaces tls and loadBalancer wholesale (port-level policies do not
 * inherit: an entry without `tls` means no TLS setting).
 */
export function mergeTrafficPolicy(original: TrafficPolicy | undefined, subset: TrafficPolicy | undefined, port: number): { tls?: ClientTlsSettings; loadBalancerSimple?: string; from: string } {
  if (!subset) {
    if (!original) return { from: 'none' };
    return mergeTrafficPolicy(undefined, original, port);
  }
  let base: { tls?: ClientTlsSettings; loadBalancerSimple?: string; from: string } = { from: 'none' };
  if (original) base = original.portLevelSettings.length ? mergeTrafficPolicy(undefined, original, port) : { ...(original.tls ? { tls: original.tls } : {}), ...(original.loadBalancerSimple ? { loadBalancerSimple: original.loadBalancerSimple } : {}), from: 'trafficPolicy' };
  const from = original ? 'subset' : 'trafficPolicy';
  const merged = { ...base };
  if (subset.tls) {
    merged.tls = subset.tls;
    merged.from = from;
  }
  if (subset.loadBalancerSimple) merged.loadBalancerSimple = subset.loadBalancerSimple;
  const pl = subset.portLevelSettings.find((p) => p.port === port);
  if (pl) {
    const out: { tls?: ClientTlsSettings; loadBalancerSimple?: string; from: string } = { from: `${from}.portLevelSettings[${port}]` };
    if (pl.tls) out.tls = pl.tls;
    if (pl.loadBalancerSimple) out.loadBalancerSimple = pl.loadBalancerSimple;
    return out;
  }
  return merged;
}
