/** Filter-chain selection follows Envoy's FilterChainManagerImpl precedence; listener choice follows iptables + hand-off. */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { parseConfigDump, loadConfigDumps } from '../../src/readers/configdump/index.js';
import { selectFilterChain } from '../../src/envoy/select.js';
import type { ConnectionAttrs, PeerTls } from '../../src/model/attrs.js';
import { SHARED, hasShared, describeShared } from '../helpers/cli.js';

const TLS: PeerTls = { uriSans: ['spiffe://cluster.local/ns/foo/sa/sleep'], dnsSans: [], subject: '', peerCertificateValidated: true };
const T = 'type.googleapis.com/';
const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': T + 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } };
const HTTP_INSPECTOR = { name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': T + 'envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' } };

type Chain = { name: string; filter_chain_match?: Record<string, unknown> };
function dumpWith(chains: Chain[], extra: Record<string, unknown> = {}, more: Record<string, unknown>[] = []) {
  const listener = {
    name: 'l',
    address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
    traffic_direction: 'INBOUND',
    listener_filters: [TLS_INSPECTOR, HTTP_INSPECTOR],
    filter_chains: chains.map((c) => ({ ...c, filters: [] })),
    ...extra,
  };
  return parseConfigDump(
    {
      configs: [
        {
          '@type': T + 'envoy.admin.v3.ListenersConfigDump',
          dynamic_listeners: [{ name: 'virtualInbound', active_state: { listener: { ...listener, name: 'virtualInbound' } } }, ...more.map((l) => ({ name: l.name, active_state: { listener: l } }))],
        },
      ],
    },
    't.json',
  );
}
const pick = (d: ReturnType<typeof dumpWith>, conn: ConnectionAttrs) => {
  const s = selectFilterChain(d, conn);
  return s.chain ? s.chain.name : s.reason;
};

describe('filter_chain_match precedence (Envoy findFilterChain)', () => {
  it('a port-specific subtree with no match falls to the default chain, never to port-less chains', () => {
    const d = dumpWith([{ name: 'p80-tls', filter_chain_match: { destination_port: 80, transport_protocol: 'tls' } }, { name: 'any' }], { default_filter_chain: { name: 'dflt', filters: [] } });
    expect(pick(d, { destination: { port: 80 } })).toBe('dflt');
    expect(pick(d, { destination: { port: 80 }, tls: TLS })).toBe('p80-tls');
    expect(pick(d, { destination: { port: 81 } })).toBe('any');
    const noDefault = dumpWith([{ name: 'p80-tls', filter_chain_match: { destination_port: 80, transport_protocol: 'tls' } }, { name: 'any' }]);
    const s = selectFilterChain(noDefault, { destination: { port: 80 } });
    expect([s.chain, s.reason]).toEqual([null, 'filter_chain_not_found']);
  });

  it('destination IP: the longest prefix wins and is never abandoned for a shorter one', () => {
    const d = dumpWith([
      { name: 'wide', filter_chain_match: { prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] } },
      { name: 'narrow-tls', filter_chain_match: { prefix_ranges: [{ address_prefix: '10.1.0.0', prefix_len: 16 }], transport_protocol: 'tls' } },
    ]);
    expect(pick(d, { destination: { address: '10.2.0.1', port: 80 } })).toBe('wide');
    expect(pick(d, { destination: { address: '10.1.0.1', port: 80 }, tls: TLS })).toBe('narrow-tls');
    expect(pick(d, { destination: { address: '10.1.0.1', port: 80 } })).toBe('filter_chain_not_found');
    expect(pick(d, { destination: { address: '192.168.0.1', port: 80 } })).toBe('filter_chain_not_found');
    expect(pick(d, { destination: { address: 'fd00::1', port: 80 } })).toBe('filter_chain_not_found');
  });

  it('server names: exact, then the longest wildcard suffix, then chains without server names', () => {
    const d = dumpWith([
      { name: 'exact', filter_chain_match: { server_names: ['a.example.com'] } },
      { name: 'wild-example', filter_chain_match: { server_names: ['*.example.com'] } },
      { name: 'wild-com', filter_chain_match: { server_names: ['*.com'] } },
      { name: 'none' },
    ]);
    expect(pick(d, { destination: { port: 443 }, tls: TLS, sni: 'A.Example.com' })).toBe('exact');
    expect(pick(d, { destination: { port: 443 }, tls: TLS, sni: 'b.x.example.com' })).toBe('wild-example');
    expect(pick(d, { destination: { port: 443 }, tls: TLS, sni: 'other.com' })).toBe('wild-com');
    expect(pick(d, { destination: { port: 443 }, tls: TLS, sni: 'example.org' })).toBe('none');
    expect(pick(d, { destination: { port: 443 } })).toBe('none');
  });

  it('transport protocol: exact, then chains without one', () => {
    const d = dumpWith([{ name: 'tls', filter_chain_match: { transport_protocol: 'tls' } }, { name: 'any' }]);
    expect(pick(d, { destination: { port: 8080 }, tls: TLS })).toBe('tls');
    expect(pick(d, { destination: { port: 8080 } })).toBe('any');
    expect(pick(d, { destination: { port: 8080 }, transportProtocol: 'raw_buffer', tls: TLS })).toBe('any');
  });

  it('application protocols: the client ALPN in its own order, then chains without ALPN; absent ALPN is never guessed', () => {
    const d = dumpWith([
      { name: 'h2', filter_chain_match: { transport_protocol: 'tls', application_protocols: ['h2'] } },
      { name: 'h1', filter_chain_match: { transport_protocol: 'tls', application_protocols: ['http/1.1'] } },
      { name: 'noalpn', filter_chain_match: { transport_protocol: 'tls' } },
    ]);
    expect(pick(d, { destination: { port: 8080 }, tls: TLS, alpn: ['http/1.1', 'h2'] })).toBe('h1');
    expect(pick(d, { destination: { port: 8080 }, tls: TLS, alpn: ['h2', 'http/1.1'] })).toBe('h2');
    expect(pick(d, { destination: { port: 8080 }, tls: TLS, alpn: ['istio'] })).toBe('noalpn');
    const s = selectFilterChain(d, { destination: { port: 8080 }, tls: TLS });
    expect(s.chain?.name).toBe('noalpn');
    expect(s.trace).toContain('no ALPN given: treated as no ALPN (not guessed)');
  });

  it('direct source IP, source type, source IP and source port, in that order', () => {
    const d = dumpWith([
      { name: 'direct-10', filter_chain_match: { direct_source_prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] } },
      { name: 'local', filter_chain_match: { source_type: 'SAME_IP_OR_LOOPBACK' } },
      { name: 'ext-port', filter_chain_match: { source_type: 'EXTERNAL', source_ports: [5000] } },
      { name: 'ext-src', filter_chain_match: { source_type: 'EXTERNAL', source_prefix_ranges: [{ address_prefix: '192.168.0.0', prefix_len: 16 }] } },
      { name: 'ext', filter_chain_match: { source_type: 'EXTERNAL' } },
    ]);
    const dst = { address: '172.16.0.5', port: 8080 };
    expect(pick(d, { destination: dst, source: { address: '10.9.9.9', port: 1 } })).toBe('direct-10');
    expect(pick(d, { destination: dst, source: { address: '127.0.0.1', port: 1 } })).toBe('local');
    expect(pick(d, { destination: dst, source: { address: '172.16.0.5', port: 1 } })).toBe('local');
    expect(pick(d, { destination: dst, source: { address: '192.168.1.1', port: 5000 } })).toBe('ext-src');
    expect(pick(d, { destination: dst, source: { address: '8.8.8.8', port: 5000 } })).toBe('ext-port');
    expect(pick(d, { destination: dst, source: { address: '8.8.8.8', port: 5001 } })).toBe('ext');
  });

  it('without a tls_inspector a TLS connection is detected as raw_buffer', () => {
    const d = dumpWith([{ name: 'tls', filter_chain_match: { transport_protocol: 'tls' } }, { name: 'raw', filter_chain_match: { transport_protocol: 'raw_buffer' } }], { listener_filters: [] });
    const s = selectFilterChain(d, { destination: { port: 8080 }, tls: TLS });
    expect(s.chain?.name).toBe('raw');
    expect(s.trace.join('\n')).toContain('no tls_inspector');
  });

  it('an xDS filter_chain_matcher is reported as undecidable', () => {
    const d = dumpWith([{ name: 'a' }], { filter_chain_matcher: { matcher_tree: {} } });
    expect(selectFilterChain(d, { destination: { port: 1 } }).reason).toBe('undecidable');
  });
});

