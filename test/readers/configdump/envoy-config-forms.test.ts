/**
 * Every Envoy config a user can paste loads: bootstrap files (static_resources; dynamic_resources said to be
 * not evaluable offline), xDS responses / LDS-RDS-CDS files (`resources: [...]`, `Resource` wrappers), bare
 * listener lists (camelCase, default_filter_chain only), empty resource lists; and the same RBAC filter in
 * each form (typed_config, TypedStruct udpa/xds, v2 @type, legacy `config`, camelCase) inside each container
 * (bootstrap, admin dump, LDS response, listener list) decides identically (property test).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import fc from 'fast-check';
import { SHARED, describeShared } from '../../helpers/cli.js';
import { loadConfigDumps, parseConfigDump, isConfigDump } from '../../../src/readers/configdump/index.js';
import { parseRbacFilter } from '../../../src/rbac/index.js';
import { decideRequest, decideWithFilter } from '../../../src/envoy/decide.js';
import { toCamelCase } from '../../../src/envoy/normalize.js';
import type { RequestAttrs } from '../../../src/model/attrs.js';

const DIR = join(SHARED, 'external', 'configs');

describeShared('every config in ../shared/external/configs loads (needs ../shared/external)', () => {
  const files = readdirSync(DIR).flatMap((d) => readdirSync(join(DIR, d)).map((f) => join(d, f)));
  it('finds the published configs', () => expect(files.length).toBeGreaterThanOrEqual(60));
  for (const f of files) {
    it(f, async () => {
      if (/^envoy-rbac-(net-)?it\//.test(f)) {
        // Bare HTTP / network filter configs, as the integration tests add them: check parses the filter itself
        // (it is not a config by content), policies shows it on a synthetic listener and says so.
        const doc = load(readFileSync(join(DIR, f), 'utf8'));
        const filter = parseRbacFilter(doc, { kind: f.includes('net-it') ? 'network' : 'http' });
        expect(filter.enforced ?? filter.shadow).not.toBeNull();
        expect(isConfigDump(doc)).toBe(false);
        const { dumps } = await loadConfigDumps([join(DIR, f)]);
        expect(dumps[0]!.listeners.map((l) => l.name)).toEqual(['(bare filter)']);
        expect(dumps[0]!.notUnderstood.map((n) => n.kind)).toEqual(['bare_filter']);
        return;
      }
      const { dumps } = await loadConfigDumps([join(DIR, f)]);
      expect(dumps).toHaveLength(1);
      const d = dumps[0]!;
      if (/\.routes\./.test(f)) expect(d.routeConfigs.size + (f.startsWith('envoy-gateway/tcp-') ? 1 : 0)).toBeGreaterThan(0);
      else expect(d.listeners.length).toBeGreaterThan(0);
      expect(d.notUnderstood.filter((n) => n.kind === 'invalid')).toEqual([]);
    });
  }
});

const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';

function listener(rbacFilter: Record<string, unknown>, name = 'l1'): Record<string, unknown> {
  return {
    name,
    address: { socket_address: { address: '0.0.0.0', port_value: 10000 } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM_TYPE,
              stat_prefix: 'ingress_http',
              route_config: { name: 'local', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' } }] }] },
              http_filters: [rbacFilter, { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
            },
          },
        ],
      },
    ],
  };
}

describe('containers: bootstrap, xDS response, listener list', () => {
  const rules = { action: 'DENY', policies: { 'no admin': { permissions: [{ url_path: { path: { prefix: '/admin' } } }], principals: [{ any: true }] } } };
  const l = listener({ name: 'envoy.filters.http.rbac', typed_config: { '@type': RBAC_TYPE, rules } });
  const cluster = { name: 'backend', type: 'STRICT_DNS', connect_timeout: '1s', load_assignment: { cluster_name: 'backend', endpoints: [] } };
  it('a bootstrap file: static listeners and clusters; dynamic_resources is reported, not guessed', () => {
    const doc = { node: { id: 'edge', cluster: 'front' }, static_resources: { listeners: [l], clusters: [cluster] }, dynamic_resources: { cds_config: { ads: {} } }, admin: {} };
    expect(isConfigDump(doc)).toBe(true);
    const d = parseConfigDump(doc, 'bootstrap.yaml');
    expect(d.listeners.map((x) => [x.name, x.state])).toEqual([['l1', 'static']]);
    expect(d.clusters.map((c) => c.name)).toEqual(['backend']);
    expect(d.node?.id).toBe('edge');
    expect(d.notUnderstood.find((n) => n.kind === 'dynamic_resources')?.note).toMatch(/cds_config.*not evaluable offline/);
  });
  it('a camelCase bootstrap (staticResources)', () => {
    const d = parseConfigDump(toCamelCase({ static_resources: { listeners: [l] } }), 'b.json');
    expect(d.listeners).toHaveLength(1);
    expect(d.listeners[0]!.filterChains[0]!.filters[0]!.hcm?.httpFilters[0]?.name).toBe('envoy.filters.http.rbac');
  });
  it('an LDS response with Resource wrappers and an unknown resource type', () => {
    const doc = {
      version_info: '7',
      type_url: LISTENER_TYPE,
      resources: [{ '@type': 'type.googleapis.com/envoy.service.discovery.v3.Resource', name: 'l1', resource: { '@type': LISTENER_TYPE, ...l } }, { '@type': 'type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig', name: 'x' }],
    };
    expect(isConfigDump(doc)).toBe(true);
    const d = parseConfigDump(doc, 'lds.json');
    expect(d.listeners.map((x) => [x.name, x.versionInfo])).toEqual([['l1', '7']]);
    expect(d.notUnderstood.some((n) => n.kind === 'resource' && n.path === '$.resources[1]')).toBe(true);
  });
  it('a listener list whose listeners have only a default_filter_chain', () => {
    const { filter_chains: fcs, ...rest } = l as { filter_chains: unknown[] };
    const doc = [toCamelCase({ ...rest, default_filter_chain: fcs[0] })];
    expect(isConfigDump(doc)).toBe(true);
    expect(parseConfigDump(doc, 'l.yaml').listeners[0]!.defaultFilterChain).not.toBeNull();
  });
  it('an empty list loads (with a warning) when named explicitly, and is not a config by content', () => {
    expect(isConfigDump([])).toBe(false);
  });
});

// --- property: one RBAC config, every form and container, the same decisions --------------------------

const arbPolicy = fc.record({
  method: fc.constantFrom('GET', 'POST', null),
  prefix: fc.constantFrom('/admin', '/api/', '/', null),
  cidr: fc.constantFrom('10.0.0.0/8', '192.168.1.0/24', null),
  regex: fc.constantFrom('^/v[0-9]+/.*', '.*\\.json', null),
});
const arbRules = fc.record({ action: fc.constantFrom('ALLOW', 'DENY'), policies: fc.array(arbPolicy, { minLength: 1, maxLength: 3 }) });
const arbReq = fc.record({ method: fc.constantFrom('GET', 'POST', 'PUT'), path: fc.constantFrom('/admin/x', '/api/v1', '/v2/a', '/x.json', '/'), ip: fc.constantFrom('10.1.2.3', '192.168.1.9', '172.16.0.1') });

type Rules = { action: string; policies: { method: string | null; prefix: string | null; cidr: string | null; regex: string | null }[] };

/** The rules in the v3 spelling, or the v2 one (HeaderMatcher exact_match/safe_regex_match, v2 @type). */
function rbacRules(r: Rules, v2: boolean): Record<string, unknown> {
  const policies: Record<string, unknown> = {};
  r.policies.forEach((p, i) => {
    const perms: unknown[] = [];
    if (p.method) perms.push({ header: v2 ? { name: ':method', exact_match: p.method } : { name: ':method', string_match: { exact: p.method } } });
    if (p.prefix) perms.push({ url_path: { path: { prefix: p.prefix } } });
    if (p.regex) perms.push({ url_path: { path: { safe_regex: { google_re2: {}, regex: p.regex } } } });
    const [addr, len] = (p.cidr ?? '').split('/');
    const principals = p.cidr ? [{ [v2 ? 'source_ip' : 'remote_ip']: { address_prefix: addr, prefix_len: Number(len) } }] : [{ any: true }];
    policies[`p${i}`] = { permissions: perms.length ? [{ and_rules: { rules: perms.length > 1 ? perms : [...perms, { any: true }] } }] : [{ any: true }], principals };
  });
  return { action: r.action, policies };
}

