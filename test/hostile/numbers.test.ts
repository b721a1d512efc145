/** Numbers protobuf would never have parsed (fractional, negative) in a config dump: exit 2 with the JSON path. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

function dump(match: Record<string, unknown>, port: unknown = 15006): string {
  const listener = {
    name: 'virtualInbound',
    address: { socket_address: { address: '0.0.0.0', port_value: port } },
    filter_chains: [{ filter_chain_match: match, filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', cluster: 'x' } }] }],
  };
  return JSON.stringify({ configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', dynamic_listeners: [{ name: 'virtualInbound', active_state: { listener } }] }] });
}

const CASES: [string, string, RegExp][] = [
  ['prefix_len: 30.5', dump({ prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 30.5 }], destination_port: 8080 }), /filter_chain_match\.prefix_ranges\[0\]\.prefix_len: expected an unsigned integer, found the number 30\.5/],
  ['destination_port: -1', dump({ destination_port: -1 }), /filter_chain_match\.destination_port: expected an unsigned integer, found the number -1/],
  ['port_value: 1e400 (Infinity)', dump({ destination_port: 8080 }, 'INF').replace('"INF"', '1e400'), /address\.socket_address\.port_value: expected an unsigned integer/],
  ['source_ports: [0.5]', dump({ source_ports: [0.5] }), /filter_chain_match\.source_ports\[0\]: expected an unsigned integer, found the number 0\.5/],
];

describe('fractional numbers where integers belong', () => {
  for (const [name, text, msg] of CASES) {
    it(`${name}: check and policies exit 2 naming the JSON path`, async () => {
      const f = join(mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-num-')), 'dump.json');
      writeFileSync(f, text);
      for (const args of [['check', f, '--port', '8080', '--plaintext', '--source-ip', '10.0.0.9'], ['policies', f]]) {
        const r = await runCli(args);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(msg);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      }
    });
  }
});
