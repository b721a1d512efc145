/** CUSTOM (ext_authz) beyond the goldens: dry-run, version naming, provider resolution. */
import { describe, expect, it } from 'vitest';
import { parseK8sObjects } from '../../../src/readers/k8s.js';
import { compileForWorkload, type ExtensionProvider } from '../../../src/istio/compile/index.js';
import { formatDuration } from '../../../src/istio/compile/extauthz.js';

const w = { namespace: 'foo', name: 'httpbin', labels: { app: 'httpbin' }, ports: [] };
const providers: ExtensionProvider[] = [{ name: 'opa', envoyExtAuthzGrpc: { service: 'opa/opa-ext', port: 9191 } }];
const custom = (name: string, dryRun = false) =>
  `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: ${name}\n  namespace: foo\n${dryRun ? '  annotations: {"istio.io/dry-run": "true"}\n' : ''}spec:\n  action: CUSTOM\n  provider: {name: opa}\n  rules:\n  - to: [{operation: {paths: ["/${name}"]}}]\n`;
const compile = (yaml: string, istioVersion?: string) => compileForWorkload(parseK8sObjects(yaml, 'c.yaml').objects, w, { extensionProviders: providers, istioVersion });

describe('CUSTOM', () => {
  it('enforced policies go to shadow_rules, dry-run ones to rules (both only feed ext_authz)', () => {
    const c = compile(custom('a') + '---\n' + custom('b', true));
    const [rbac, ext] = c.httpFilters;
    expect(Object.keys((rbac!.typed_config.shadow_rules as { policies: object }).policies)).toEqual(['istio-ext-authz-opa-ns[foo]-policy[a]-rule[0]']);
    expect(rbac!.typed_config.rules).toEqual({ action: 'DENY', policies: { 'istio-ext-authz-opa-ns[foo]-policy[b]-rule[0]': expect.any(Object) } });
    expect(ext).toMatchObject({
      name: 'envoy.filters.http.ext_authz',
      typed_config: {
        grpc_service: { envoy_grpc: { cluster_name: 'outbound|9191||opa-ext.opa.svc.cluster.local', authority: 'opa-ext.opa.svc.cluster.local' }, timeout: '600s' },
        filter_enabled_metadata: { filter: 'envoy.filters.http.rbac', path: [{ key: 'istio_ext_authz_shadow_effective_policy_id' }], value: { string_match: { prefix: 'istio-ext-authz-opa' } } },
      },
    });
    // A gRPC provider also serves TCP chains.
    expect(c.tcpFilters.map((f) => f.name)).toEqual(['envoy.filters.network.rbac', 'envoy.filters.network.ext_authz']);
  });

  it('before 1.30 keys and the ext_authz prefix carry no provider name', () => {
    const c = compile(custom('a'), '1.25');
    expect(Object.keys((c.httpFilters[0]!.typed_config.shadow_rules as { policies: object }).policies)).toEqual(['istio-ext-authz-ns[foo]-policy[a]-rule[0]']);
    expect((c.httpFilters[1]!.typed_config.filter_enabled_metadata as { value: unknown }).value).toEqual({ string_match: { prefix: 'istio-ext-authz' } });
  });

  it('CUSTOM filters come before AUDIT, DENY and ALLOW', () => {
    const deny = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: d, namespace: foo}\nspec:\n  action: DENY\n  rules: [{}]\n';
    const audit = deny.replace('name: d', 'name: au').replace('DENY', 'AUDIT');
    const allow = deny.replace('name: d', 'name: al').replace('DENY', 'ALLOW');
    const c = compile([allow, deny, custom('a'), audit].join('---\n'));
    expect(c.httpFilters.map((f) => `${f.name}:${(f.typed_config.rules as { action?: string } | undefined)?.action ?? (f.typed_config.shadow_rules ? 'shadow' : 'ALLOW')}`)).toEqual([
      'envoy.filters.http.rbac:shadow',
      'envoy.filters.http.ext_authz:ALLOW',
      'envoy.filters.http.rbac:LOG',
      'envoy.filters.http.rbac:DENY',
      'envoy.filters.http.rbac:ALLOW',
    ]);
  });

  it('an unknown provider denies the CUSTOM rules and says why', () => {
    const c = compileForWorkload(parseK8sObjects(custom('a'), 'c.yaml').objects, w, {});
    expect(Object.keys((c.httpFilters[0]!.typed_config.rules as { policies: object }).policies)).toEqual(['istio-ext-authz-opa-ns[foo]-policy[a]-rule[0]-deny-due-to-bad-CUSTOM-action']);
    expect(c.diagnostics.some((d) => d.severity === 'error' && d.message.includes('failed to process CUSTOM action for provider opa, will generate deny configs'))).toBe(true);
  });

  it('durations render as protobuf JSON', () => {
    expect(['0.002s', '2ms', '10s', '1m30s', '1.5s', '250us'].map((d) => formatDuration(d, '600s'))).toEqual(['0.002s', '0.002s', '10s', '90s', '1.500s', '0.000250s']);
    expect(() => formatDuration('soon', '600s')).toThrow(/invalid duration/);
  });
});
