/**
 * Istio workload identities: the mesh trust domain a proxy's config shows, and the short forms people
 * write for a peer (`ns/sa`, `<trust-domain>/ns/<ns>/sa/<sa>` as in AuthorizationPolicy principals)
 * turned into the SPIFFE id Istio puts in the workload certificate's one URI SAN:
 * `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`.
 */
import type { ConfigDump } from '../envoy/model.js';
import { parseSpiffe } from '../readers/inventory.js';

/** Istio's default trust domain (MeshConfig.trustDomain). */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

export interface TrustDomain {
  trustDomain: string;
  /** Where it was read, for a note: `the workload certificate (secret default)`, `the SPIFFE ids in the config`, or `Istio's default`. */
  from: string;
  /** True when nothing in the config said it (the default was assumed). */
  assumed: boolean;
}

/** The trust domain of the proxy's own workload certificate (SDS secret `default`, else any certificate secret). */
function fromWorkloadCertificate(dump: ConfigDump): TrustDomain | null {
  const certs = dump.secrets.filter((s) => s.kind === 'tls_certificate' && s.certificates.length > 0);
  certs.sort((a, b) => Number(b.name === 'default') - Number(a.name === 'default'));
  for (const s of certs) {
    for (const u of s.certificates[0]!.uriSans) {
      const id = parseSpiffe(u);
      if (id) return { trustDomain: id.trustDomain, from: `the workload certificate (secret ${s.name || '(unnamed)'})`, assumed: false };
    }
  }
  return null;
}

/** Trust domains of every `spiffe://<td>/ns/…` string in a JSON document (RBAC principals, SAN matchers, certificates). */
export function trustDomainsMentioned(doc: unknown, limit = 1_000_000): Map<string, number> {
  const seen = new Map<string, number>();
  const stack: unknown[] = [doc];
  let visited = 0;
  while (stack.length > 0 && visited++ < limit) {
    const v = stack.pop();
    if (typeof v === 'string') {
      for (const m of v.matchAll(/spiffe:\/\/([^/\s"]+)\/ns\//g)) seen.set(m[1]!, (seen.get(m[1]!) ?? 0) + 1);
    } else if (Array.isArray(v)) for (const x of v) stack.push(x);
    else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) stack.push(x);
  }
  return seen;
}

/**
 * The trust domain a config speaks for: the proxy's own workload certificate when the dump carries it,
 * else the one trust domain its SPIFFE ids name (RBAC principals, outbound SAN matchers), else Istio's
 * default `cluster.local` (assumed, so the caller says so).
 */
export function trustDomainOf(dump: ConfigDump | null, raw: unknown): TrustDomain {
  const cert = dump ? fromWorkloadCertificate(dump) : null;
  if (cert) return cert;
  const named = trustDomainsMentioned(raw);
  if (named.size === 1) return { trustDomain: [...named.keys()][0]!, from: 'the SPIFFE ids in the config', assumed: false };
  if (named.size > 1) {
    const [top] = [...named].sort((a, b) => b[1] - a[1]);
    return { trustDomain: top![0], from: `the most frequent of the trust domains the config names (${[...named.keys()].join(', ')})`, assumed: true };
  }
  return { trustDomain: DEFAULT_TRUST_DOMAIN, from: "Istio's default (the config names none)", assumed: true };
}

export interface PeerIdentity {
  /** The SPIFFE id (or, for a bare word, the value as given) used as the peer certificate's URI SAN. */
  id: string;
  /** How a short form was expanded (trust domain and where it came from), for the decision's notes; absent when the value was a full id. */
  note?: string;
  /** Set when the value is not an identity form Istio issues (printed as a warning). */
  warning?: string;
}

/**
 * A peer given on the command line (`--from`) → the URI SAN of its certificate:
 * - `spiffe://…` (any URI) as given;
 * - `<td>/ns/<ns>/sa/<sa>` (an AuthorizationPolicy principal) → `spiffe://` + it;
 * - `ns/<ns>/sa/<sa>` and `<ns>/<sa>` → `spiffe://<trust domain>/ns/<ns>/sa/<sa>`;
 * - a bare word → as given, with a warning (no Istio certificate carries it).
 */
export function peerIdentity(value: string, td: TrustDomain): PeerIdentity {
  const v = value.trim();
  const tdNote = `trust domain ${td.trustDomain} from ${td.from}`;
  if (v.includes('://')) return { id: v };
  const s = v.replace(/^\/+/, '');
  if (/^[^/]+\/ns\/[^/]+\/sa\/[^/]+$/.test(s) && !s.startsWith('ns/')) return { id: `spiffe://${s}` };
  let m = /^ns\/([^/]+)\/sa\/([^/]+)$/.exec(s);
  if (m) {
    const id = `spiffe://${td.trustDomain}/ns/${m[1]}/sa/${m[2]}`;
    return { id, note: `peer ${s} → ${id} (${tdNote})` };
  }
  m = /^([^/]+)\/([^/]+)$/.exec(s);
  if (m) {
    const id = `spiffe://${td.trustDomain}/ns/${m[1]}/sa/${m[2]}`;
    return { id, note: `peer ${s} (namespace/service account) → ${id} (${tdNote})` };
  }
  if (!s.includes('/')) {
    return {
      id: s,
      note: `peer URI SAN ${JSON.stringify(s)} (as given)`,
      warning: `--from ${JSON.stringify(value)}: a bare word is not an Istio identity; used as the peer certificate's URI SAN as given. Write <namespace>/<service-account>, <trust-domain>/ns/<ns>/sa/<sa> or a spiffe:// id`,
    };
  }
  return {
    id: `spiffe://${s}`,
    warning: `--from ${JSON.stringify(value)}: not Istio's <trust-domain>/ns/<ns>/sa/<sa> or <namespace>/<service-account> form; used as spiffe://${s}`,
  };
}
