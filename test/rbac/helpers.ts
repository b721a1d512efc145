import type { PeerTls, RequestAttrs } from '../../src/model/attrs.js';
import { buildContext } from '../../src/rbac/context.js';
import { createPermission, createPrincipal } from '../../src/rbac/matchers.js';
import { T, U } from '../../src/rbac/tri.js';

export function tls(uriSans: string[] = [], extra: Partial<PeerTls> = {}): PeerTls {
  return { uriSans, dnsSans: [], subject: '', peerCertificateValidated: true, ...extra };
}

export function http(method: string, path: string, headers: Record<string, string[]> = {}, authority = 'example.com'): RequestAttrs['http'] {
  return { method, path, authority, headers };
}

/** Evaluates one Permission (snake_case config) → true/false/'U'. */
export function perm(config: unknown, req: RequestAttrs, kind: 'http' | 'network' = 'http', unknown: string[] = []): boolean | 'U' {
  const m = createPermission(config, '$', { kind });
  const ctx = buildContext(req, { kind, unknown });
  const r = m.matches(ctx);
  const e = m.explain(ctx);
  // The fast path and the trace always agree.
  const er = e.matched === 'undecidable' ? U : e.matched ? T : 0;
  if (er !== r) throw new Error(`matches/explain disagree: ${r} vs ${JSON.stringify(e)}`);
  return r === U ? 'U' : r === T;
}

export function prin(config: unknown, req: RequestAttrs, kind: 'http' | 'network' = 'http', unknown: string[] = [], routeMetadata?: Record<string, never>): boolean | 'U' {
  const m = createPrincipal(config, '$', { kind });
  const ctx = buildContext(req, { kind, unknown, routeMetadata });
  const r = m.matches(ctx);
  const e = m.explain(ctx);
  const er = e.matched === 'undecidable' ? U : e.matched ? T : 0;
  if (er !== r) throw new Error(`matches/explain disagree: ${r} vs ${JSON.stringify(e)}`);
  return r === U ? 'U' : r === T;
}
