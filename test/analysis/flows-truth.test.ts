/**
 * Accuracy against tshark: on every capture in ../shared/captures, each TCP stream's facts (TLS
 * seen, version, SNI, ALPN offered/selected, CertificateRequest, client certificate, SAN URIs,
 * cleartext HTTP/1.x, HTTP/2) agree with research/captures-truth.json, and the verdict agrees with
 * the truth's `expected_class`. Where tshark is wrong (it picks dissectors by port), the test
 * asserts our value and says why.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { flowsFromCapture } from '../../src/analysis/flows.js';
import { captureFile } from '../../src/readers/capture/index.js';
import { createStreamDecoder } from '../../src/protocols/index.js';
import type { Flow } from '../../src/model/records.js';
import { SHARED, hasShared } from '../helpers/cli.js';

interface TruthStream {
  tcp_stream: number;
  client: string;
  server: string;
  packets: number;
  truncated_packets: number;
  syn_seen: boolean;
  tls: {
    seen: boolean;
    version: string | null;
    sni: string | null;
    alpn_offered: string[] | null;
    alpn_selected: string | null;
    certificate_request: boolean;
    client_certificate: boolean | null;
    client_certificate_bytes: number | null;
    server_san_uris: string[];
    client_san_uris: string[];
  };
  http1: { requests: string[]; responses: string[]; upgrade: string[] };
  http2: { preface_seen: boolean; frames: number; requests: string[] };
  expected_class: string;
}
interface TruthFile {
  file: string;
  tcp_streams: TruthStream[];
  packets_dissected: number;
}

const truthPath = SHARED + 'research/captures-truth.json';
const truth: TruthFile[] = hasShared && existsSync(truthPath) ? (JSON.parse(readFileSync(truthPath, 'utf8')) as { files: TruthFile[] }).files : [];

const ep = (e: { ip: string; port: number }) => (e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`);
const tlsName = (v: string | null) => (v === null ? null : v.replace(/^TLS /, 'TLSv'));

/** Our verdict for tshark's expected_class (see captures-truth.md for how it was derived). */
function expectedSecurity(cls: string): { security: string; inferred?: boolean } {
  if (cls.startsWith('mtls')) return { security: 'mtls', inferred: cls.includes('inferred') };
  // A ClientHello answered by a cleartext HTTP error page: the server spoke plaintext.
  if (cls.startsWith('tls-clienthello-to-plaintext-server')) return { security: 'plaintext' };
  if (cls.startsWith('tls')) return { security: 'tls' };
  if (cls.startsWith('h2c') || cls.startsWith('http1') || cls.startsWith('other-plaintext')) return { security: 'plaintext' };
  return { security: 'unknown' };
}

/** Files where tshark's dissection is known to be wrong or incomplete, and why. */
const TSHARK_BY_PORT = new Set([
  // tshark only runs the TLS dissector on port 443-like ports: the ClientHello sent to port 80 is
  // not dissected at all ("tls.seen: false"), but its first bytes are 16 03 01 (a TLS handshake
  // record) and we parse the ClientHello (ALPN h2,http/1.1).
  'zeek-tls-https-to-http.pcap',
]);

