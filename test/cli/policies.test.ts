/** `meshsleuth policies`: table, --summary (istioctl golden), JSON/YAML, bad input → exit 2 without a stack trace. */
import { describe, expect, it } from 'vitest';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runCli as runCliOnce, SHARED, hasShared, REPO, type CliResult, describeShared } from '../helpers/cli.js';

/**
 * Other areas' test runs rebuild dist/ concurrently (vitest globalSetup runs tsc); a CLI started while
 * a module is being rewritten fails to load (exit 1 with a module/syntax error before our code runs).
 * Retry only that case, so real failures still fail.
 */
async function runCli(args: string[]): Promise<CliResult> {
  let r = await runCliOnce(args);
  for (let i = 0; i < 3 && r.code === 1 && /SyntaxError|ERR_MODULE_NOT_FOUND|Cannot find module|does not provide an export/.test(r.stderr); i++) {
    await new Promise((res) => setTimeout(res, 1500));
    r = await runCliOnce(args);
  }
  return r;
}

const FX = `${REPO}test/fixtures/configdump/`;
const AUTHZ = `${SHARED}fixtures/istio/istioctl/pkg/authz/testdata/configdump.yaml`;

describe('meshsleuth policies', () => {
  it('prints RBAC filters per chain with dry-run and AUDIT marked, and the per-port mTLS modes', async () => {
    const r = await runCli(['policies', FX + 'port-override.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('PROXY httpbin-5d8f9c7b6-x2x9z.foo (10.1.2.3), Istio 1.22.0');
    expect(r.stdout).toMatch(/http rbac\s+AUDIT\s+enforced\s+audit-all\.foo\[0\]/);
    expect(r.stdout).toMatch(/http rbac\s+DENY\s+shadow \(dry-run\)\s+block-admin\.foo\[0\] \(dry-run\)/);
    expect(r.stdout).toMatch(/network rbac\s+ALLOW\s+enforced\s+ALLOW with no policies: DENIES EVERYTHING/);
    expect(r.stdout).toMatch(/virtualInbound\s+8080\s+STRICT \(port override\)/);
    expect(r.stdout).toMatch(/virtualInbound\s+9090\s+DISABLE \(port override\)/);
    expect(r.stdout).toMatch(/virtualInbound\s+\*\s+PERMISSIVE/);
  });

  it('-o json: proxies[].listeners[].chains[].filters[] with decoded policies, counts and mtls', async () => {
    const r = await runCli(['policies', FX + 'permissive.json', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    const p = j.proxies[0];
    expect(p.counts).toMatchObject({ httpRbac: 6, networkRbac: 3, httpExtAuthz: 0 });
    expect(p.mtls[0]).toMatchObject({ listener: 'virtualInbound', port: '*', mode: 'PERMISSIVE' });
    const chain = p.listeners[0].chains[1];
    expect(chain).toMatchObject({ name: 'virtualInbound-catchall-http', security: 'mtls', transportProtocol: 'tls', requireClientCertificate: true, sdsCerts: ['default'] });
    expect(chain.filters.map((f: { rules: { action: string } | null; role: string }) => [f.rules?.action ?? null, f.role])).toEqual([
      ['LOG', 'enforce'],
      [null, 'dry-run'],
      ['ALLOW', 'enforce'],
    ]);
    expect(chain.filters[2].policies[0]).toMatchObject({ id: 'ns[foo]-policy[viewer]-rule[0]', namespace: 'foo', policy: 'viewer', rule: 0, istioAction: 'ALLOW', enforced: true, permissions: 1, principals: 1 });
  });

  it('-o yaml parses to the same document as -o json', async () => {
    const [a, b] = await Promise.all([runCli(['policies', FX + 'strict.json', '-o', 'json']), runCli(['policies', FX + 'strict.json', '-o', 'yaml'])]);
    expect(parseYaml(b.stdout)).toEqual(JSON.parse(a.stdout));
  });

  it('reads a dump from standard input with -', async () => {
    const { readFileSync } = await import('node:fs');
    const r = await runCliOnce(['policies', '-', '--summary'], { input: readFileSync(FX + 'strict.json') });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('ALLOW    viewer.foo                  1');
  });

  it('accepts camelCase YAML (istioctl proxy-config -o yaml)', async () => {
    const r = await runCli(['policies', FX + 'permissive-camel.yaml', '--summary']);
    expect(r.code, r.stderr).toBe(0);
    // istioctl counts the shadow-only dry-run DENY filter as ALLOW _anonymous_match_nothing_ (GetRules() is nil) and prints AUDIT as LOG
    expect(r.stdout).toBe(['ACTION   AuthorizationPolicy         RULES', 'ALLOW    _anonymous_match_nothing_   1', 'ALLOW    viewer.foo                  1', 'LOG      audit-all.foo               1', ''].join('\n'));
  });
});

describeShared('meshsleuth policies on real dumps (needs ../shared)', () => {
  it('--summary reproduces the istioctl x authz check golden for configdump.yaml', async () => {
    const r = await runCli(['policies', AUTHZ, '--summary']);
    expect(r.stderr).toBe('');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(['ACTION   AuthorizationPolicy         RULES', 'ALLOW    _anonymous_match_nothing_   1', 'ALLOW    httpbin.default             1', 'CUSTOM   ext-authz.default           1', ''].join('\n'));
  });

  it('shows strictly more than istioctl: per-chain placement, the CUSTOM marker + ext_authz provider, deny-all TCP, and modes', async () => {
    const r = await runCli(['policies', AUTHZ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('RBAC filters: 10 HTTP, 3 network (8 enforcing, 5 shadow-only); ext_authz: 5 HTTP, 0 network');
    expect(r.stdout).toMatch(/http rbac\s+CUSTOM\s+shadow \(CUSTOM marker\)\s+ext-authz\.default\[0\] \(custom\)/);
    expect(r.stdout).toMatch(/http ext_authz\s+CUSTOM\s+enforced\s+ext_authz → grpc outbound\|9191\|\|sample-ext-authz-grpc/);
    expect(r.stdout).toMatch(/virtualInbound\s+80\s+PERMISSIVE/);
    expect(r.stdout).toMatch(/connect_terminate\s+15008\s+STRICT/);
  });

  it('runs cleanly on every dump in fixtures/istio (a directory argument)', async () => {
    const r = await runCli(['policies', `${SHARED}fixtures/istio/istioctl`, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.proxies.length).toBe(17);
    expect(r.stderr).toMatch(/file skipped: not a config dump/); // goldens such as ecds/output.json are JSON but not dumps
  });
});

describe('meshsleuth policies: bad input exits 2 with one line and no stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-policies-'));
  const cases: [string, string | Buffer, RegExp][] = [
    ['capture.pcap', Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0]), /capture\.pcap, offset 0: expected a JSON or YAML document, found a pcap capture \(binary\)$/],
    ['random.json', '{"kind": "Pod", "metadata": {"name": "x"}}', /random\.json, at \$: expected an Envoy config \(an admin config dump .*, found an object with keys "kind", "metadata"$/],
    ['truncated.json', '{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump", "dynamic_listeners": [{"na', /truncated\.json, line 1, offset \d+: expected valid JSON, found the end of the file \(truncated JSON\)$/],
    ['wrong.yaml', 'configs:\n  - "@type": type.googleapis.com/envoy.admin.v3.ListenersConfigDump\n    static_listeners: {a: 1}\n', /wrong\.yaml, at \$\.configs\[0\]\.static_listeners: expected an array of static listeners, found an object with keys "a"$/],
  ];
  for (const [name, content, re] of cases) {
    it(name, async () => {
      const f = join(dir, name);
      writeFileSync(f, content);
      const r = await runCli(['policies', f]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(re);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }
  it('a missing file', async () => {
    const r = await runCli(['policies', join(dir, 'nope.json')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim()).toMatch(/nope\.json: no such file or directory$/);
  });
});