describe('listener choice (iptables + use_original_dst hand-off)', () => {
  const outbound = (name: string, address: string, port: number, extra: Record<string, unknown> = {}) => ({ name, address: { socket_address: { address, port_value: port } }, traffic_direction: 'OUTBOUND', filter_chains: [{ name: `${name}-chain`, filters: [] }], ...extra });
  const d = dumpWith([{ name: 'inbound' }], {}, [
    outbound('virtualOutbound', '0.0.0.0', 15001, { use_original_dst: true }),
    outbound('10.96.0.1_443', '10.96.0.1', 443, { bind_to_port: false }),
    outbound('0.0.0.0_9080', '0.0.0.0', 9080, { bind_to_port: false }),
  ]);
  it('outbound: exact ip:port listener, else the 0.0.0.0:port listener, else the capture listener itself', () => {
    const s1 = selectFilterChain(d, { destination: { address: '10.96.0.1', port: 443 } }, { direction: 'outbound' });
    expect(s1.listener?.name).toBe('10.96.0.1_443');
    expect(selectFilterChain(d, { destination: { address: '10.0.0.7', port: 9080 } }, { direction: 'outbound' }).listener?.name).toBe('0.0.0.0_9080');
    expect(selectFilterChain(d, { destination: { address: '10.0.0.7', port: 5555 } }, { direction: 'outbound' }).listener?.name).toBe('virtualOutbound');
  });
  it('inbound goes to virtualInbound even when an outbound 0.0.0.0:<port> listener exists', () => {
    expect(selectFilterChain(d, { destination: { port: 9080 } }).listener?.name).toBe('virtualInbound');
  });
  it('no listener / unknown listener name', () => {
    const empty = parseConfigDump({ configs: [{ '@type': T + 'envoy.admin.v3.ListenersConfigDump' }] }, 'e.json');
    expect(selectFilterChain(empty, { destination: { port: 80 } }).reason).toBe('no_listener');
    expect(selectFilterChain(d, { destination: { port: 80 } }, { listener: 'nope' }).reason).toBe('no_listener');
    expect(selectFilterChain(d, { destination: { port: 80 } }, { listener: '10.96.0.1_443' }).chain?.name).toBe('10.96.0.1_443-chain');
  });
});

