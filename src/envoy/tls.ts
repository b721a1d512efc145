/**
 * TLS pieces of the Envoy model: DownstreamTlsContext / UpstreamTlsContext summaries, private-key
 * scrubbing, and X.509 facts (via node's crypto.X509Certificate) for SDS secrets.
 */
import { X509Certificate } from 'node:crypto';
import type { CertificateInfo, DownstreamTls, ProtoObject, UpstreamTls } from './model.js';

export const REDACTED = '[redacted]';

export function isObj(v: unknown): v is ProtoObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** BoolValue in JSON is a bare boolean; legacy dumps sometimes carry `{value: true}`. */
export function boolValue(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (isObj(v) && typeof v.value === 'boolean') return v.value;
  return false;
}

/**
 * Returns a copy of a TLS config / secret with every private key's inline content replaced by
 * `[redacted]` (file names are kept: they are paths, not keys). Never mutates its input.
 */
export function scrubPrivateKeys<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => scrubPrivateKeys(x)) as T;
  if (!isObj(v)) return v;
  const out: ProtoObject = {};
  for (const [k, val] of Object.entries(v)) {
    if ((k === 'private_key' || k === 'privateKey' || k === 'password') && isObj(val)) {
      const ds: ProtoObject = {};
      for (const [dk, dv] of Object.entries(val)) {
        ds[dk] = dk === 'filename' || dk === 'environment_variable' ? dv : REDACTED;
      }
      out[k] = ds;
    } else {
      out[k] = scrubPrivateKeys(val);
    }
  }
  return out as T;
}

function sdsNames(list: unknown): string[] {
  return arr(list)
    .map((s) => (isObj(s) ? str(s.name) : null))
    .filter((s): s is string => s !== null);
}

interface CommonTlsFacts {
  alpn: string[];
  sdsCerts: string[];
  validationSds: string[];
  certFiles: string[];
  trustedCaFiles: string[];
  matchSubjectAltNames: ProtoObject[];
  tlsParams: ProtoObject | null;
  /** A trusted CA is configured (file, inline, SDS validation context): the server asks for a client certificate. */
  hasTrustedCa: boolean;
}

/** Reads `common_tls_context` (v2 and v3 spellings of the validation context). */
export function commonTlsFacts(ctc: unknown): CommonTlsFacts {
  const c = isObj(ctc) ? ctc : {};
  const alpn = arr(c.alpn_protocols).filter((a): a is string => typeof a === 'string');
  const sdsCerts = sdsNames(c.tls_certificate_sds_secret_configs);
  const certFiles: string[] = [];
  for (const tc of arr(c.tls_certificates)) {
    if (isObj(tc) && isObj(tc.certificate_chain) && typeof tc.certificate_chain.filename === 'string') certFiles.push(tc.certificate_chain.filename);
  }
  const validationSds: string[] = [];
  const trustedCaFiles: string[] = [];
  const matchSubjectAltNames: ProtoObject[] = [];
  let hasTrustedCa = false;
  const readValidation = (vc: unknown) => {
    if (!isObj(vc)) return;
    if (isObj(vc.trusted_ca)) hasTrustedCa = true;
    if (isObj(vc.trusted_ca) && typeof vc.trusted_ca.filename === 'string') trustedCaFiles.push(vc.trusted_ca.filename);
    for (const m of arr(vc.match_subject_alt_names)) if (isObj(m)) matchSubjectAltNames.push(m);
    for (const m of arr(vc.match_typed_subject_alt_names)) if (isObj(m)) matchSubjectAltNames.push(m);
    // v2: verify_subject_alt_name is a list of exact strings.
    for (const m of arr(vc.verify_subject_alt_name)) if (typeof m === 'string') matchSubjectAltNames.push({ exact: m });
  };
  readValidation(c.validation_context);
  if (isObj(c.validation_context_sds_secret_config) && typeof c.validation_context_sds_secret_config.name === 'string') {
    validationSds.push(c.validation_context_sds_secret_config.name);
  }
  if (isObj(c.combined_validation_context)) {
    const cvc = c.combined_validation_context;
    readValidation(cvc.default_validation_context);
    if (isObj(cvc.validation_context_sds_secret_config) && typeof cvc.validation_context_sds_secret_config.name === 'string') {
      validationSds.push(cvc.validation_context_sds_secret_config.name);
    }
  }
  if (validationSds.length) hasTrustedCa = true;
  return { alpn, sdsCerts, validationSds, certFiles, trustedCaFiles, matchSubjectAltNames, tlsParams: isObj(c.tls_params) ? c.tls_params : null, hasTrustedCa };
}

