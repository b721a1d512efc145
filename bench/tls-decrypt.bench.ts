/**
 * Key-log decryption speed (`flows --keylog`): real TLS sessions (Node's TLS, an Istio-style mTLS
 * client and server) carrying a large HTTP/1.1 response are fed to the stream decoder with and
 * without their key log. Reports ciphertext MB/s through record decryption plus HTTP decoding,
 * and the same stream without keys (record framing only) for comparison, per cipher suite.
 */
import { performance } from 'node:perf_hooks';
import { createStreamDecoder, parseKeyLog, type StreamDecoder } from '../src/protocols/index.js';
import { runTlsSession, ISTIO_ALPN, istioSni, type TlsSessionOptions, type WireMessage } from '../src/synth/tls-session.js';
import { http1Conversation } from '../src/synth/http.js';

const MB = 1024 * 1024;

function run(messages: readonly WireMessage[], decoder: StreamDecoder): void {
  let frame = 1;
  for (const m of messages) {
    // segments as TCP would deliver them (MSS-sized pieces)
    for (let o = 0; o < m.bytes.length; o += 1448) decoder.data(m.dir, m.bytes.subarray(o, o + 1448), { frame: frame++, timeMs: frame });
  }
  decoder.end();
  decoder.facts();
}

function best(n: number, f: () => void): number {
  let b = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    b = Math.min(b, performance.now() - t0);
  }
  return b / 1000;
}

export default async function (): Promise<void> {
  const bodyMb = Number(process.env.MESHSLEUTH_BENCH_DECRYPT_MB ?? 32);
  const body = Buffer.alloc(bodyMb * MB, 'x');
  const app = http1Conversation([{ request: { path: '/big', host: 'httpbin:8000' }, response: { status: 200, body } }]);
  const cases: Array<[string, Partial<TlsSessionOptions>]> = [
    ['TLS 1.3 TLS_AES_128_GCM_SHA256', { version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' }],
    ['TLS 1.3 TLS_CHACHA20_POLY1305_SHA256', { version: 'TLSv1.3', cipher: 'TLS_CHACHA20_POLY1305_SHA256' }],
    ['TLS 1.2 ECDHE-RSA-AES256-GCM-SHA384', { version: 'TLSv1.2', cipher: 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384' }],
  ];
  for (const [label, o] of cases) {
    const s = await runTlsSession({ version: 'TLSv1.3', server: 'foo/httpbin', client: 'foo/sleep', sni: istioSni(8000, 'httpbin.foo.svc.cluster.local'), alpn: ISTIO_ALPN.http11, app, ...o });
    const { keys } = parseKeyLog(s.keylog, 'bench.keylog');
    const wire = s.messages.reduce((n, m) => n + m.bytes.length, 0);
    // check once that it really decrypts everything
    const d = createStreamDecoder({ keys });
    run(s.messages, d);
    const dec = d.facts().tls?.decryption;
    if (dec?.status !== 'decrypted' || dec.failed > 0 || dec.plaintextBytes.s2c < body.length) throw new Error(`bench: ${label} did not decrypt: ${JSON.stringify(dec)}`);
    const withKeys = best(3, () => run(s.messages, createStreamDecoder({ keys })));
    const without = best(3, () => run(s.messages, createStreamDecoder()));
    process.stdout.write(
      `${label}: ${(wire / MB).toFixed(1)} MB on the wire; decrypt + HTTP decode ${(wire / MB / withKeys).toFixed(0)} MB/s (best of 3, ${withKeys.toFixed(2)} s); without the key log ${(wire / MB / without).toFixed(0)} MB/s\n`,
    );
  }
}