const FX = fileURLToPath(new URL('../fixtures/configdump/', import.meta.url));
describe('hand-written Istio dumps', () => {
  it('STRICT: a plaintext client finds no chain (filter_chain_not_found, Envoy flag NR)', async () => {
    const { dumps } = await loadConfigDumps([FX + 'strict.json']);
    const s = selectFilterChain(dumps[0]!, { destination: { address: '10.1.2.3', port: 8080 }, alpn: ['http/1.1'] });
    expect(s.reason).toBe('filter_chain_not_found');
    expect(s.listener?.name).toBe('virtualInbound');
  });
  it('PERMISSIVE: mTLS HTTP, plaintext HTTP, mTLS TCP, plaintext TCP and TLS pass-through chains', async () => {
    const { dumps } = await loadConfigDumps([FX + 'permissive.json']);
    const d = dumps[0]!;
    const idx = (conn: ConnectionAttrs) => selectFilterChain(d, conn).chain?.index;
    expect(idx({ destination: { port: 8080 }, tls: TLS, alpn: ['istio-http/1.1', 'istio', 'http/1.1'] })).toBe(1);
    expect(idx({ destination: { port: 8080 }, alpn: ['http/1.1'] })).toBe(2);
    expect(idx({ destination: { port: 8080 }, tls: TLS, alpn: ['istio-peer-exchange', 'istio'] })).toBe(3);
    expect(idx({ destination: { port: 8080 } })).toBe(4);
    const pass = selectFilterChain(d, { destination: { port: 8080 }, tls: TLS, alpn: ['h2'] });
    expect([pass.chain?.index, pass.transportMismatch]).toEqual([5, 'tls-not-terminated']);
    expect(idx({ destination: { port: 15006 } })).toBe(0);
  });
});

