/**
 * compileToConfigDump: the synthetic `/config_dump` loads with the config-dump reader, its
 * inbound mTLS classification gives back the modes we compiled, and its virtualInbound has the
 * same chain layout as a real Istio sidecar's (the istioctl authz fixture, PERMISSIVE, HTTP port 80).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseK8sObjects } from '../../../src/readers/k8s.js';
import { compileToConfigDump, type WorkloadSpec } from '../../../src/istio/compile/index.js';
import { parseConfigDump } from '../../../src/readers/configdump/index.js';
import { inboundMtlsModes } from '../../../src/istio/mtls.js';
import { hasShared, SHARED, describeShared } from '../../helpers/cli.js';

const DIR = fileURLToPath(new URL('./scenarios/', import.meta.url));
const load = (...files: string[]) => files.flatMap((f) => parseK8sObjects(readFileSync(DIR + f, 'utf8'), f).objects);
const tcpEcho: WorkloadSpec = { namespace: 'foo', name: 'tcp-echo', labels: { app: 'tcp-echo' }, ports: [9000, 9001, 9002].map((port) => ({ port, protocol: 'tcp' })) };

type J = Record<string, unknown>;
const listenerOf = (dump: J) => ((dump.configs as J[])[1]!.dynamic_listeners as J[])[0]!.active_state as J;

describe('compileToConfigDump', () => {
  it('loads with parseConfigDump and reports the compiled per-port modes', () => {
    const { configDump, compiled } = compileToConfigDump(load('tcp-echo.yaml', 'peerauthn.yaml'), tcpEcho);
    const dump = parseConfigDump(JSON.parse(JSON.stringify(configDump)), 'synthetic');
    expect(dump.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const modes = inboundMtlsModes(dump).map((m) => [m.port, m.mode]);
    expect(modes).toEqual([['*', compiled.mtls.workload], [9000, 'PERMISSIVE'], [9001, 'DISABLE'], [9002, 'STRICT']]);
    expect(dump.node?.namespace ?? (dump.node as unknown as J | undefined)).toBeTruthy();
  });

  it('undeclared portLevelMtls ports get pass-through chains with their own mode', () => {
    const { configDump } = compileToConfigDump(load('peerauthn.yaml'), { ...tcpEcho, ports: [] });
    const modes = inboundMtlsModes(parseConfigDump(configDump, 'synthetic'));
    expect(modes.map((m) => [m.port, m.mode])).toEqual([['*', 'PERMISSIVE'], [9001, 'DISABLE'], [9002, 'STRICT']]);
    const chains = (listenerOf(configDump).listener as J).filter_chains as J[];
    expect(chains.filter((c) => (c.filter_chain_match as J).destination_port === 9002).map((c) => c.name)).toEqual(['virtualInbound-catchall-http', 'virtualInbound']);
  });

  it('STRICT everywhere: no chain accepts plaintext', () => {
    const strict = parseK8sObjects('apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}\n', 'pa.yaml').objects;
    const { configDump } = compileToConfigDump(strict, { namespace: 'default', name: 'details-v1', labels: { app: 'details' }, ports: [{ port: 9080, protocol: 'http' }, { port: 8080, protocol: 'auto' }] });
    const modes = inboundMtlsModes(parseConfigDump(configDump, 'synthetic'));
    expect(modes.map((m) => [m.port, m.mode])).toEqual([['*', 'STRICT'], [8080, 'STRICT'], [9080, 'STRICT']]);
    const chains = (listenerOf(configDump).listener as J).filter_chains as J[];
    expect(chains.filter((c) => (c.filter_chain_match as J).transport_protocol === 'raw_buffer')).toEqual([]);
  });

  it('puts the HTTP RBAC filters in every HCM and the network RBAC before tcp_proxy', () => {
    const { configDump, compiled } = compileToConfigDump(load('tcp-echo.yaml'), { ...tcpEcho, ports: [{ port: 9000, protocol: 'tcp' }, { port: 9080, protocol: 'http' }] });
    const chains = (listenerOf(configDump).listener as J).filter_chains as J[];
    for (const c of chains) {
      if (c.name === 'virtualInbound-blackhole') continue;
      const filters = c.filters as { name: string; typed_config: J }[];
      const hcm = filters.find((f) => f.name === 'envoy.filters.network.http_connection_manager');
      if (hcm) {
        const httpFilters = hcm.typed_config.http_filters as { name: string }[];
        expect(httpFilters.filter((f) => f.name === 'envoy.filters.http.rbac')).toEqual(compiled.httpFilters);
        expect(httpFilters.at(-1)!.name).toBe('envoy.filters.http.router');
      } else {
        const names = filters.map((f) => f.name);
        expect(names.indexOf('envoy.filters.network.rbac')).toBeGreaterThan(-1);
        expect(names.indexOf('envoy.filters.network.rbac')).toBeLessThan(names.indexOf('envoy.filters.network.tcp_proxy'));
        expect(filters.find((f) => f.name === 'envoy.filters.network.rbac')).toEqual(compiled.tcpFilters[0]);
      }
    }
  });
});

describeShared('synthetic virtualInbound vs a real sidecar dump (needs ../shared)', () => {
  it('has the same chains (name, match, TLS termination) as the istioctl authz fixture for PERMISSIVE + HTTP port 80', () => {
    const real = JSON.parse(readFileSync(`${SHARED}fixtures/istio/istioctl/pkg/authz/testdata/configdump.yaml`, 'utf8')) as J;
    const realVi = ((real.configs as J[])[0]!.dynamic_listeners as J[]).find((l) => l.name === 'virtualInbound')!.active_state as J;
    // The fixture is an Istio 1.18/1.19 sidecar (istio_authn network filter, filter_state principals).
    const { configDump } = compileToConfigDump([], { namespace: 'default', name: 'httpbin', labels: { app: 'httpbin' }, ports: [{ port: 80, protocol: 'http' }] }, { istioVersion: '1.19' });
    const shape = (l: J) =>
      ((l.listener as J).filter_chains as J[]).map((c) => ({
        name: c.name,
        match: c.filter_chain_match,
        tls: c.transport_socket ? ((c.transport_socket as J).typed_config as J).require_client_certificate : null,
        alpn: c.transport_socket ? (((c.transport_socket as J).typed_config as J).common_tls_context as J).alpn_protocols : null,
        filters: (c.filters as J[]).map((f) => f.name).filter((n) => !/rbac|ext_authz/.test(n as string)),
      }));
    expect(shape(listenerOf(configDump))).toEqual(shape(realVi));
    const mine = parseConfigDump(configDump, 'synthetic');
    const theirs = parseConfigDump(real, 'fixture');
    // The fixture also has the HBONE terminator (connect_terminate, 15008), which a compile does not synthesise.
    expect(inboundMtlsModes(mine).map((m) => [m.port, m.mode])).toEqual(inboundMtlsModes(theirs).filter((m) => !m.hbone).map((m) => [m.port, m.mode]));
  });
});

describeShared('RBAC filters vs a real sidecar dump (needs ../shared)', () => {
  it('the istio.io example policy compiled for 1.19 equals the ALLOW filters in the authz fixture (HTTP and TCP)', () => {
    const real = JSON.parse(readFileSync(`${SHARED}fixtures/istio/istioctl/pkg/authz/testdata/configdump.yaml`, 'utf8')) as J;
    const chains = (((real.configs as J[])[0]!.dynamic_listeners as J[]).find((l) => l.name === 'virtualInbound')!.active_state as J).listener as J;
    const fc = chains.filter_chains as { name: string; filters: { name: string; typed_config: J }[] }[];
    const hcm = fc.find((c) => c.name === '0.0.0.0_80')!.filters.find((f) => f.name === 'envoy.filters.network.http_connection_manager')!;
    const realHttp = (hcm.typed_config.http_filters as { name: string; typed_config: J }[]).filter((f) => f.name === 'envoy.filters.http.rbac');
    const realTcp = fc.find((c) => c.name === 'virtualInbound' && (c.filter_chain_match as unknown as J).transport_protocol === 'raw_buffer')!.filters.find((f) => f.name === 'envoy.filters.network.rbac');
    const { compiled } = compileToConfigDump(load('httpbin-istioio.yaml'), { namespace: 'default', name: 'httpbin', labels: { app: 'httpbin' }, ports: [{ port: 80, protocol: 'http' }] }, { istioVersion: '1.19' });
    // realHttp[0] is istiod's ALLOW filter; realHttp[1] is the CUSTOM filter hand-inserted upstream (PR #53894).
    expect(compiled.httpFilters).toEqual([realHttp[0]]);
    expect(compiled.tcpFilters).toEqual([realTcp]);
  });
});
