/**
 * Istio releases render AuthorizationPolicy differently (research/istio.md §3.4). A `IstioVersion`
 * selects the rendering; `features(v)` answers each version-dependent question in one place.
 */
export interface IstioVersion {
  major: number;
  minor: number;
  /** The text the user gave (`1.30`, `1.30.3`, `master`). */
  label: string;
}

/** The newest release at the time of writing (istio.md: latest tags 1.30.3, 1.31.0-beta.0). */
export const DEFAULT_ISTIO_VERSION = '1.30';
/** `master` renders like the unreleased branch the goldens come from (e.g. `trustDomains`). */
const MASTER_MINOR = 99;

export function parseIstioVersion(text: string | undefined): IstioVersion {
  const t = (text ?? DEFAULT_ISTIO_VERSION).trim();
  if (t === 'master' || t === 'latest') return { major: 1, minor: MASTER_MINOR, label: t };
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(t);
  if (!m) throw new Error(`invalid Istio version '${text}' (expected e.g. 1.30, 1.22.3 or master)`);
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major !== 1 || minor < 4) throw new Error(`unsupported Istio version '${text}' (AuthorizationPolicy v1beta1 rendering starts at 1.4)`);
  return { major, minor, label: t };
}

export interface RenderFeatures {
  /** How a peer identity is matched on HTTP chains (TCP chains never used istio_authn metadata). */
  httpPrincipal: 'istio_authn' | 'authenticated' | 'filter_state';
  /** How a peer identity is matched on TCP chains. */
  tcpPrincipal: 'authenticated' | 'filter_state';
  /** Header matchers: `string_match` (1.20+) or the deprecated `exact_match`/`prefix_match`/... fields. */
  headerStringMatch: boolean;
  /** hosts: case-insensitive `string_match` (1.11+), else `(?i)` regexes. */
  hostIgnoreCase: boolean;
  /** requestPrincipals/claims read `envoy.filters.http.jwt_authn` payload (1.21+), else istio_authn metadata. */
  jwtAuthnPayload: boolean;
  /** `{*}`/`{**}` path templates → `uri_template` (1.22+). */
  uriTemplate: boolean;
  /** `serviceAccounts`/`notServiceAccounts` and `source.serviceAccount` exist (1.25+). */
  serviceAccounts: boolean;
  /** `trustDomains`/`notTrustDomains` exist (master only). */
  trustDomains: boolean;
  /** CUSTOM policy keys carry the provider name, multiple providers handled per provider (1.30+). */
  customProviderInKey: boolean;
  /** Bad CUSTOM → per-rule `-deny-due-to-bad-CUSTOM-action` (1.20+), else one `default-deny-all-due-to-bad-CUSTOM-action`. */
  badCustomPerRule: boolean;
  /** AUDIT action (1.8+), CUSTOM (1.9+), dry-run annotation (1.10+), DENY (1.5+). */
  audit: boolean;
  custom: boolean;
  dryRun: boolean;
  deny: boolean;
  /** ipBlocks → direct_remote_ip and remoteIpBlocks exist (1.9+); before: source_ip. */
  directRemoteIp: boolean;
}

export function features(v: IstioVersion): RenderFeatures {
  const at = (minor: number) => v.minor >= minor;
  return {
    httpPrincipal: !at(11) ? 'istio_authn' : at(17) && !at(20) ? 'filter_state' : 'authenticated',
    tcpPrincipal: at(17) && !at(20) ? 'filter_state' : 'authenticated',
    headerStringMatch: at(20),
    hostIgnoreCase: at(11),
    jwtAuthnPayload: at(21),
    uriTemplate: at(22),
    serviceAccounts: at(25),
    trustDomains: v.minor === MASTER_MINOR,
    customProviderInKey: at(30),
    badCustomPerRule: at(20),
    audit: at(8),
    custom: at(9),
    dryRun: at(10),
    deny: at(5),
    directRemoteIp: at(9),
  };
}
