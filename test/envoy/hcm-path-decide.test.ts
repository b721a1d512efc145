/**
 * The HTTP connection manager's path handling before RBAC, from the chain's own HCM config
 * (samples/details-path: Istio's default pathNormalization BASE = normalize_path true).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseConfigDump } from '../../src/readers/configdump/index.js';
import { decideRequest, decideWithFilter } from '../../src/envoy/decide.js';
import { parseRbacFilter } from '../../src/rbac/index.js';
import { explainText } from '../../src/rbac/index.js';
import type { RequestAttrs } from '../../src/model/attrs.js';

const FILE = new URL('../../samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json', import.meta.url);
const raw = JSON.parse(readFileSync(FILE, 'utf8')) as unknown;
const details = parseConfigDump(raw, 'details.json');
const productpage = 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage';

/** The sample dump with every HTTP connection manager's path fields replaced. */
function withHcm(fields: Record<string, unknown>) {
  const copy = JSON.parse(JSON.stringify(raw), (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && String((v as Record<string, unknown>)['@type'] ?? '').endsWith('.HttpConnectionManager')) {
      const o = { ...(v as Record<string, unknown>) };
      delete o.normalize_path;
      delete o.merge_slashes;
      delete o.path_with_escaped_slashes_action;
      return { ...o, ...fields };
    }
    return v;
  }) as unknown;
  return parseConfigDump(copy, 'details-variant.json');
}

const req = (path: string, headers: Record<string, string[]> = {}): RequestAttrs => ({
  destination: { address: '10.244.2.72', port: 9080 },
  tls: { uriSans: [productpage], dnsSans: [], subject: '', peerCertificateValidated: true },
  http: { method: 'GET', path, authority: 'details:9080', headers },
});

