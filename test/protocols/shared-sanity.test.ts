/**
 * Sanity check of the decoders on real captures from ../shared/captures. tshark's "follow tcp"
 * supplies each stream's reassembled payload (so this checks the decoders alone; the full
 * pipeline's accuracy test lives with the capture reader), and captures-truth.json the facts.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createStreamDecoder } from '../../src/protocols/index.js';
import type { StreamFacts } from '../../src/protocols/stream.js';
import { hasShared, SHARED } from '../helpers/cli.js';

const hasTshark = existsSync('/usr/bin/tshark');

interface TruthStream {
  tcp_stream: number;
  client: string;
  tls: { seen: boolean; version: string | null; sni: string | null; alpn_offered: string[] | null; alpn_selected: string | null; certificate_request: boolean; client_certificate: boolean | null; client_certificate_bytes: number | null; server_san_uris: string[]; client_san_uris: string[] };
  http1: { requests: unknown[] };
  http2: { preface_seen: boolean; requests: unknown[] };
}

function decodeStream(file: string, stream: TruthStream, decodeAs: string[]): StreamFacts {
  let out: string;
  try {
    out = execFileSync('tshark', ['-n', '-r', SHARED + 'captures/' + file, ...decodeAs, '-q', '-z', `follow,tcp,raw,${stream.tcp_stream}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 });
  } catch (e) {
    out = (e as { stdout: string }).stdout; // a file cut short still yields what was read
  }
  const lines = out.split('\n');
  const node0 = lines.find((l) => l.startsWith('Node 0:'))!.slice(8).trim();
  const d = createStreamDecoder();
  let frame = 1;
  for (const l of lines) {
    if (!/^\t?[0-9a-f]+$/.test(l)) continue;
    const fromNode0 = !l.startsWith('\t');
    d.data(fromNode0 === (node0 === stream.client) ? 'c2s' : 's2c', Buffer.from(l.trim(), 'hex'), { frame: frame++, timeMs: 0 });
  }
  d.end();
  return d.facts();
}

const FILES = ['zeek-tls-client-certificate.pcap', 'zeek-tls-certificate-request-failed.pcap', 'zeek-tls13-hrr.pcap', 'arkime-curl-enabled-tls13.pcap', 'suricata-tls-client-auth.pcap', 'suricata-http2-h2c-upgrade.pcap', 'arkime-http2-nghttp2-h2c-prior-knowledge.pcap', 'zeek-http-get.pcap', 'synthetic-istio-lo-mtu1500.pcap'];

describe.skipIf(!hasShared || !hasTshark)('decoders on ../shared/captures streams (needs ../shared and tshark)', () => {
  const truth = hasShared ? (JSON.parse(readFileSync(SHARED + 'research/captures-truth.json', 'utf8')) as { files: Array<{ file: string; tshark_cmd: string; tcp_streams: TruthStream[] }> }) : { files: [] };
  for (const name of FILES) {
    it(name, () => {
      const f = truth.files.find((x) => x.file === name)!;
      const decodeAs = (f.tshark_cmd.match(/-d \S+/g) ?? []).flatMap((x) => ['-d', x.slice(3)]);
      // a sample of streams per file: each costs one tshark run
      for (const st of f.tcp_streams.slice(0, 6)) {
        const x = decodeStream(name, st, decodeAs);
        const t = st.tls;
        expect(x.tls !== null, `stream ${st.tcp_stream} TLS seen`).toBe(t.seen);
        if (x.tls) {
          expect(x.tls.version?.replace('TLSv', 'TLS '), `stream ${st.tcp_stream} version`).toBe(t.version);
          expect(x.tls.sni).toBe(t.sni);
          expect(x.tls.alpn).toEqual(t.alpn_offered ?? []);
          expect(x.tls.alpnSelected).toBe(t.alpn_selected);
          expect(x.tls.clientCertificateRequested === true).toBe(t.certificate_request);
          // truth: null = no client Certificate message; ours: false = handshake seen, no (non-empty) certificate
          const mutual = t.client_certificate === true && (t.client_certificate_bytes ?? 0) > 0;
          expect(x.tls.clientCertificateSent === true, `stream ${st.tcp_stream} client certificate`).toBe(mutual);
          expect([...(x.tls.serverUriSans ?? []), ...x.tls.uriSans]).toEqual([...t.server_san_uris, ...t.client_san_uris]);
        }
        if (st.http2.preface_seen) expect(x.protocol).toBe('h2c');
        else if (st.http1.requests.length > 0) expect(x.protocol).toBe('http/1.1');
        const requests = st.http1.requests.length + st.http2.requests.length;
        if (requests > 0) expect(x.http.length, `stream ${st.tcp_stream} exchanges`).toBeGreaterThanOrEqual(st.http2.requests.length || st.http1.requests.length);
      }
    });
  }
});
