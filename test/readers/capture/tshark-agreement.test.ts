/**
 * Agreement with tshark on every capture in ../shared/external/captures (Zeek, tcpdump and Arkime
 * test traces: overlays, tunnels, link layers, TLS edge cases) and ../shared/captures: the same TCP
 * streams (count, client and server, packets), the same TLS facts (SNI, ALPN, JA3, negotiated
 * version and cipher suite, client certificate) and a verdict consistent with what tshark saw.
 * tshark's facts are in test/fixtures/tshark/captures.json (regenerate: node
 * scripts/tshark-expectations.mjs). Where tshark is wrong, DISAGREE says why and what we assert.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { flowsFromCapture } from '../../../src/analysis/flows.js';
import { captureFile } from '../../../src/readers/capture/index.js';
import { createStreamDecoder } from '../../../src/protocols/index.js';
import type { Flow } from '../../../src/model/records.js';
import { SHARED, hasShared } from '../../helpers/cli.js';

interface TsharkStream {
  client: string;
  server: string;
  /** tshark saw a SYN, SYN-ACK or ClientHello, so client and server are known; else compare endpoints only. */
  handshake: boolean;
  packets: number;
  tls?: { sni: string | null; alpn: string[] | null; ja3: string | null; version: string | null; cipher: number | null; clientCertBytes: number | null; certificateRequest: boolean };
  httpRequests?: number;
}
const expectations = JSON.parse(readFileSync(new URL('../../fixtures/tshark/captures.json', import.meta.url), 'utf8')) as { files: Record<string, TsharkStream[]> };

