/** Policies istiod (or the API server's CRD schema) would reject get istiod's complaint, with file, line and path. */
import { describe, expect, it } from 'vitest';
import { parseK8sObjects } from '../../../src/readers/k8s.js';
import { compileForWorkload } from '../../../src/istio/compile/index.js';

const w = { namespace: 'foo', name: 'httpbin', labels: { app: 'httpbin' }, ports: [] };
const compile = (yaml: string, istioVersion?: string) => compileForWorkload(parseK8sObjects(yaml, 'p.yaml').objects, w, { istioVersion });
const ap = (spec: string, name = 'p') => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: ${name}\n  namespace: foo\nspec:\n${spec}`;

describe('AuthorizationPolicy validation', () => {
  it('selector and targetRef together', () => {
    const c = compile(ap('  selector:\n    matchLabels: {app: httpbin}\n  targetRef: {kind: Service, name: httpbin}\n  rules: [{}]\n'));
    expect(c.httpFilters).toEqual([]);
    expect(c.diagnostics).toEqual([{ severity: 'error', location: { file: 'p.yaml', line: 7, path: 'doc[0].spec' }, message: 'invalid policy p.foo: only one of targetRefs or workloadSelector can be set (istiod rejects it; skipped)' }]);
  });

  it('DENY without rules, CUSTOM without provider, provider on ALLOW', () => {
    expect(compile(ap('  action: DENY\n')).diagnostics[0]!.message).toBe('invalid policy p.foo: DENY action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request (istiod rejects it; skipped)');
    expect(compile(ap('  action: CUSTOM\n  rules: [{}]\n')).diagnostics[0]!.message).toContain('`provider.name` must not be empty');
    expect(compile(ap('  provider: {name: x}\n  rules: [{}]\n')).diagnostics[0]!.message).toContain('`provider` must not be with non CUSTOM action, found ALLOW');
  });

  it('CUSTOM with identity fields', () => {
    const c = compile(ap('  action: CUSTOM\n  provider: {name: x}\n  rules:\n  - from:\n    - source: {principals: ["a"]}\n'));
    expect(c.diagnostics[0]!.message).toContain('From.Principals is currently not supported with CUSTOM action');
    expect(c.diagnostics[0]!.location).toMatchObject({ line: 11, path: 'doc[0].spec.rules[0].from[0].source.principals' });
  });

  it('empty from/source/operation, bad ports and IPs, bad when keys', () => {
    const m = compile(ap('  rules:\n  - from: []\n  - from: [{source: {}}]\n  - to: [{operation: {ports: ["70000"]}}]\n  - from: [{source: {ipBlocks: ["1.2.3"]}}]\n  - when: [{key: "request.foo", values: ["x"]}]\n  - when: [{key: "source.ip"}]\n')).diagnostics[0]!.message;
    for (const part of ['`from` must not be empty, found at rule 0', '`from.source` must not be empty, found at rule 1', 'bad port (70000): <nil>', 'bad IP address (1.2.3)', 'invalid `value` for `key` request.foo: unknown attribute: request.foo', 'at least one of `values` or `notValues` must be set for key source.ip']) {
      expect(m).toContain(part);
    }
  });

  it('serviceAccounts together with principals; serviceAccounts before 1.25 is an unknown field', () => {
    expect(compile(ap('  rules:\n  - from: [{source: {serviceAccounts: ["a"], principals: ["b"]}}]\n')).diagnostics[0]!.message).toContain('cannot set serviceAccounts with namespaces or principals, found at rule 0');
    const old = compile(ap('  rules:\n  - from: [{source: {serviceAccounts: ["a"]}}]\n'), '1.24');
    expect(old.diagnostics[0]!.message).toContain('strict decoding error: unknown field "spec.rules[0].from[0].source.serviceAccounts"');
  });

  it('typos are unknown fields (the CRD schema rejects them), with the line of the field', () => {
    const c = compile(ap('  rules:\n  - to:\n    - operation:\n        method: ["GET"]\n'));
    expect(c.diagnostics[0]).toEqual({ severity: 'error', location: { file: 'p.yaml', line: 10, path: 'doc[0].spec.rules[0].to[0].operation.method' }, message: 'AuthorizationPolicy p: strict decoding error: unknown field "spec.rules[0].to[0].operation.method" (the API server rejects it; skipped)' });
  });

  it('integer ports are a schema error, as the API server reports it', () => {
    const c = compile(ap('  rules:\n  - to: [{operation: {ports: [8080]}}]\n'));
    expect(c.diagnostics[0]!.message).toBe('AuthorizationPolicy p: spec.rules[0].to[0].operation.ports[0]: Invalid value: "integer": spec.rules[0].to[0].operation.ports[0] in body must be of type string: "integer" (the API server rejects it; skipped)');
  });

  it('a policy defined twice: the later definition wins, with a warning', () => {
    const c = compile(ap('  action: DENY\n  rules: [{}]\n') + '---\n' + ap('  rules: [{}]\n'));
    expect(c.policies.map((p) => p.action)).toEqual(['ALLOW']);
    expect(c.diagnostics[0]!.message).toBe('AuthorizationPolicy foo/p is defined again at p.yaml:10; the later definition is used');
  });

  it('path templates must be whole segments', () => {
    expect(compile(ap('  rules:\n  - to: [{operation: {paths: ["/{*}/foo/{bar}"]}}]\n')).diagnostics[0]!.message).toContain('invalid or unsupported path template, found in Paths');
    expect(compile(ap('  rules:\n  - to: [{operation: {notPaths: ["/{**}/*"]}}]\n')).diagnostics[0]!.message).toContain('invalid or unsupported path template, found in NotPaths');
    // Like istiod, the key checks run for `values` and again for (even absent) `notValues`.
    const m = compile(ap('  rules:\n  - when: [{key: "request.headers", values: ["x"]}, {key: "destination.labels[app]", values: ["x"]}, {key: "remote.ip", values: ["10.0.0.0/33"]}]\n')).diagnostics[0]!.message;
    expect(m).toContain('invalid `value` for `key` request.headers: bad key (request.headers): should have format a[b]; invalid `notValue` for `key` request.headers: bad key (request.headers): should have format a[b]');
    expect(m).toContain('invalid `value` for `key` destination.labels[app]: attribute destination.labels[app] is replaced by the workload selector');
    expect(m).toContain('invalid `value` for `key` remote.ip: bad CIDR range (10.0.0.0/33): netip.ParsePrefix("10.0.0.0/33"): prefix length out of range (istiod rejects it; skipped)');
    expect(compile(ap('  rules:\n  - to: [{operation: {paths: ["/a/{*}/b/{**}"]}}]\n')).diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('a valid policy next to an invalid one still compiles', () => {
    const c = compile(ap('  rules: [{}]\n', 'good') + '---\n' + ap('  action: DENY\n', 'bad'));
    expect(c.policies.map((p) => p.name)).toEqual(['good']);
    expect(c.httpFilters).toHaveLength(1);
  });

  it('targetRef policies are valid but bind to gateways/waypoints, not to the sidecar', () => {
    const c = compile(ap('  targetRefs: [{kind: Service, group: "", name: httpbin}]\n  rules: [{}]\n'));
    expect(c.httpFilters).toEqual([]);
    expect(c.diagnostics[0]!.message).toContain('uses targetRef(s), which bind to gateways/waypoints, not sidecars');
  });
});

describe('selection', () => {
  it('root-namespace policies apply mesh-wide; other namespaces do not; selectors must match', () => {
    const yaml = [
      ap('  rules: [{}]\n', 'own'),
      ap('  rules: [{}]\n', 'mesh').replace('namespace: foo', 'namespace: istio-system'),
      ap('  rules: [{}]\n', 'other').replace('namespace: foo', 'namespace: bar'),
      ap('  selector: {matchLabels: {app: other}}\n  rules: [{}]\n', 'unselected'),
      ap('  selector: {matchLabels: {app: httpbin}}\n  rules: [{}]\n', 'selected'),
    ].join('---\n');
    expect(compile(yaml).policies.map((p) => `${p.namespace}/${p.name}`)).toEqual(['foo/own', 'istio-system/mesh', 'foo/selected']);
  });
});

describe('version-dependent rendering', () => {
  const yaml = ap('  rules:\n  - from: [{source: {principals: ["cluster.local/ns/default/sa/a"], namespaces: ["x"]}}]\n    to: [{operation: {hosts: ["Example.com"], methods: ["GET"], paths: ["/a/{*}"]}}]\n');
  const principals = (v: string) => JSON.stringify(compile(yaml, v).httpFilters[0]!.typed_config);

  it('1.10: istio_authn metadata principals without spiffe://, (?i) host regex, exact_match headers', () => {
    const s = principals('1.10');
    expect(s).toContain('{"metadata":{"filter":"istio_authn","path":[{"key":"source.principal"}],"value":{"string_match":{"exact":"cluster.local/ns/default/sa/a"}}}}');
    expect(s).toContain('"safe_regex_match":{"regex":"(?i)Example\\\\.com"}');
    expect(s).toContain('"exact_match":"GET"');
    // before 1.22 a template is just a literal path
    expect(s).toContain('{"url_path":{"path":{"exact":"/a/{*}"}}}');
  });

  it('1.19: filter_state peer principal; 1.20+: authenticated, string_match, ignore_case hosts', () => {
    expect(principals('1.19')).toContain('"filter_state":{"key":"io.istio.peer_principal"');
    const s = principals('1.20');
    expect(s).toContain('{"authenticated":{"principal_name":{"exact":"spiffe://cluster.local/ns/default/sa/a"}}}');
    expect(s).toContain('"string_match":{"exact":"Example.com","ignore_case":true}');
    expect(s).toContain('"string_match":{"exact":"GET"}');
  });

  it('1.22+: uri_template', () => {
    expect(principals('1.22')).toContain('"path_template":"/a/*"');
  });

  it('bad CUSTOM before 1.20 is the single default-deny-all policy; CUSTOM keys gain the provider at 1.30', () => {
    const custom = ap('  action: CUSTOM\n  provider: {name: missing}\n  rules:\n  - to: [{operation: {paths: ["/x"]}}]\n');
    const old = compile(custom, '1.19').httpFilters[0]!.typed_config.rules as { policies: object };
    expect(Object.keys(old.policies)).toEqual(['default-deny-all-due-to-bad-CUSTOM-action']);
    expect(Object.keys((compile(custom, '1.29').httpFilters[0]!.typed_config.rules as { policies: object }).policies)).toEqual(['istio-ext-authz-ns[foo]-policy[p]-rule[0]-deny-due-to-bad-CUSTOM-action']);
    expect(Object.keys((compile(custom, '1.30').httpFilters[0]!.typed_config.rules as { policies: object }).policies)).toEqual(['istio-ext-authz-missing-ns[foo]-policy[p]-rule[0]-deny-due-to-bad-CUSTOM-action']);
  });

  it('rejects versions it cannot render', () => {
    expect(() => compile(ap('  rules: [{}]\n'), '2.0')).toThrow(/unsupported Istio version/);
    expect(() => compile(ap('  rules: [{}]\n'), 'banana')).toThrow(/invalid Istio version/);
  });
});

describe('dry-run annotation', () => {
  it('shadow rules with the istio_dry_run_deny_ prefix; an unparseable value is enforced with a warning', () => {
    const dry = ap('  action: DENY\n  rules: [{}]\n').replace('  namespace: foo\n', '  namespace: foo\n  annotations: {"istio.io/dry-run": "true"}\n');
    const f = compile(dry).httpFilters[0]!.typed_config;
    expect(f.rules).toBeUndefined();
    expect(f.shadow_rules_stat_prefix).toBe('istio_dry_run_deny_');
    const bad = compile(dry.replace('"true"', '"yes"'));
    expect((bad.httpFilters[0]!.typed_config.rules as { action: string }).action).toBe('DENY');
    expect(bad.diagnostics[0]!.message).toContain('failed to parse the value of istio.io/dry-run');
  });
});
