/** Hand-written minimal dumps (test/fixtures/configdump): modes, spellings, formats, private keys. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfigDumps, parseConfigDump, isConfigDump } from '../../../src/readers/configdump/index.js';
import { inboundMtlsModes } from '../../../src/istio/mtls.js';
import { analyzePolicies } from '../../../src/analysis/policies.js';
import { toCamelCase } from '../../../src/envoy/normalize.js';

const FX = fileURLToPath(new URL('../../fixtures/configdump/', import.meta.url));
const load = async (f: string) => (await loadConfigDumps([FX + f])).dumps[0]!;
const modeOf = async (f: string) => inboundMtlsModes(await load(f)).map((m) => [m.port, m.mode, m.override]);

describe('inbound mTLS mode from hand-written dumps', () => {
  it('STRICT: only TLS-terminating chains that require a client certificate', async () => {
    expect(await modeOf('strict.json')).toEqual([['*', 'STRICT', false]]);
  });
  it('PERMISSIVE: mTLS chains plus raw_buffer twins (and the tls pass-through chain)', async () => {
    expect(await modeOf('permissive.json')).toEqual([['*', 'PERMISSIVE', false]]);
  });
  it('DISABLE: raw_buffer chains only', async () => {
    expect(await modeOf('disable.json')).toEqual([['*', 'DISABLE', false]]);
  });
  it('per-port overrides: 8080 STRICT and 9090 DISABLE under a PERMISSIVE workload', async () => {
    expect(await modeOf('port-override.json')).toEqual([
      ['*', 'PERMISSIVE', false],
      [8080, 'STRICT', true],
      [9090, 'DISABLE', true],
    ]);
  });
  it('the 15006 blackhole chain is not a port of the workload', async () => {
    const m = inboundMtlsModes(await load('strict.json'));
    expect(m.some((x) => x.port === 15006)).toBe(false);
  });
});

describe('spellings and formats', () => {
  it('camelCase JSON, camelCase YAML and snake_case JSON give the same model', async () => {
    const snake = await load('permissive.json');
    const camelJson = await load('permissive-camel.json');
    const camelYaml = await load('permissive-camel.yaml');
    expect(snake.spelling).toBe('snake_case');
    expect(camelJson.spelling).toBe('camelCase');
    expect(camelYaml.spelling).toBe('camelCase');
    const strip = (d: typeof snake) => JSON.parse(JSON.stringify(analyzePolicies({ ...d, source: 'x' }), (k, v) => (k === 'jsonPath' || k === 'path' ? undefined : v)));
    expect(strip(camelJson)).toEqual(strip(snake));
    expect(strip(camelYaml)).toEqual(strip(snake));
    expect(camelYaml.node).toMatchObject({ pod: 'httpbin-5d8f9c7b6-x2x9z', namespace: 'foo', ip: '10.1.2.3', istioVersion: '1.22.0', envoyVersion: '1.30.1/Clean/RELEASE/BoringSSL' });
  });

  it('JSON paths point into the original spelling', async () => {
    const camel = await load('permissive-camel.json');
    expect(camel.listeners[0]!.jsonPath).toBe('$.configs[1].dynamicListeners[0].activeState.listener');
    const snake = await load('permissive.json');
    expect(snake.listeners[0]!.filterChains[1]!.jsonPath).toBe('$.configs[1].dynamic_listeners[0].active_state.listener.filter_chains[1]');
  });

  it('a partial dump (one section without the configs wrapper) and an istioctl listener array load', async () => {
    const full = JSON.parse(readFileSync(FX + 'strict.json', 'utf8'));
    const section = full.configs[1];
    const d1 = parseConfigDump(section, 'section.json');
    expect(d1.listeners.map((l) => l.name)).toEqual(['virtualInbound']);
    const arr = [toCamelCase(section.dynamic_listeners[0].active_state.listener)];
    expect(isConfigDump(arr)).toBe(true);
    const d2 = parseConfigDump(arr, 'pc-listener.json');
    expect(d2.listeners[0]!.filterChains).toHaveLength(3);
    expect(inboundMtlsModes(d2)[0]!.mode).toBe('STRICT');
  });

  it('a bundle (array of dumps) yields one ConfigDump per proxy, named file#index', async () => {
    const a = JSON.parse(readFileSync(FX + 'strict.json', 'utf8'));
    const b = JSON.parse(readFileSync(FX + 'disable.json', 'utf8'));
    const { dumpsFromDocuments } = await import('../../../src/readers/configdump/index.js');
    const ds = dumpsFromDocuments([[a, b]], 'bundle.json');
    expect(ds.map((d) => d.source)).toEqual(['bundle.json#0', 'bundle.json#1']);
    expect(ds.map((d) => inboundMtlsModes(d)[0]!.mode)).toEqual(['STRICT', 'DISABLE']);
  });

  it('a directory loads every dump in it', async () => {
    const { dumps } = await loadConfigDumps([FX]);
    expect(dumps).toHaveLength(6);
  });

  it('inline private keys are replaced by [redacted]; certificates are kept', () => {
    const doc = {
      configs: [
        {
          '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
          static_listeners: [
            {
              listener: {
                name: 'gw',
                address: { socket_address: { address: '0.0.0.0', port_value: 443 } },
                filter_chains: [
                  {
                    transport_socket: {
                      name: 'envoy.transport_sockets.tls',
                      typed_config: {
                        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
                        common_tls_context: { tls_certificates: [{ certificate_chain: { inline_string: 'CERT' }, private_key: { inline_string: '-----BEGIN PRIVATE KEY-----\nSECRETKEY\n-----END PRIVATE KEY-----' } }] },
                      },
                    },
                  },
                ],
              },
            },
          ],
        },
      ],
    };
    const d = parseConfigDump(doc, 'gw.json');
    const s = JSON.stringify(d.listeners[0]!.filterChains[0]!.transportSocket);
    expect(s).not.toContain('SECRETKEY');
    expect(s).toContain('[redacted]');
    expect(d.listeners[0]!.filterChains[0]!.transportSocket!.tls!.requireClientCertificate).toBe(false);
  });

  it('unknown filters, fields and sections are kept and reported as not understood', () => {
    const doc = {
      configs: [
        { '@type': 'type.googleapis.com/envoy.admin.v3.FutureConfigDump', things: [] },
        {
          '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
          dynamic_listeners: [
            {
              name: 'l',
              active_state: {
                listener: {
                  name: 'l',
                  address: { socket_address: { address: '0.0.0.0', port_value: 80 } },
                  shiny_new_field: true,
                  filter_chains: [
                    {
                      filter_chain_match: { destination_port: 80, future_match: 'x' },
                      filters: [{ name: 'acme.authz', typed_config: { '@type': 'type.googleapis.com/acme.Authz', allow: false } }],
                    },
                  ],
                },
              },
            },
          ],
        },
      ],
    };
    const d = parseConfigDump(doc, 'x.json');
    const kinds = d.notUnderstood.map((n) => `${n.kind}:${n.name}`);
    expect(kinds).toEqual(expect.arrayContaining(['section:type.googleapis.com/envoy.admin.v3.FutureConfigDump', 'field:listener.shiny_new_field', 'field:filter_chain_match.future_match', 'network_filter:type.googleapis.com/acme.Authz']));
    const f = d.listeners[0]!.filterChains[0]!.filters[0]!;
    expect(f.config).toEqual({ '@type': 'type.googleapis.com/acme.Authz', allow: false });
    expect(d.listeners[0]!.filterChains[0]!.unknownMatchFields).toEqual(['future_match']);
  });

  it('a malformed listener is skipped with a diagnostic naming its JSON path; the rest loads', () => {
    const doc = {
      configs: [
        {
          '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
          dynamic_listeners: [{ name: 'bad', active_state: { listener: 42 } }, { name: 'ok', active_state: { listener: { name: 'ok', filter_chains: [] } } }],
        },
      ],
    };
    const d = parseConfigDump(doc, 'x.json');
    expect(d.listeners.map((l) => l.name)).toEqual(['ok']);
    expect(d.diagnostics[0]!.message).toBe('x.json, at $.configs[0].dynamic_listeners[0].active_state.listener: expected a Listener object, found the number 42 (listener skipped)');
  });

  it('filters delivered by ECDS (config_discovery) are resolved from the EcdsConfigDump section; TypedStructs are unwrapped', () => {
    const T = 'type.googleapis.com/';
    const doc = {
      configs: [
        {
          '@type': T + 'envoy.admin.v3.ListenersConfigDump',
          dynamic_listeners: [
            {
              name: 'l',
              active_state: {
                listener: {
                  name: 'l',
                  filter_chains: [
                    {
                      filters: [
                        { name: 'istio_authn', typed_config: { '@type': T + 'udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/io.istio.network.authn.Config', value: { skip_validate_trust_domain: true } } },
                        {
                          name: 'envoy.filters.network.http_connection_manager',
                          typed_config: {
                            '@type': T + 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                            http_filters: [{ name: 'ext.rbac', config_discovery: { config_source: { ads: {} }, type_urls: [T + 'envoy.extensions.filters.http.rbac.v3.RBAC'] } }],
                          },
                        },
                      ],
                    },
                  ],
                },
              },
            },
          ],
        },
        {
          '@type': T + 'envoy.admin.v3.EcdsConfigDump',
          ecds_filters: [{ ecds_filter: { '@type': T + 'envoy.config.core.v3.TypedExtensionConfig', name: 'ext.rbac', typed_config: { '@type': T + 'envoy.extensions.filters.http.rbac.v3.RBAC', rules: { action: 'DENY', policies: { p: { permissions: [{ any: true }], principals: [{ any: true }] } } } } } }],
        },
      ],
    };
    const d = parseConfigDump(doc, 'ecds.json');
    const [authn, hcm] = d.listeners[0]!.filterChains[0]!.filters;
    expect([authn!.typeUrl, authn!.configSource, authn!.config]).toEqual(['type.googleapis.com/io.istio.network.authn.Config', 'typed_struct', { '@type': 'type.googleapis.com/io.istio.network.authn.Config', skip_validate_trust_domain: true }]);
    const hf = hcm!.hcm!.httpFilters[0]!;
    expect([hf.configSource, hf.typeUrl]).toEqual(['config_discovery', T + 'envoy.extensions.filters.http.rbac.v3.RBAC']);
    const p = analyzePolicies(d);
    expect(p.counts.httpRbac).toBe(1);
    expect(p.listeners[0]!.chains[0]!.filters[0]!.type === 'rbac' && p.listeners[0]!.chains[0]!.filters[0]!.rules?.action).toBe('DENY');
  });
});