describeShared('real dumps (needs ../shared)', () => {
  it('configdump.yaml: port 80 mTLS → 0.0.0.0_80 tls chain; plaintext → its raw_buffer twin', async () => {
    const { dumps } = await loadConfigDumps([`${SHARED}fixtures/istio/istioctl/pkg/authz/testdata/configdump.yaml`]);
    const d = dumps[0]!;
    const a = selectFilterChain(d, { destination: { port: 80 }, tls: TLS, alpn: ['istio-http/1.1'] });
    expect([a.listener?.name, a.chain?.name, a.chain?.match.transportProtocol]).toEqual(['virtualInbound', '0.0.0.0_80', 'tls']);
    const b = selectFilterChain(d, { destination: { port: 80 } });
    expect([b.chain?.name, b.chain?.match.transportProtocol]).toEqual(['0.0.0.0_80', 'raw_buffer']);
    expect(b.trace).toContain('http_inspector is disabled for port 80');
  });
  it('configdump.yaml has no node IPs: a destination with its own outbound listener is outbound', async () => {
    const { dumps } = await loadConfigDumps([`${SHARED}fixtures/istio/istioctl/pkg/authz/testdata/configdump.yaml`]);
    const s = selectFilterChain(dumps[0]!, { destination: { address: '10.96.0.1', port: 443 } });
    expect(s.listener?.name).toBe('10.96.0.1_443');
    expect(s.trace[0]).toContain('outbound');
    expect(selectFilterChain(dumps[0]!, { destination: { address: '10.244.0.9', port: 80 } }).listener?.name).toBe('virtualInbound');
  });
  it('Istio 1.4 STRICT 9080 chain has no transport match: plaintext reaches it and fails the TLS handshake', async () => {
    const { dumps } = await loadConfigDumps([`${SHARED}fixtures/istio/istioctl/cmd/testdata/describe/productpage-v1-c7765c886-v99jb.json`]);
    const s = selectFilterChain(dumps[0]!, { destination: { address: '172.30.144.174', port: 9080 } });
    expect([s.listener?.name, s.chain?.index, s.transportMismatch]).toEqual(['virtualInbound', 2, 'tls-handshake-fails']);
  });
  it('Istio 1.1: inbound via `virtual` (15001) hands off to the per-IP listener 10.52.2.21_9080', async () => {
    const { dumps } = await loadConfigDumps([`${SHARED}fixtures/istio/istioctl/cmd/testdata/authz/productpage_config_dump.json`]);
    const s = selectFilterChain(dumps[0]!, { destination: { address: '10.52.2.21', port: 9080 }, tls: TLS });
    expect(s.listener?.name).toBe('10.52.2.21_9080');
    expect(s.trace.join('\n')).toContain('virtual has use_original_dst');
  });
});
