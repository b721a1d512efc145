#!/usr/bin/env node
/**
 * Writes test/fixtures/tshark/captures.json: per capture in ../shared/external/captures and
 * ../shared/captures, what tshark sees per TCP stream (client/server, packets, TLS ClientHello
 * SNI/ALPN/JA3, ServerHello version and cipher suite, client certificate bytes, HTTP requests).
 * These are tshark's facts, regenerated with `node scripts/tshark-expectations.mjs`; the test
 * test/readers/capture/tshark-agreement.test.ts compares `flows` with them.
 *
 * Decode-as: VXLAN on Flannel's port 8472 (tshark knows only 4789).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const dirs = [join(root, '../shared/external/captures'), join(root, '../shared/captures')];
const DECODE_AS = ['-d', 'udp.port==8472,vxlan'];
const FIELDS = [
  'frame.number', 'frame.protocols', 'tcp.stream', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport',
  'tcp.flags.syn', 'tcp.flags.ack', 'tcp.len', 'tls.handshake.type', 'tls.handshake.extensions_server_name',
  'tls.handshake.extensions.supported_version', 'tls.handshake.version', 'tls.handshake.ciphersuite', 'tls.handshake.ja3',
  'tls.handshake.extensions_alpn_str', 'tls.handshake.certificates_length', 'http.request.method',
];
const version = execFileSync('tshark', ['-v'], { encoding: 'utf8' }).split('\n')[0];
const out = { generatedBy: 'scripts/tshark-expectations.mjs', tshark: version, decodeAs: DECODE_AS.filter((_, i) => i % 2 === 1), files: {} };

const last = (v) => (v ? v.split('|').at(-1) : '');
const all = (v) => (v ? v.split('|') : []);
const ep = (ip, port) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

for (const dir of dirs) {
  let names;
  try {
    names = readdirSync(dir).filter((n) => /\.(pcap|pcapng)$/.test(n)).sort();
  } catch {
    continue;
  }
  for (const name of names) {
    const args = ['-n', '-r', join(dir, name), ...DECODE_AS, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=|', ...FIELDS.flatMap((f) => ['-e', f])];
    let text = '';
    try {
      text = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28 });
    } catch (e) {
      text = e.stdout ?? ''; // cut-short files: tshark prints what it read, then fails
    }
    const streams = new Map();
    for (const line of text.split('\n')) {
      if (!line) continue;
      const v = Object.fromEntries(line.split('\t').map((x, i) => [FIELDS[i], x]));
      const id = last(v['tcp.stream']);
      if (id === '') continue;
      const protos = v['frame.protocols'];
      const inner6 = protos.lastIndexOf(':ipv6:') > protos.lastIndexOf(':ip:');
      const src = inner6 ? last(v['ipv6.src']) : last(v['ip.src']);
      const dst = inner6 ? last(v['ipv6.dst']) : last(v['ip.dst']);
      const sport = last(v['tcp.srcport']);
      const dport = last(v['tcp.dstport']);
      let s = streams.get(id);
      if (!s) {
        s = { first: [ep(src, sport), ep(dst, dport)], syn: null, synAck: null, ch: null, packets: 0, tls: null, http: 0 };
        streams.set(id, s);
      }
      s.packets++;
      if (last(v['tcp.flags.syn']) === '1' && last(v['tcp.flags.ack']) === '0' && !s.syn) s.syn = [ep(src, sport), ep(dst, dport)];
      if (last(v['tcp.flags.syn']) === '1' && last(v['tcp.flags.ack']) === '1' && !s.synAck) s.synAck = [ep(dst, dport), ep(src, sport)];
      if (v['http.request.method']) s.http += all(v['http.request.method']).length;
      const types = all(v['tls.handshake.type']);
      if (types.length) {
        s.tls ??= { sni: null, alpn: null, ja3: null, version: null, cipher: null, clientCertBytes: null, certificateRequest: false };
        const t = s.tls;
        const ciphers = all(v['tls.handshake.ciphersuite']);
        for (const ty of types) {
          if (ty === '1' && !s.ch) {
            s.ch = [ep(src, sport), ep(dst, dport)];
            t.sni = v['tls.handshake.extensions_server_name'] ? last(v['tls.handshake.extensions_server_name']) : null;
            t.alpn = v['tls.handshake.extensions_alpn_str'] ? all(v['tls.handshake.extensions_alpn_str']) : [];
            t.ja3 = v['tls.handshake.ja3'] ? all(v['tls.handshake.ja3'])[0] : null;
          }
          if (ty === '2' && t.version === null) {
            const sv = all(v['tls.handshake.extensions.supported_version']);
            const hv = all(v['tls.handshake.version']);
            // the ServerHello's selected version (TLS 1.3 puts it in supported_versions)
            t.version = sv.length ? sv.at(-1) : hv.at(-1) ?? null;
            t.cipher = ciphers.length ? Number(ciphers.at(-1)) : null;
          }
          if (ty === '13') t.certificateRequest = true;
          if (ty === '11' && s.ch && ep(src, sport) === s.ch[0]) t.clientCertBytes = Number(all(v['tls.handshake.certificates_length'])[0] ?? 0);
        }
      }
    }
    out.files[name] = [...streams.entries()]
      .sort((a, b) => Number(a[0]) - Number(b[0]))
      .map(([, s]) => {
        // the client: the SYN's sender, else the SYN-ACK's receiver, else the ClientHello's sender;
        // without any of them tshark does not say (`handshake: false`: compare the endpoints only)
        const [client, server] = s.syn ?? s.synAck ?? s.ch ?? s.first;
        return { client, server, handshake: !!(s.syn ?? s.synAck ?? s.ch), packets: s.packets, ...(s.tls ? { tls: s.tls } : {}), ...(s.http ? { httpRequests: s.http } : {}) };
      });
  }
}
writeFileSync(join(root, 'test/fixtures/tshark/captures.json'), JSON.stringify(out, null, 1) + '\n');
console.log(`${Object.keys(out.files).length} captures, ${Object.values(out.files).reduce((n, f) => n + f.length, 0)} TCP streams`);