const FORMS: Record<string, (r: Rules) => Record<string, unknown>> = {
  typed_config: (r) => ({ name: 'envoy.filters.http.rbac', typed_config: { '@type': RBAC_TYPE, rules: rbacRules(r, false) } }),
  udpa_typed_struct: (r) => ({ name: 'envoy.filters.http.rbac', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: RBAC_TYPE, value: { rules: rbacRules(r, false) } } }),
  xds_typed_struct: (r) => ({ name: 'envoy.filters.http.rbac', typed_config: { '@type': 'type.googleapis.com/xds.type.v3.TypedStruct', type_url: RBAC_TYPE, value: { rules: rbacRules(r, false) } } }),
  v2_type: (r) => ({ name: 'envoy.filters.http.rbac', typed_config: { '@type': 'type.googleapis.com/envoy.config.filter.http.rbac.v2.RBAC', rules: rbacRules(r, true) } }),
  legacy_config: (r) => ({ name: 'envoy.filters.http.rbac', config: { rules: rbacRules(r, true) } }),
};

const CONTAINERS: Record<string, (l: Record<string, unknown>) => unknown> = {
  bootstrap: (l) => ({ static_resources: { listeners: [l] } }),
  admin_dump: (l) => ({ configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', static_listeners: [{ listener: { '@type': LISTENER_TYPE, ...l } }] }] }),
  lds_response: (l) => ({ resources: [{ '@type': LISTENER_TYPE, ...l }], type_url: LISTENER_TYPE }),
  listener_list: (l) => [l],
  camel_bootstrap: (l) => toCamelCase({ static_resources: { listeners: [l] } }),
};

describe('the same RBAC config in every form and container decides identically (fast-check)', () => {
  it('bootstrap, admin dump, LDS response, listener list and the bare filter × typed_config, TypedStruct, v2 and legacy forms', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(arbRules, fc.array(arbReq, { minLength: 1, maxLength: 4 }), (rules, reqs) => {
        let reference: string[] | null = null;
        for (const [fname, form] of Object.entries(FORMS)) {
          for (const [cname, wrap] of Object.entries(CONTAINERS)) {
            const d = parseConfigDump(wrap(listener(form(rules))), `${cname}/${fname}`);
            const got = reqs.map((q) => {
              const r: RequestAttrs = { source: { address: q.ip, port: 1234 }, destination: { address: '10.9.9.9', port: 10000 }, http: { method: q.method, path: q.path, headers: {} } };
              const dec = decideRequest(d, r);
              return `${dec.decision} ${dec.policy ?? '-'}`;
            });
            expect(got.every((g) => !g.startsWith('UNDECIDABLE')), `${cname}/${fname}: ${got.join('; ')}`).toBe(true);
            got.forEach((g) => seen.add(g.split(' ')[0]!));
            if (cname === 'bootstrap') {
              // The same filter pasted on its own (check <filter.yaml>) decides the same.
              const filter = parseRbacFilter(form(rules), { kind: 'http' });
              const bare = reqs.map((q) => {
                const dec = decideWithFilter(filter, { source: { address: q.ip, port: 1234 }, destination: { address: '10.9.9.9', port: 10000 }, http: { method: q.method, path: q.path, headers: {} } });
                return `${dec.decision} ${dec.policy ?? '-'}`;
              });
              expect(bare, `bare ${fname}`).toEqual(got);
            }
            if (reference === null) reference = got;
            else expect(got, `${cname}/${fname}`).toEqual(reference);
          }
        }
      }),
      { numRuns: 40 },
    );
    // The generated configs really allow some requests and deny others.
    expect([...seen].sort()).toEqual(['ALLOW', 'DENY']);
  });
});
