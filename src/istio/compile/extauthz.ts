/**
 * MeshConfig `extensionProviders` (envoyExtAuthzGrpc / envoyExtAuthzHttp) → Envoy ext_authz filter
 * configs, after istiod's `pilot/pkg/security/authz/builder/extauthz.go`.
 */
import type { Json } from './matcher.js';

export interface ExtAuthzRequestBody {
  maxRequestBytes?: number;
  allowPartialMessage?: boolean;
  packAsBytes?: boolean;
}

export interface ExtAuthzGrpcProvider {
  service: string;
  port: number;
  timeout?: string;
  failOpen?: boolean;
  statusOnError?: string;
  includeRequestBodyInCheck?: ExtAuthzRequestBody;
}

export interface ExtAuthzHttpProvider extends ExtAuthzGrpcProvider {
  pathPrefix?: string;
  includeRequestHeadersInCheck?: string[];
  /** Deprecated in Istio; used only when includeRequestHeadersInCheck is empty. */
  includeHeadersInCheck?: string[];
  includeAdditionalHeadersInCheck?: Record<string, string>;
  headersToUpstreamOnAllow?: string[];
  headersToDownstreamOnDeny?: string[];
  headersToDownstreamOnAllow?: string[];
}

/** One MeshConfig extension provider (camelCase as in the mesh config YAML). */
export interface ExtensionProvider {
  name: string;
  envoyExtAuthzGrpc?: ExtAuthzGrpcProvider;
  envoyExtAuthzHttp?: ExtAuthzHttpProvider;
  /** Any other provider type (tracing, logging…) is ignored for authorization. */
  [other: string]: unknown;
}

export interface BuiltExtAuthz {
  /** HTTP ext_authz typed_config without filter_enabled_metadata. */
  http: Json;
  /** Network ext_authz typed_config (gRPC providers only). */
  tcp: Json | null;
}

export const HTTP_EXT_AUTHZ_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
export const TCP_EXT_AUTHZ_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.ext_authz.v3.ExtAuthz';

/** envoy.type.v3.StatusCode names (http_status.proto). */
const STATUS_NAMES: Record<number, string> = {
  0: 'Empty', 100: 'Continue', 200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'NonAuthoritativeInformation', 204: 'NoContent',
  205: 'ResetContent', 206: 'PartialContent', 207: 'MultiStatus', 208: 'AlreadyReported', 226: 'IMUsed', 300: 'MultipleChoices',
  301: 'MovedPermanently', 302: 'Found', 303: 'SeeOther', 304: 'NotModified', 305: 'UseProxy', 307: 'TemporaryRedirect',
  308: 'PermanentRedirect', 400: 'BadRequest', 401: 'Unauthorized', 402: 'PaymentRequired', 403: 'Forbidden', 404: 'NotFound',
  405: 'MethodNotAllowed', 406: 'NotAcceptable', 407: 'ProxyAuthenticationRequired', 408: 'RequestTimeout', 409: 'Conflict',
  410: 'Gone', 411: 'LengthRequired', 412: 'PreconditionFailed', 413: 'PayloadTooLarge', 414: 'URITooLong',
  415: 'UnsupportedMediaType', 416: 'RangeNotSatisfiable', 417: 'ExpectationFailed', 421: 'MisdirectedRequest',
  422: 'UnprocessableEntity', 423: 'Locked', 424: 'FailedDependency', 426: 'UpgradeRequired', 428: 'PreconditionRequired',
  429: 'TooManyRequests', 431: 'RequestHeaderFieldsTooLarge', 500: 'InternalServerError', 501: 'NotImplemented',
  502: 'BadGateway', 503: 'ServiceUnavailable', 504: 'GatewayTimeout', 505: 'HTTPVersionNotSupported',
  506: 'VariantAlsoNegotiates', 507: 'InsufficientStorage', 508: 'LoopDetected', 510: 'NotExtended',
  511: 'NetworkAuthenticationRequired',
};