describe('normalize_path from the chain HCM before RBAC', () => {
  it('details-path: /details/../ping is normalised to /ping and denied (details-viewer allowed it before)', () => {
    const d = decideRequest(details, req('/details/../ping'));
    expect(d).toMatchObject({ decision: 'DENY', policy: null, responseCodeDetails: 'rbac_access_denied_matched_policy[none]', pathRewrite: { original: '/details/../ping', path: '/ping', steps: ['normalize_path'] } });
    expect(d.reasons!.join('\n')).toMatch(/rewrote :path "\/details\/\.\.\/ping" to "\/ping" .*Istio pathNormalization BASE/);
    expect(explainText(d)).toContain('path: "/ping" (rewritten by the HTTP connection manager from "/details/../ping") — needs prefix "/details/"');
    expect(decideRequest(details, req('/details/0')).decision).toBe('ALLOW');
  });
  it('%2e%2e is a dot segment too', () => {
    expect(decideRequest(details, req('/details/%2e%2E/ping')).decision).toBe('DENY');
    expect(decideRequest(details, req('/ping/%2e%2e/details/0'))).toMatchObject({ decision: 'ALLOW', pathRewrite: { path: '/details/0' } });
  });
  it('with normalize_path false (Istio NONE) the dot segments reach RBAC unchanged', () => {
    const none = withHcm({ normalize_path: false, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' });
    const d = decideRequest(none, req('/details/../ping'));
    expect(d.decision).toBe('ALLOW');
    expect(d.pathRewrite).toBeUndefined();
  });
  it('normalize_path unset is Envoy default false, said in the notes only when it matters', () => {
    const unset = withHcm({});
    expect(decideRequest(unset, req('/details/../ping')).decision).toBe('ALLOW');
  });
});

describe('merge_slashes and escaped slashes from the chain HCM', () => {
  it('MERGE_SLASHES: //details//0 is merged before route matching and RBAC', () => {
    const merge = withHcm({ normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' });
    const d = decideRequest(merge, req('//details//0'));
    expect(d).toMatchObject({ decision: 'ALLOW', pathRewrite: { path: '/details/0', steps: ['merge_slashes'] } });
    expect(d.reasons!.join(' ')).toContain('Istio pathNormalization MERGE_SLASHES');
    // BASE keeps the double slashes: "//details//0" does not start with "/details/".
    expect(decideRequest(details, req('//details//0')).decision).toBe('DENY');
  });
  it('DECODE_AND_MERGE_SLASHES (UNESCAPE_AND_FORWARD): %2F..%2F escapes the prefix after decoding', () => {
    const decode = withHcm({ normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD' });
    const d = decideRequest(decode, req('/details/x%2F..%2F..%2Fping'));
    expect(d).toMatchObject({ decision: 'DENY', pathRewrite: { path: '/ping', steps: ['unescape_slashes', 'normalize_path'] } });
    expect(d.reasons!.join(' ')).toContain('Istio pathNormalization DECODE_AND_MERGE_SLASHES');
    // KEEP_UNCHANGED (Istio BASE): the escaped slashes stay, and the path is still under /details/.
    expect(decideRequest(details, req('/details/x%2F..%2F..%2Fping')).decision).toBe('ALLOW');
  });
  it('REJECT_REQUEST: a 400 path_normalization_failed from the HCM, not an RBAC result', () => {
    const rej = withHcm({ normalize_path: true, path_with_escaped_slashes_action: 'REJECT_REQUEST' });
    const d = decideRequest(rej, req('/details/a%2Fb'));
    expect(d).toMatchObject({ decision: 'DENY', policy: null, responseCodeDetails: 'path_normalization_failed', filters: [], localReply: { by: 'http_connection_manager', status: 400, details: 'path_normalization_failed' } });
    expect(d.closestMiss).toBeUndefined();
    expect(explainText(d)).toMatch(/^DENY 400 path_normalization_failed .*\n {2}rejected by the HTTP connection manager before any HTTP filter \(not an RBAC result\)/);
  });
  it('UNESCAPE_AND_REDIRECT: a 307 to the unescaped path (400 for gRPC)', () => {
    const red = withHcm({ normalize_path: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_REDIRECT' });
    const d = decideRequest(red, req('/details%2F0'));
    expect(d).toMatchObject({ responseCodeDetails: 'path_normalization_failed', localReply: { status: 307, location: '/details/0' }, filters: [] });
    expect(explainText(d)).toContain('redirected to /details/0 by the HTTP connection manager');
    expect(decideRequest(red, req('/details%2F0', { 'content-type': ['application/grpc'] })).localReply).toMatchObject({ status: 400 });
    // No escaped slash: nothing to redirect, RBAC decides.
    expect(decideRequest(red, req('/details/0')).decision).toBe('ALLOW');
  });
  it('IMPLEMENTATION_SPECIFIC_DEFAULT is KEEP_UNCHANGED', () => {
    const def = withHcm({ normalize_path: true, path_with_escaped_slashes_action: 'IMPLEMENTATION_SPECIFIC_DEFAULT' });
    expect(decideRequest(def, req('/details/x%2F..%2F..%2Fping')).decision).toBe('ALLOW');
  });
  it('a fragment is a 400 before RBAC', () => {
    expect(decideRequest(details, req('/details/0#top')).localReply).toMatchObject({ status: 400, details: 'path_normalization_failed' });
  });
  it('a log record whose path is unknown is not normalised', () => {
    const d = decideRequest(details, req('/details/../ping'), { unknown: ['http.path'] });
    expect(d.pathRewrite).toBeUndefined();
  });
});

describe('bare RBAC filter configs have no HCM', () => {
  it('evaluate the path as given and say that an HCM may rewrite it', () => {
    const f = parseRbacFilter({ rules: { policies: { p: { permissions: [{ url_path: { path: { prefix: '/details/' } } }], principals: [{ any: true }] } } } }, { kind: 'http' });
    const d = decideWithFilter(f, req('/details/../ping'));
    expect(d.decision).toBe('ALLOW');
    expect(d.reasons!.join(' ')).toMatch(/evaluated as given: a bare RBAC filter config has no HTTP connection manager/);
    expect(decideWithFilter(f, req('/details/0')).reasons ?? []).toEqual([]);
  });
});

describe('host normalisation from the chain HCM (maybeNormalizeHost)', () => {
  it('strip_trailing_host_dot and strip_matching_host_port rewrite :authority before RBAC header matchers', () => {
    const withHost = withHcm({ normalize_path: true, strip_trailing_host_dot: true, strip_matching_host_port: true });
    const notes = (d: ReturnType<typeof decideRequest>) => d.reasons!.join(" ");
    const r = { ...req('/details/0'), http: { method: 'GET', path: '/details/0', authority: 'details.:9080', headers: {} } };
    const d = decideRequest(withHost, r);
    expect(notes(d)).toContain('rewrote :authority "details.:9080" to "details"');
    const other = { ...r, http: { ...r.http, authority: 'details:8080' } };
    expect(decideRequest(withHost, other).reasons!.join(' ')).not.toContain(':authority');
    const any = withHcm({ normalize_path: true, strip_any_host_port: true });
    expect(decideRequest(any, other).reasons!.join(' ')).toContain('rewrote :authority "details:8080" to "details"');
    expect(decideRequest(details, r).reasons!.join(' ')).not.toContain(':authority');
  });
});

describe('replaying logs against a config whose HCM rejects the path', () => {
  it('a served request that the proposed HCM would reject is a change to its 400, not to an RBAC policy', async () => {
    const { decisionChange, explainRecord } = await import('../../src/analysis/explain.js');
    const rej = withHcm({ normalize_path: true, path_with_escaped_slashes_action: 'REJECT_REQUEST' });
    const rec = {
      ref: { file: 'details.log', line: 1 }, kind: 'http' as const, attrs: req('/details/a%2Fb'), unknown: [], fields: {},
      responseCode: 200, responseCodeDetails: 'via_upstream', upstreamHost: '10.244.2.72:9080',
    };
    const c = decisionChange(explainRecord(rec, (r, o) => decideRequest(rej, r, { unknown: o.unknown })));
    expect(c).toMatchObject({ before: { decision: 'ALLOW', source: 'log' }, after: { decision: 'DENY', policy: 'path_normalization_failed' } });
  });
});