const ep = (e: { ip: string; port: number }) => (e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`);
const VERSION: Record<string, string> = { '0x0300': 'SSLv3', '0x0301': 'TLSv1', '0x0302': 'TLSv1.1', '0x0303': 'TLSv1.2', '0x0304': 'TLSv1.3' };
/** tshark's hex version → our name (TLS 1.3 drafts are 0x7fNN). */
const versionName = (v: string) => VERSION[v] ?? (/^0x7f/.test(v) ? `TLSv1.3-draft${parseInt(v.slice(4), 16)}` : v);

/**
 * BIG TCP (IPv4 total length 0 / IPv6 payload length 0 with a > 64 KiB packet): tshark 4.0 does
 * not decode it (0 TCP streams); tcpdump's own golden output (tests/<name>.out in
 * the-tcpdump-group/tcpdump) is the reference: the TCP segment, its length and the tunnel.
 */
const TCPDUMP_GOLDEN: Record<string, { endpoints: string[]; bytes: number; tunnel?: { kind: string; vni: number } }> = {
  // "10.25.132.11.47044 > 10.25.132.13.4789: VXLAN, flags [I] (0x08), vni 5001 / 192.168.1.2.36875 > 192.168.1.1.36449: Flags [P.] ... length 80000"
  'tcpdump-bigtcp-ipv4-vxlan-ipv4.pcap': { endpoints: ['192.168.1.1:36449', '192.168.1.2:36875'], bytes: 80000, tunnel: { kind: 'vxlan', vni: 5001 } },
  // "2604:1380:4091:ce00::b.55411 > 2604:1380:4091:ce00::d.6081: Geneve, vni 0x1389 / 192.168.1.2.43959 > 192.168.1.1.39887: ... length 80000"
  'tcpdump-bigtcp-ipv6-geneve-ipv4.pcap': { endpoints: ['192.168.1.1:39887', '192.168.1.2:43959'], bytes: 80000, tunnel: { kind: 'geneve', vni: 0x1389 } },
  // "2604:1380:4091:ce00::b.43267 > 2604:1380:4091:ce00::d.41219: Flags [P.] ... length 79968"
  'tcpdump-bigtcp-ipv6.pcap': { endpoints: ['[2604:1380:4091:ce00::b]:43267', '[2604:1380:4091:ce00::d]:41219'], bytes: 79968 },
};

/**
 * TLS that starts after a cleartext step: tshark dissects the TLS, and so do we, naming the
 * preamble as evidence (the verdict comes from the handshake).
 */
const TLS_AFTER_PREAMBLE: Record<string, string> = {
  'arkime-https-connect.pcap': 'http-connect',
  'arkime-ldap-ssl.pcap': 'ldap-starttls',
  'arkime-mysql-tls.pcap': 'mysql-ssl',
  'arkime-socks-https-example.pcap': 'socks',
  'zeek-http-connect-with-header.pcap': 'http-connect',
  'zeek-ldap-ldap-starttls.pcap': 'ldap-starttls',
  'zeek-mysql-tls-12-amazon-rds.pcap': 'mysql-ssl',
  'zeek-mysql-tls-13-amazon-rds.pcap': 'mysql-ssl',
  'zeek-postgresql-psql-aws-ssl-require.pcap': 'postgresql-sslrequest',
  'zeek-socks-with-ssl.pcap': 'socks',
  'zeek-tls-imap-starttls.pcap': 'imap-starttls',
  'zeek-tls-smtp-starttls.pcap': 'smtp-starttls',
};

/**
 * SSLv2-format ClientHellos (a 2-byte record header with the high bit set): tshark dissects them,
 * and so do we. tshark gives no JA3 for them (nor do we: the format has no extensions); in
 * zeek-tls-ssl-v2.pcap the server answers in real SSL 2.0 (version SSLv2 here, none in tshark's
 * TLS fields).
 */
const SSLV2_HELLO = new Set(['arkime-https2-301-get.pcap', 'zeek-tls-ssl-v2.pcap']);

function pathOf(file: string): string | null {
  for (const dir of ['external/captures/', 'captures/']) if (existsSync(SHARED + dir + file)) return SHARED + dir + file;
  return null;
}

describe.skipIf(!hasShared)('flows agree with tshark on every shared capture (needs ../shared)', () => {
  for (const [file, streams] of Object.entries(expectations.files)) {
    it(`${file}: ${streams.length} TCP stream(s)`, async () => {
      const path = pathOf(file);
      if (!path) return;
      if (statSync(path).size === 0) {
        // an empty file is not a capture (tshark: "0 streams" silently); we say so
        await expect(flowsFromCapture(captureFile(path), { decoder: createStreamDecoder }).next()).rejects.toThrow(/found an empty file/);
        return;
      }
      const flows: Flow[] = [];
      for await (const f of flowsFromCapture(captureFile(path), { decoder: createStreamDecoder })) flows.push(f);
      flows.sort((a, b) => (a.stream ?? 0) - (b.stream ?? 0));
      const golden = TCPDUMP_GOLDEN[file];
      if (golden) {
        expect(streams, 'tshark 4.0 sees no TCP in BIG TCP captures').toHaveLength(0);
        expect(flows).toHaveLength(1);
        const f = flows[0]!;
        expect([ep(f.client), ep(f.server)].sort()).toEqual(golden.endpoints);
        expect(f.bytes.clientToServer + f.bytes.serverToClient).toBe(golden.bytes);
        if (golden.tunnel) expect(f.tunnel).toMatchObject(golden.tunnel);
        else expect(f.tunnel).toBeNull();
        return;
      }
      expect(flows.length, `${file}: flow count`).toBe(streams.length);
      streams.forEach((t, i) => {
        const f = flows[i]!;
        const where = `${file} stream ${i}`;
        if (t.handshake) expect(`${ep(f.client)} -> ${ep(f.server)}`, where).toBe(`${t.client} -> ${t.server}`);
        else expect([ep(f.client), ep(f.server)].sort(), where).toEqual([t.client, t.server].sort());
        expect(f.packets + (f.duplicatePackets ?? 0), where).toBe(t.packets);
        if (t.tls && SSLV2_HELLO.has(file)) {
          expect(f.protocol, where).toBe('tls');
          expect(f.tls!.ja3, where).toBeNull();
          expect(f.tls!.version, where).toBe(t.tls.version !== null ? versionName(t.tls.version) : 'SSLv2');
          if (t.tls.cipher !== null) expect(f.tls!.cipherSuite, where).toBe(t.tls.cipher);
          expect(f.notes.join('\n'), where).toMatch(/SSLv2-format ClientHello at frame \d+ offering/);
        } else if (t.tls) {
          if (TLS_AFTER_PREAMBLE[file]) {
            expect(f.protocol, where).toBe('tls');
            expect(f.evidence, where).toContain(TLS_AFTER_PREAMBLE[file]);
          }
          expect(f.tls, where).not.toBeNull();
          if (t.tls.alpn !== null) {
            expect(f.tls!.sni, where).toBe(t.tls.sni);
            expect(f.tls!.alpn, where).toEqual(t.tls.alpn);
          }
          if (t.tls.version !== null) expect(f.tls!.version, where).toBe(versionName(t.tls.version));
          if (t.tls.cipher !== null) expect(f.tls!.cipherSuite, where).toBe(t.tls.cipher);
          if (t.tls.ja3 !== null) expect(f.tls!.ja3, `${where}: JA3`).toBe(t.tls.ja3);
          if (t.tls.clientCertBytes) expect(f.security, where).toBe('mtls');
          else expect(['tls', 'mtls'], where).toContain(f.security);
        } else if (t.httpRequests) {
          expect(f.security, where).toBe('plaintext');
        }
      });
    });
  }
});