/** Resolves every provider; a provider that fails maps to its list of errors (a CUSTOM policy using it becomes a DENY). */
export function processExtensionProviders(providers: ExtensionProvider[] | undefined): Map<string, BuiltExtAuthz | string[]> {
  const out = new Map<string, BuiltExtAuthz | string[]>();
  for (const [i, p] of (providers ?? []).entries()) {
    const errs: string[] = [];
    if (!p.name) {
      errs.push(`extension provider name must not be empty, found empty at index: ${i}`);
      continue;
    }
    if (out.has(p.name)) errs.push(`extension provider name must be unique, found duplicate: ${p.name}`);
    let built: BuiltExtAuthz | null = null;
    if (p.envoyExtAuthzHttp) built = buildHttp(p.envoyExtAuthzHttp, errs);
    else if (p.envoyExtAuthzGrpc) built = buildGrpc(p.envoyExtAuthzGrpc, errs);
    else errs.push(`unsupported extension provider: ${p.name}`);
    out.set(p.name, errs.length > 0 || !built ? errs.map((e) => `failed to parse extension provider ${p.name}: ${e}`) : built);
  }
  return out;
}

export function getExtAuthz(resolved: Map<string, BuiltExtAuthz | string[]>, provider: string): BuiltExtAuthz | string {
  if (resolved.size === 0) return 'extension provider not defined: no meshConfig extensionProviders given';
  const r = resolved.get(provider);
  if (r === undefined) return `extension provider ${provider} not found, available providers are [${[...resolved.keys()].join(' ')}]`;
  if (Array.isArray(r)) return r.join('; ');
  return r;
}

function parsePort(port: number, errs: string[]): number {
  if (Number.isInteger(port) && port >= 1 && port <= 65535) return port;
  errs.push(`port must be in the range [1, 65535], found: ${port}`);
  return 0;
}

function parseService(service: string, port: number, errs: string[]): { hostname: string; cluster: string } {
  if (!service) {
    errs.push('service must not be empty');
    return { hostname: '', cluster: '' };
  }
  const parts = service.split('/');
  let hostname: string;
  if (parts.length === 1) hostname = parts[0]!;
  else if (parts.length === 2) {
    const [ns, name] = parts as [string, string];
    // Without a service registry, a short name is resolved the Kubernetes way.
    hostname = name.includes('.') ? name : `${name}.${ns}.svc.cluster.local`;
  } else {
    errs.push(`service not in format <namespace>/<service>, found: ${service}`);
    return { hostname: '', cluster: '' };
  }
  return { hostname, cluster: `outbound|${port}||${hostname}` };
}

function parseStatusOnError(status: string | undefined, errs: string[]): Json | undefined {
  if (status === undefined || status === '') return undefined;
  if (!/^-?\d+$/.test(status)) {
    errs.push(`invalid statusOnError ${status}`);
    return undefined;
  }
  const name = STATUS_NAMES[Number(status)];
  if (!name) {
    errs.push(`unsupported statusOnError ${status}`);
    return undefined;
  }
  return { code: name };
}

/** Protobuf Duration JSON ("0.002s", "10s") or Go-style ("2ms", "1m30s") → protojson text. */
export function formatDuration(text: string | undefined, dflt: string): string {
  if (text === undefined || text === '') return dflt;
  let nanos = 0n;
  const re = /(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(text)) !== null) {
    if (m.index !== consumed) break;
    consumed += m[0].length;
    const [intPart, frac = ''] = m[1]!.split('.');
    const unit = { h: 3_600_000_000_000n, m: 60_000_000_000n, s: 1_000_000_000n, ms: 1_000_000n, us: 1000n, µs: 1000n, ns: 1n }[m[2] as 'h'];
    const scale = 10n ** BigInt(frac.length);
    nanos += (BigInt(intPart!) * scale + BigInt(frac || '0')) * unit / scale;
  }
  if (consumed !== text.length) throw new Error(`invalid duration '${text}'`);
  const secs = nanos / 1_000_000_000n;
  const rem = nanos % 1_000_000_000n;
  if (rem === 0n) return `${secs}s`;
  let frac = rem.toString().padStart(9, '0');
  if (frac.endsWith('000000')) frac = frac.slice(0, 3);
  else if (frac.endsWith('000')) frac = frac.slice(0, 6);
  return `${secs}.${frac}s`;
}

