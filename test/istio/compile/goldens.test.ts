/**
 * Every golden pair istiod's builder tests use (pilot/pkg/security/authz/builder/testdata/{http,tcp})
 * must compile to the same filters: same names, policies and structure (the policy map is
 * order-insensitive, as in Envoy; everything else is compared in order).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { hasShared, SHARED, describeShared } from '../../helpers/cli.js';
import { parseK8sObjects } from '../../../src/readers/k8s.js';
import { compileForWorkload, type CompileOptions, type ExtensionProvider } from '../../../src/istio/compile/index.js';
import { toSnakeCase } from '../../../src/envoy/normalize.js';

const DIR = `${SHARED}fixtures/istio/pilot/pkg/security/authz/builder/testdata/`;
const workload = { namespace: 'foo', labels: { app: 'httpbin', version: 'v1' }, ports: [] };

// The MeshConfig extension providers of builder_test.go.
const grpcNoNamespace: ExtensionProvider[] = [{ name: 'default', envoyExtAuthzGrpc: { service: 'my-custom-ext-authz.foo.svc.cluster.local', port: 9000, failOpen: true, statusOnError: '403' } }];
const grpc: ExtensionProvider[] = [{ name: 'default', envoyExtAuthzGrpc: { service: 'foo/my-custom-ext-authz.foo.svc.cluster.local', port: 9000, timeout: '0.002s', failOpen: true, statusOnError: '403', includeRequestBodyInCheck: { maxRequestBytes: 4096, allowPartialMessage: true } } }];
const http: ExtensionProvider[] = [{
  name: 'default',
  envoyExtAuthzHttp: {
    service: 'foo/my-custom-ext-authz.foo.svc.cluster.local', port: 9000, timeout: '10s', failOpen: true, statusOnError: '403', pathPrefix: '/check',
    includeRequestHeadersInCheck: ['x-custom-id', 'x-prefix-*', '*-suffix'],
    includeHeadersInCheck: ['should-not-include-when-IncludeRequestHeadersInCheck-is-set'],
    includeAdditionalHeadersInCheck: { 'x-header-1': 'value-1', 'x-header-2': 'value-2' },
    includeRequestBodyInCheck: { maxRequestBytes: 2048, allowPartialMessage: true, packAsBytes: true },
    headersToUpstreamOnAllow: ['Authorization', 'x-prefix-*', '*-suffix'],
    headersToDownstreamOnDeny: ['Set-cookie', 'x-prefix-*', '*-suffix'],
    headersToDownstreamOnAllow: ['Set-cookie', 'x-prefix-*', '*-suffix'],
  },
}];
const invalid: ExtensionProvider[] = [{ name: 'default', envoyExtAuthzHttp: { service: 'foo/my-custom-ext-authz', port: 999999, pathPrefix: 'check', statusOnError: '999' } }];

interface Case { name: string; input: string; want: string[]; opts?: CompileOptions }

const httpCases: Case[] = [
  { name: 'allow-empty-rule', input: 'allow-empty-rule-in.yaml', want: ['allow-empty-rule-out.yaml'] },
  { name: 'allow-full-rule', input: 'allow-full-rule-in.yaml', want: ['allow-full-rule-out.yaml'] },
  { name: 'allow-nil-rule', input: 'allow-nil-rule-in.yaml', want: ['allow-nil-rule-out.yaml'] },
  { name: 'allow-path', input: 'allow-path-in.yaml', want: ['allow-path-out.yaml'] },
  { name: 'audit-full-rule', input: 'audit-full-rule-in.yaml', want: ['audit-full-rule-out.yaml'] },
  { name: 'custom-grpc-provider-no-namespace', input: 'custom-simple-http-in.yaml', want: ['custom-grpc-provider-no-namespace-out1.yaml', 'custom-grpc-provider-no-namespace-out2.yaml'], opts: { extensionProviders: grpcNoNamespace } },
  { name: 'custom-grpc-provider', input: 'custom-simple-http-in.yaml', want: ['custom-grpc-provider-out1.yaml', 'custom-grpc-provider-out2.yaml'], opts: { extensionProviders: grpc } },
  { name: 'custom-http-provider', input: 'custom-simple-http-in.yaml', want: ['custom-http-provider-out1.yaml', 'custom-http-provider-out2.yaml'], opts: { extensionProviders: http } },
  { name: 'custom-bad-multiple-providers', input: 'custom-bad-multiple-providers-in.yaml', want: ['custom-bad-multiple-providers-out1.yaml', 'custom-bad-multiple-providers-out2.yaml'], opts: { extensionProviders: http } },
  { name: 'custom-bad-invalid-config', input: 'custom-simple-http-in.yaml', want: ['custom-bad-out.yaml'], opts: { extensionProviders: invalid } },
  { name: 'deny-and-allow', input: 'deny-and-allow-in.yaml', want: ['deny-and-allow-out1.yaml', 'deny-and-allow-out2.yaml'] },
  { name: 'deny-empty-rule', input: 'deny-empty-rule-in.yaml', want: ['deny-empty-rule-out.yaml'] },
  { name: 'dry-run-allow-and-deny', input: 'dry-run-allow-and-deny-in.yaml', want: ['dry-run-allow-and-deny-out1.yaml', 'dry-run-allow-and-deny-out2.yaml'] },
  { name: 'dry-run-allow', input: 'dry-run-allow-in.yaml', want: ['dry-run-allow-out.yaml'] },
  { name: 'dry-run-mix', input: 'dry-run-mix-in.yaml', want: ['dry-run-mix-out.yaml'] },
  { name: 'multiple-policies', input: 'multiple-policies-in.yaml', want: ['multiple-policies-out.yaml'] },
  { name: 'single-policy', input: 'single-policy-in.yaml', want: ['single-policy-out.yaml'] },
  { name: 'trust-domain-one-alias', input: 'simple-policy-td-aliases-in.yaml', want: ['simple-policy-td-aliases-out.yaml'], opts: { trustDomain: 'td1', trustDomainAliases: ['cluster.local'] } },
  { name: 'trust-domain-multiple-aliases', input: 'simple-policy-multiple-td-aliases-in.yaml', want: ['simple-policy-multiple-td-aliases-out.yaml'], opts: { trustDomain: 'td1', trustDomainAliases: ['cluster.local', 'some-td'] } },
  { name: 'trust-domain-wildcard-in-principal', input: 'simple-policy-principal-with-wildcard-in.yaml', want: ['simple-policy-principal-with-wildcard-out.yaml'], opts: { trustDomain: 'td1', trustDomainAliases: ['foobar'] } },
  { name: 'trust-domain-aliases-in-source-principal', input: 'td-aliases-source-principal-in.yaml', want: ['td-aliases-source-principal-out.yaml'], opts: { trustDomain: 'new-td', trustDomainAliases: ['old-td', 'some-trustdomain'] } },
  { name: 'trust-domains-field', input: 'trust-domains-in.yaml', want: ['trust-domains-out.yaml'] },
  // Not referenced by the current Go test: hosts rendered for proxies before 1.11.
  { name: 'allow-host-before-111', input: 'allow-host-before-111-in.yaml', want: ['allow-host-before-111-out.yaml'], opts: { istioVersion: '1.10' } },
];

const tcpCases: Case[] = [
  { name: 'allow-both-http-tcp', input: 'allow-both-http-tcp-in.yaml', want: ['allow-both-http-tcp-out.yaml'] },
  { name: 'allow-only-http', input: 'allow-only-http-in.yaml', want: ['allow-only-http-out.yaml'] },
  { name: 'audit-both-http-tcp', input: 'audit-both-http-tcp-in.yaml', want: ['audit-both-http-tcp-out.yaml'] },
  { name: 'custom-both-http-tcp', input: 'custom-both-http-tcp-in.yaml', want: ['custom-both-http-tcp-out1.yaml', 'custom-both-http-tcp-out2.yaml'], opts: { extensionProviders: grpc } },
  { name: 'custom-only-http', input: 'custom-only-http-in.yaml', want: [], opts: { extensionProviders: http } },
  { name: 'deny-both-http-tcp', input: 'deny-both-http-tcp-in.yaml', want: ['deny-both-http-tcp-out.yaml'] },
  { name: 'dry-run-mix', input: 'dry-run-mix-in.yaml', want: ['dry-run-mix-out.yaml'] },
];

function compile(dir: string, c: Case, forTCP: boolean) {
  const file = `${DIR}${dir}/${c.input}`;
  const { objects } = parseK8sObjects(readFileSync(file, 'utf8'), file);
  // The goldens come from istio master; the version-specific cases pin their own version.
  const out = compileForWorkload(objects, workload, { istioVersion: 'master', ...c.opts });
  return forTCP ? out.tcpFilters : out.httpFilters;
}

function want(dir: string, name: string): unknown {
  return toSnakeCase(parseYaml(readFileSync(`${DIR}${dir}/${name}`, 'utf8')));
}

describeShared('istiod builder goldens (needs ../shared)', () => {
  for (const [dir, cases] of [['http', httpCases], ['tcp', tcpCases]] as const) {
    describe(dir, () => {
      for (const c of cases) {
        it(`${c.name} compiles to ${c.want.join(', ') || 'no filter'}`, () => {
          const got = compile(dir, c, dir === 'tcp');
          expect(got.map((g) => g.name)).toEqual(c.want.map((w) => (want(dir, w) as { name: string }).name));
          got.forEach((g, i) => expect(g).toEqual(want(dir, c.want[i]!)));
        });
      }
    });
  }

  it('the default rendering (current release) gives the same filters for every golden that does not need master', () => {
    for (const [dir, cases] of [['http', httpCases], ['tcp', tcpCases]] as const) {
      for (const c of cases.filter((x) => x.name !== 'trust-domains-field' && !x.opts?.istioVersion)) {
        const file = `${DIR}${dir}/${c.input}`;
        const { objects } = parseK8sObjects(readFileSync(file, 'utf8'), file);
        const out = compileForWorkload(objects, workload, { ...c.opts });
        expect(dir === 'tcp' ? out.tcpFilters : out.httpFilters, `${dir}/${c.name}`).toEqual(c.want.map((w) => want(dir, w)));
      }
    }
  });

  it('covers every golden output file in the fixture directories', () => {
    const used = new Set([...httpCases.flatMap((c) => c.want.map((w) => `http/${w}`)), ...tcpCases.flatMap((c) => c.want.map((w) => `tcp/${w}`))]);
    const outs = ['http', 'tcp'].flatMap((d) => readdirSync(`${DIR}${d}`).filter((f) => /-out\d?\.yaml$/.test(f) && !f.startsWith('extended-')).map((f) => `${d}/${f}`));
    expect(outs.filter((o) => !used.has(o))).toEqual([]);
  });

  it('the extended-* twins are byte-identical to the plain goldens we compare against', () => {
    for (const f of readdirSync(`${DIR}http`).filter((x) => x.startsWith('extended-'))) {
      expect(readFileSync(`${DIR}http/${f}`, 'utf8')).toBe(readFileSync(`${DIR}http/${f.slice('extended-'.length)}`, 'utf8'));
    }
  });
});
