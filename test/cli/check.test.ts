import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, SHARED, hasShared, describeShared } from '../helpers/cli.js';

let dir = '';
const rbac = {
  '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
  rules: {
    policies: {
      'ns[default]-policy[details]-rule[0]': {
        permissions: [{ header: { name: ':method', string_match: { exact: 'GET' } } }],
        principals: [{ authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage' } } }],
      },
    },
  },
};
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshsleuth-check-'));
  writeFileSync(join(dir, 'rbac.json'), JSON.stringify(rbac));
  writeFileSync(join(dir, 'rules.yaml'), 'action: DENY\npolicies:\n  deny-admin:\n    permissions: [{urlPath: {path: {prefix: /admin}}}]\n    principals: [{any: true}]\n');
  writeFileSync(join(dir, 'bad.yaml'), 'rules:\n  policies:\n    p:\n      permissions: [{header: {name: x, stringMatch: {prefix: ""}}}]\n      principals: [{any: true}]\n');
  writeFileSync(join(dir, 'reqs.ndjson'), [
    JSON.stringify({ http: { method: 'GET', path: '/' }, tls: { uriSans: ['spiffe://cluster.local/ns/default/sa/bookinfo-productpage'] } }),
    JSON.stringify({ http: { method: 'GET', path: '/' } }),
    '',
  ].join('\n'));
});