/** Summarises a DownstreamTlsContext (v3 typed_config or v2 `tls_context`). */
export function downstreamTls(cfg: ProtoObject, legacy: boolean): DownstreamTls {
  const f = commonTlsFacts(cfg.common_tls_context);
  const requireClientCertificate = boolValue(cfg.require_client_certificate);
  return {
    requireClientCertificate,
    requestClientCertificate: requireClientCertificate || f.hasTrustedCa,
    alpn: f.alpn,
    sdsCerts: f.sdsCerts,
    validationSds: f.validationSds,
    certFiles: f.certFiles,
    trustedCaFiles: f.trustedCaFiles,
    matchSubjectAltNames: f.matchSubjectAltNames,
    requireSni: boolValue(cfg.require_sni),
    tlsParams: f.tlsParams,
    legacy,
  };
}

export function upstreamTls(cfg: ProtoObject): UpstreamTls {
  const f = commonTlsFacts(cfg.common_tls_context);
  return {
    sni: str(cfg.sni),
    alpn: f.alpn,
    sdsCerts: f.sdsCerts,
    validationSds: f.validationSds,
    certFiles: f.certFiles,
    matchSubjectAltNames: f.matchSubjectAltNames,
  };
}

/** True for a DownstreamTlsContext `@type` (v2 `envoy.api.v2.auth.DownstreamTlsContext` or v3). */
export function isDownstreamTlsType(typeUrl: string): boolean {
  return typeUrl.endsWith('.DownstreamTlsContext');
}

export function isUpstreamTlsType(typeUrl: string): boolean {
  return typeUrl.endsWith('.UpstreamTlsContext');
}

/** `May 15 01:30:52 2023 GMT` → `2023-05-15T01:30:52Z`. */
function rfc3339(openssl: string): string {
  const d = new Date(openssl);
  if (Number.isNaN(d.getTime())) return openssl;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Splits `URI:spiffe://a, DNS:b` into URI and DNS SANs. */
function splitSans(san: string | undefined): { uri: string[]; dns: string[] } {
  const uri: string[] = [];
  const dns: string[] = [];
  if (!san) return { uri, dns };
  for (const part of san.split(/,\s*/)) {
    if (part.startsWith('URI:')) uri.push(part.slice(4));
    else if (part.startsWith('DNS:')) dns.push(part.slice(4));
  }
  return { uri, dns };
}

/** Parses every PEM certificate in `pem`; errors are returned, never thrown. */
export function parseCertificates(pem: string): { certificates: CertificateInfo[]; errors: string[] } {
  const certificates: CertificateInfo[] = [];
  const errors: string[] = [];
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0 && pem.trim() && pem.trim() !== REDACTED) errors.push('no PEM certificate found');
  for (const b of blocks) {
    try {
      const x = new X509Certificate(b);
      const sans = splitSans(x.subjectAltName);
      certificates.push({
        subject: (x.subject ?? '').replace(/\n/g, ', '),
        issuer: (x.issuer ?? '').replace(/\n/g, ', '),
        serialNumber: x.serialNumber.toLowerCase(),
        notBefore: rfc3339(x.validFrom),
        notAfter: rfc3339(x.validTo),
        uriSans: sans.uri,
        dnsSans: sans.dns,
        isCa: x.ca,
        fingerprint256: x.fingerprint256,
      });
    } catch (err) {
      errors.push(`certificate could not be parsed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { certificates, errors };
}

/** Reads an Envoy DataSource (inline_bytes base64, inline_string, filename) as text. */
export function dataSourceText(ds: unknown): { text: string | null; source: string | null } {
  if (!isObj(ds)) return { text: null, source: null };
  if (typeof ds.inline_bytes === 'string') return { text: Buffer.from(ds.inline_bytes, 'base64').toString('utf8'), source: 'inline_bytes' };
  if (typeof ds.inline_string === 'string') return { text: ds.inline_string, source: 'inline_string' };
  if (typeof ds.filename === 'string') return { text: null, source: `file ${ds.filename}` };
  if (typeof ds.environment_variable === 'string') return { text: null, source: `env ${ds.environment_variable}` };
  return { text: null, source: null };
}