describe.skipIf(truth.length === 0)('flows agree with tshark ground truth on ../shared/captures (needs ../shared)', () => {
  for (const tf of truth) {
    it(`${tf.file}: ${tf.tcp_streams.length} streams`, async () => {
      const flows: Flow[] = [];
      for await (const f of flowsFromCapture(captureFile(SHARED + 'captures/' + tf.file), { decoder: createStreamDecoder })) flows.push(f);
      expect(flows).toHaveLength(tf.tcp_streams.length);
      flows.sort((a, b) => (a.stream ?? 0) - (b.stream ?? 0));
      tf.tcp_streams.forEach((t, i) => {
        const f = flows[i]!;
        const where = `${tf.file} stream ${t.tcp_stream}`;
        // Same connection, same direction, same packet count (stream numbering = first-packet order, as tshark's).
        expect(`${ep(f.client)} -> ${ep(f.server)}`, where).toBe(`${t.client} -> ${t.server}`);
        expect(f.packets, where).toBe(t.packets);
        // TLS facts
        if (TSHARK_BY_PORT.has(tf.file)) {
          expect(t.tls.seen, where).toBe(false);
          expect(f.tls, where).not.toBeNull();
          expect(f.tls!.alpn, where).toEqual(['h2', 'http/1.1']);
          expect(f.tls!.version, where).toBeNull(); // the server never answered with a ServerHello
        } else {
          expect(f.tls !== null, `${where}: TLS seen`).toBe(t.tls.seen);
        }
        if (tf.file === 'derived-snaplen160-client-certificate.pcap') {
          // tshark needs whole records, so with a 160-byte snap length it sees neither the
          // CertificateRequest nor the client Certificate. But frame 13's captured bytes start
          // 16 03 03 0e 93 | 0b 00 0d 62 | 00 0d 5f | 00 05 e8 30 82 05 e4: a handshake record
          // holding a Certificate message whose certificate_list is 3423 bytes long (the same 3423
          // bytes tshark reports for the uncut zeek-tls-client-certificate.pcap). An empty list
          // would be 00 00 00. So the client did send a certificate: we say mtls, and that the
          // certificates themselves were not captured.
          expect(t.tls.client_certificate, where).toBeNull();
          expect(f.tls!.clientCertificateSent, where).toBe(true);
          expect(f.tls!.frames?.clientCertificate, where).toBe(13);
          expect(f.security, where).toBe('mtls');
          expect(f.evidence, where).toEqual(['client-certificate', 'payload-not-captured']);
          expect(f.notes.join('\n'), where).toMatch(/15 packets cut by the snap length/);
          return;
        }
        if (t.tls.seen) {
          const x = f.tls!;
          expect(x.version, `${where}: version`).toBe(tlsName(t.tls.version));
          expect(x.sni, `${where}: SNI`).toBe(t.tls.sni);
          expect(x.alpn, `${where}: ALPN offered`).toEqual(t.tls.alpn_offered ?? []);
          expect(x.alpnSelected, `${where}: ALPN selected`).toBe(t.tls.alpn_selected);
          expect(x.clientCertificateRequested === true, `${where}: CertificateRequest`).toBe(t.tls.certificate_request);
          if (t.tls.client_certificate === true) {
            expect(x.clientCertificateSent, `${where}: client Certificate (${t.tls.client_certificate_bytes} bytes)`).toBe((t.tls.client_certificate_bytes ?? 0) > 0);
          } else {
            expect(x.clientCertificateSent === true, `${where}: no client Certificate`).toBe(false);
          }
          expect(x.uriSans, `${where}: client SAN URIs`).toEqual(t.tls.client_san_uris);
          expect(x.serverUriSans ?? [], `${where}: server SAN URIs`).toEqual(t.tls.server_san_uris);
        }
        // Cleartext HTTP/1.x requests and responses, in order.
        const h1 = f.http.filter((h) => h.version?.startsWith('HTTP/1'));
        expect(h1.filter((h) => h.method).map((h) => `${h.method} ${h.path} ${h.version}`), `${where}: HTTP/1.x requests`).toEqual(t.http1.requests);
        expect(h1.filter((h) => h.status !== undefined).map((h) => String(h.status)), `${where}: HTTP/1.x responses`).toEqual(t.http1.responses);
        // HTTP/2 cleartext
        expect(f.protocol === 'h2c', `${where}: h2c`).toBe(t.http2.preface_seen);
        if (t.http2.preface_seen) {
          const reqs = f.http.filter((h) => h.version === 'HTTP/2' && h.method).map((h) => `${h.method} ${h.authority}${h.path}`);
          for (const r of t.http2.requests) expect(reqs, `${where}: HTTP/2 requests`).toContain(r);
        }
        // Verdict
        const want = expectedSecurity(t.expected_class);
        expect(f.security, `${where}: verdict for "${t.expected_class}" (evidence ${f.evidence.join(',')})`).toBe(want.security);
        if (want.inferred !== undefined) expect(f.inferred, `${where}: inferred`).toBe(want.inferred);
      });
    });
  }
});