describe('meshsleuth check (bare RBAC configs)', () => {
  it('explains a plaintext deny in text', async () => {
    const r = await runCli(['check', join(dir, 'rbac.json'), '--plaintext', '--method', 'GET', '--path', '/details/0']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('DENY rbac_access_denied_matched_policy[none]');
    expect(r.stdout).toContain('principal: none (plaintext connection) — needs authenticated spiffe://cluster.local/ns/default/sa/bookinfo-productpage');
  });
  it('--from gives mTLS with that SPIFFE id; -o json has the contract fields', async () => {
    const r = await runCli(['check', join(dir, 'rbac.json'), '--from', 'cluster.local/ns/default/sa/bookinfo-productpage', '--method', 'GET', '-o', 'json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d).toMatchObject({ decision: 'ALLOW', policy: 'ns[default]-policy[details]-rule[0]', responseCodeDetails: null });
    expect(d.filters[0]).toMatchObject({ name: 'envoy.filters.http.rbac', action: 'ALLOW', shadow: false, result: 'ALLOW', effectivePolicy: 'ns[default]-policy[details]-rule[0]' });
    expect(d.filters[0].policies[0]).toHaveProperty('trace');
  });
  it('a bare camelCase rules object in YAML; -H headers; DENY names the policy', async () => {
    const r = await runCli(['check', join(dir, 'rules.yaml'), '--path', '/admin/users', '-H', 'x-a: b', '-o', 'json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ decision: 'DENY', policy: 'deny-admin', responseCodeDetails: 'rbac_access_denied_matched_policy[deny-admin]' });
  });
  it('NDJSON in → NDJSON out', async () => {
    const r = await runCli(['check', join(dir, 'rbac.json'), '--request', `@${join(dir, 'reqs.ndjson')}`, '-o', 'ndjson']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.decision)).toEqual(['ALLOW', 'DENY']);
    expect(lines[1].closestMiss[0].policy).toBe('ns[default]-policy[details]-rule[0]');
  });
  it('NDJSON with a malformed line: the others are decided, the bad one is named, exit 2', async () => {
    const r = await runCli(['check', join(dir, 'rbac.json'), '--request', '@-', '-o', 'ndjson'], { input: '{"http":{"method":"GET"}}\n{"http":{"method":7}}\n{oops\n{"http":{"method":"POST"}}\n' });
    expect(r.code).toBe(2);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
    expect(r.stderr).toContain('line 2');
    expect(r.stderr).toContain('$.http.method');
    expect(r.stderr).toContain('line 3');
    expect(r.stderr).toContain('2 of 4 requests skipped');
  });
  it('--no-trace gives the decision without per-policy traces', async () => {
    const r = await runCli(['check', join(dir, 'rbac.json'), '--plaintext', '--method', 'GET', '--no-trace', '-o', 'json']);
    const d = JSON.parse(r.stdout);
    expect(d.decision).toBe('DENY');
    expect(d.filters[0].policies).toEqual([]);
  });
  it('NDJSON on stdin with @-', async () => {
    const r = await runCli(['check', join(dir, 'rbac.json'), '--request', '@-', '-o', 'ndjson'], { input: '{"http":{"method":"POST"}}\n{"http":{"method":"GET"}}\n' });
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
  });
  it('malformed request JSON → exit 2 naming the field', async () => {
    const r = await runCli(['check', join(dir, 'rbac.json'), '--request', '{"destination":{"address":"10.0.0.1","port":"http"}}']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('$.destination.port');
    const r2 = await runCli(['check', join(dir, 'rbac.json'), '--request', '{"tls":{"uriSans":"x"}}']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('$.tls.uriSans');
    const r3 = await runCli(['check', join(dir, 'rbac.json'), '--request', '{"htpp":{}}']);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain('$.htpp');
  });
  it('invalid RBAC → exit 2 with JSON path and Envoy-style reason', async () => {
    const r = await runCli(['check', join(dir, 'bad.yaml'), '--method', 'GET']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('$.rules.policies.p.permissions[0].header.string_match.prefix');
    expect(r.stderr).toContain('StringMatcherValidationError.Prefix: value length must be at least 1 characters');
  });
  it('a missing config file → exit 2', async () => {
    const r = await runCli(['check', join(dir, 'nope.json')]);
    expect(r.code).toBe(2);
  });
  it('secret header values are redacted in traces', async () => {
    writeFileSync(join(dir, 'auth.json'), JSON.stringify({ rules: { policies: { p: { permissions: [{ header: { name: 'authorization', string_match: { exact: 'Bearer good' } } }], principals: [{ any: true }] } } } }));
    const r = await runCli(['check', join(dir, 'auth.json'), '-H', 'authorization: Bearer s3cr3t', '-o', 'json']);
    expect(r.stdout).not.toContain('s3cr3t');
    expect(r.stdout).toContain('Bearer [redacted]');
  });
});

describeShared('meshsleuth check on real fixture dumps (needs ../shared)', () => {
  const dump = `${SHARED}fixtures/istio/istioctl/pkg/authz/testdata/configdump.yaml`;
  it('plaintext GET /info to port 80 of the httpbin sidecar is denied, with the closest miss', async () => {
    const r = await runCli(['check', dump, '--plaintext', '--dest-ip', '10.244.0.5', '--port', '80', '--method', 'GET', '--path', '/info']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('DENY rbac_access_denied_matched_policy[none] (listener virtualInbound, chain 0.0.0.0_80)');
    expect(r.stdout).toContain('ns[default]-policy[httpbin]-rule[0]');
  });
  it('mTLS from sleep with the JWT claim reaches the CUSTOM ext_authz provider: UNDECIDABLE', async () => {
    const req = JSON.stringify({ metadata: { istio_authn: { 'request.auth.claims': { iss: ['https://accounts.google.com'] } } } });
    const r = await runCli(['check', dump, '--request', req, '--from', 'spiffe://cluster.local/ns/default/sa/sleep', '--dest-ip', '10.244.0.5', '--port', '80', '--method', 'GET', '--path', '/info', '-o', 'json']);
    const d = JSON.parse(r.stdout);
    expect(d.decision).toBe('UNDECIDABLE');
    expect(d.reasons.join(' ')).toContain('would be sent to ext_authz provider');
  });
  it('a Istio builder golden (camelCase filter entry) works as a bare config', async () => {
    const g = `${SHARED}fixtures/istio/pilot/pkg/security/authz/builder/testdata/http/deny-and-allow-out1.yaml`;
    const r = await runCli(['check', g, '--from', 'spiffe://deny', '-o', 'json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ decision: 'DENY', policy: 'ns[foo]-policy[httpbin-deny]-rule[0]' });
  });
});
