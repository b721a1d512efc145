/**
 * Filter-chain selection with `filter_chain_matcher` (the xDS matcher whose actions name a chain), the way
 * Istio waypoints select `main_internal` chains: destination IP (exact or an IPMatcher CIDR tree) → port →
 * protocol, with on_no_match at every level; Envoy's docs example (TransportProtocolInput); unknown
 * inputs; names no chain has; the default chain.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigDump } from '../../src/readers/configdump/index.js';
import { selectFilterChain } from '../../src/envoy/select.js';
import { matcherChainNames } from '../../src/envoy/filter-chain-matcher.js';
import { toCamelCase } from '../../src/envoy/normalize.js';
import type { ConnectionAttrs } from '../../src/model/attrs.js';

const NET = 'type.googleapis.com/envoy.extensions.matching.common_inputs.network.v3.';
const input = (t: string) => ({ name: t, typed_config: { '@type': `${NET}${t}` } });
const chain = (name: string) => ({ action: { name, typed_config: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: name } } });
const tcp = (name: string) => ({ name, filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: name, cluster: name } }] });

/** A waypoint-like listener: VIP → port → (application protocol h2 → http chain, else tcp chain); a CIDR tree for a ServiceEntry range. */
const waypoint = {
  name: 'main_internal',
  address: { socket_address: { address: '0.0.0.0', port_value: 15008 } },
  listener_filters: [{ name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' } }],
  filter_chains: ['inbound-vip|80|http|reviews', 'inbound-vip|80|tcp|reviews', 'inbound-vip|9090|tcp|reviews', 'inbound-vip|443|tcp|external', 'never-chosen'].map(tcp),
  default_filter_chain: tcp('passthrough'),
  filter_chain_matcher: {
    matcher_tree: {
      input: input('DestinationIPInput'),
      exact_match_map: {
        map: {
          '10.96.0.10': {
            matcher: {
              matcher_tree: {
                input: input('DestinationPortInput'),
                exact_match_map: {
                  map: {
                    '80': {
                      matcher: {
                        matcher_tree: { input: input('ApplicationProtocolInput'), exact_match_map: { map: { "'h2'": chain('inbound-vip|80|http|reviews'), "'http/1.1'": chain('inbound-vip|80|http|reviews') } } },
                        on_no_match: chain('inbound-vip|80|tcp|reviews'),
                      },
                    },
                    '9090': chain('inbound-vip|9090|tcp|reviews'),
                    '7777': chain('no-such-chain'),
                  },
                },
              },
            },
          },
        },
      },
    },
    on_no_match: {
      matcher: {
        matcher_tree: {
          input: input('DestinationIPInput'),
          custom_match: {
            name: 'ip',
            typed_config: { '@type': 'type.googleapis.com/xds.type.matcher.v3.IPMatcher', range_matchers: [{ ranges: [{ address_prefix: '240.240.0.0', prefix_len: 16 }], on_match: chain('inbound-vip|443|tcp|external') }] },
          },
        },
      },
    },
  },
};

const conn = (dst: string | undefined, port: number, extra: Partial<ConnectionAttrs> = {}): ConnectionAttrs => ({ source: { address: '10.1.1.1', port: 5555 }, destination: { ...(dst !== undefined ? { address: dst } : {}), port }, ...extra });

describe('filter_chain_matcher', () => {
  for (const [spelling, doc] of [
    ['snake_case', [waypoint]],
    ['camelCase', [toCamelCase(waypoint)]],
  ] as const) {
    describe(spelling, () => {
      const dump = parseConfigDump(doc, 'waypoint.json');
      const pick = (c: ConnectionAttrs) => {
        const s = selectFilterChain(dump, c, { listener: 'main_internal' });
        return [s.reason, s.chain?.name ?? null];
      };
      it('destination IP → port → application protocol', () => {
        expect(pick(conn('10.96.0.10', 80, { alpn: ['h2'] }))).toEqual(['matched', 'inbound-vip|80|http|reviews']);
        expect(pick(conn('10.96.0.10', 80))).toEqual(['matched', 'inbound-vip|80|tcp|reviews']);
        expect(pick(conn('10.96.0.10', 9090))).toEqual(['matched', 'inbound-vip|9090|tcp|reviews']);
      });
      it('on_no_match at the top level: an IPMatcher CIDR tree, then the default chain', () => {
        expect(pick(conn('240.240.3.4', 443))).toEqual(['matched', 'inbound-vip|443|tcp|external']);
        expect(pick(conn('10.96.0.11', 80))).toEqual(['default_filter_chain', 'passthrough']);
        // a port with no entry under a known VIP: the nested tree has no on_no_match, so the top-level one runs
        expect(pick(conn('10.96.0.10', 81))).toEqual(['default_filter_chain', 'passthrough']);
      });
      it('a name none of the chains has falls to the default chain (Envoy docs)', () => {
        expect(pick(conn('10.96.0.10', 7777))).toEqual(['default_filter_chain', 'passthrough']);
      });
      it('an unknown destination IP is undecidable, and says so', () => {
        const s = selectFilterChain(dump, conn(undefined, 80), { listener: 'main_internal' });
        expect(s.reason).toBe('undecidable');
        expect(s.trace.join('\n')).toMatch(/does not carry destination\.ip/);
      });
      it('lists every chain the matcher can choose', () => {
        expect(matcherChainNames(dump.listeners[0]!).sort()).toEqual(['inbound-vip|443|tcp|external', 'inbound-vip|80|http|reviews', 'inbound-vip|80|tcp|reviews', 'inbound-vip|9090|tcp|reviews', 'no-such-chain']);
      });
    });
  }

  it("Envoy's docs example: TransportProtocolInput tls → chain tls, otherwise plaintext", () => {
    const l = {
      name: 'l',
      address: { socket_address: { address: '0.0.0.0', port_value: 443 } },
      listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }],
      filter_chains: [tcp('tls'), tcp('plaintext')],
      filter_chain_matcher: { matcher_tree: { input: input('TransportProtocolInput'), exact_match_map: { map: { tls: chain('tls') } } }, on_no_match: chain('plaintext') },
    };
    const dump = parseConfigDump([l], 'l.json');
    const tls = { uriSans: [], dnsSans: [], subject: '', peerCertificateValidated: false };
    expect(selectFilterChain(dump, conn('1.2.3.4', 443, { tls })).chain?.name).toBe('tls');
    expect(selectFilterChain(dump, conn('1.2.3.4', 443)).chain?.name).toBe('plaintext');
  });

  it('an action that is not a StringValue makes selection undecidable with the reason', () => {
    const l = { ...waypoint, filter_chain_matcher: { on_no_match: { action: { name: 'x', typed_config: { '@type': 'type.googleapis.com/envoy.config.rbac.v3.Action', name: 'x' } } } } };
    const s = selectFilterChain(parseConfigDump([l], 'l.json'), conn('10.96.0.10', 80), { listener: 'main_internal' });
    expect(s.reason).toBe('undecidable');
    expect(s.trace.join('\n')).toMatch(/google\.protobuf\.StringValue/);
  });
});