function headerPatterns(headers: string[] | undefined): Json | undefined {
  if (!headers || headers.length === 0) return undefined;
  return {
    patterns: headers.map((h) => {
      if (h.startsWith('*') && h.length > 1) return { suffix: h.slice(1), ignore_case: true };
      if (h.endsWith('*') && h.length > 1) return { prefix: h.slice(0, -1), ignore_case: true };
      return { exact: h, ignore_case: true };
    }),
  };
}

function requestBody(b: ExtAuthzRequestBody | undefined): Json | undefined {
  if (!b) return undefined;
  const out: Json = {};
  if (b.maxRequestBytes) out.max_request_bytes = b.maxRequestBytes;
  if (b.allowPartialMessage) out.allow_partial_message = true;
  if (b.packAsBytes) out.pack_as_bytes = true;
  return out;
}

function timeout(t: string | undefined, errs: string[]): string {
  try {
    return formatDuration(t, '600s');
  } catch (e) {
    errs.push((e as Error).message);
    return '600s';
  }
}

function buildHttp(c: ExtAuthzHttpProvider, errs: string[]): BuiltExtAuthz | null {
  const port = parsePort(c.port, errs);
  const { hostname, cluster } = parseService(c.service, port, errs);
  const status = parseStatusOnError(c.statusOnError, errs);
  if (c.pathPrefix && !c.pathPrefix.startsWith('/')) errs.push(`pathPrefix must begin with \`/\`, found: "${c.pathPrefix}"`);
  const to = timeout(c.timeout, errs);
  if (errs.length > 0) return null;
  const service: Json = { server_uri: { uri: `http://${hostname}`, cluster, timeout: to } };
  if (c.pathPrefix) service.path_prefix = c.pathPrefix;
  const authzReq: Json = {};
  if (!c.includeRequestHeadersInCheck?.length) {
    const h = headerPatterns(c.includeHeadersInCheck);
    if (h) authzReq.allowed_headers = h;
  }
  const add = Object.entries(c.includeAdditionalHeadersInCheck ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (add.length > 0) authzReq.headers_to_add = add.map(([key, value]) => ({ key, value }));
  if (Object.keys(authzReq).length > 0) service.authorization_request = authzReq;
  const resp: Json = {};
  const up = headerPatterns(c.headersToUpstreamOnAllow);
  if (up) resp.allowed_upstream_headers = up;
  const deny = headerPatterns(c.headersToDownstreamOnDeny);
  if (deny) resp.allowed_client_headers = deny;
  const ok = headerPatterns(c.headersToDownstreamOnAllow);
  if (ok) resp.allowed_client_headers_on_success = ok;
  if (Object.keys(resp).length > 0) service.authorization_response = resp;
  const http: Json = { '@type': HTTP_EXT_AUTHZ_TYPE, http_service: service, transport_api_version: 'V3' };
  if (status) http.status_on_error = status;
  if (c.failOpen) http.failure_mode_allow = true;
  const allowed = headerPatterns(c.includeRequestHeadersInCheck);
  if (allowed) http.allowed_headers = allowed;
  const body = requestBody(c.includeRequestBodyInCheck);
  if (body) http.with_request_body = body;
  return { http, tcp: null };
}

function buildGrpc(c: ExtAuthzGrpcProvider, errs: string[]): BuiltExtAuthz | null {
  const port = parsePort(c.port, errs);
  const { hostname, cluster } = parseService(c.service, port, errs);
  const status = parseStatusOnError(c.statusOnError, errs);
  const to = timeout(c.timeout, errs);
  if (errs.length > 0) return null;
  const grpc: Json = { envoy_grpc: { cluster_name: cluster, authority: hostname }, timeout: to };
  const http: Json = { '@type': HTTP_EXT_AUTHZ_TYPE, grpc_service: grpc, transport_api_version: 'V3' };
  if (status) http.status_on_error = status;
  if (c.failOpen) http.failure_mode_allow = true;
  const body = requestBody(c.includeRequestBodyInCheck);
  if (body) http.with_request_body = body;
  const tcp: Json = { '@type': TCP_EXT_AUTHZ_TYPE, stat_prefix: 'tcp.', grpc_service: grpc, transport_api_version: 'V3' };
  if (c.failOpen) tcp.failure_mode_allow = true;
  return { http, tcp };
}
