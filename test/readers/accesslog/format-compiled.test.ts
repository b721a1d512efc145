/**
 * The parser generated for a format (TextFormat.parse) gives what the interpreted one (parseInterpreted) gives, on
 * the samples' own log lines and on mutated copies of them (characters inserted, dropped or replaced: quotes,
 * spaces, dashes, digits, colons, non-ASCII), for the built-in formats and custom ones with long literals,
 * truncation, typed last values and text after the last literal.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TextFormat } from '../../../src/readers/accesslog/format.js';
import { ENVOY_DEFAULT, ISTIO_TEXT, ISTIO_TEXT_1_9, ISTIO_TEXT_PRE_1_9 } from '../../../src/readers/accesslog/builtin.js';
import { buildRecord, planFor } from '../../../src/readers/accesslog/record.js';

const SAMPLES = fileURLToPath(new URL('../../../samples', import.meta.url));

function sampleLines(): string[] {
  const out: string[] = [];
  for (const s of readdirSync(SAMPLES, { withFileTypes: true })) {
    if (!s.isDirectory() || s.name.startsWith('_')) continue;
    let logs: string[];
    try {
      logs = readdirSync(join(SAMPLES, s.name, 'logs'));
    } catch {
      continue;
    }
    for (const f of logs) for (const l of readFileSync(join(SAMPLES, s.name, 'logs', f), 'utf8').split('\n').slice(0, 200)) if (l.length > 0) out.push(l);
  }
  return out;
}

const CUSTOM = [
  '%START_TIME% %DOWNSTREAM_REMOTE_ADDRESS%-%RESPONSE_CODE%-%BYTES_SENT% "%REQ(:PATH):10%" %DURATION%',
  '[%START_TIME%] %RESPONSE_CODE%%%PROTOCOL%',
  '%START_TIME% %DOWNSTREAM_PEER_URI_SAN% "%REQ(:PATH):8%" %DYNAMIC_METADATA(envoy.filters.http.rbac:shadow_engine_result)% %FILTER_STATE(io.istio.peer_principal:PLAIN)%',
  'begin-of-line %RESPONSE_CODE% <<long separator>>%UPSTREAM_HOST%<<long separator>>"%REQ(:PATH)%"',
  '%START_TIME(%Y/%m/%d %H:%M:%S)% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% %BYTES_RECEIVED% %UPSTREAM_CLUSTER% %REQ(:METHOD)%',
];

const CUSTOM_LINES = [
  '2024-05-01T00:00:07Z 10.0.0.1:4242-403-19 "/p/xxxxxxx" 3',
  '2024-05-01T00:00:07Z 10.0.0.1:4242---19 "/p" -',
  '[2024-05-01T00:00:00Z] 200%HTTP/1.1',
  '2024-05-01T00:00:00.5Z spiffe://cluster.local/ns/a/sa/b "/abcdefg" {"a":1} principal',
  'begin-of-line 200 <<long separator>>10.1.2.3:80<<long separator>>"/a b" trailing words',
  'begin-of-line - <<long separator>>-<<long separator>>"-"',
  '2024/05/01 10:00:00 12 0 outbound|80||x.svc GET',
  '2024/05/01 10:00:00 abc 123456789012345678 - -',
  // Envoy's default format
  '[2024-05-01T10:00:00.000Z] "GET /info HTTP/1.1" 200 - 0 135 3 1 "-" "curl/8.5.0" "r-1" "httpbin:80" "10.244.0.14:80"',
  '[2024-05-01T10:00:00.000Z] "POST /data HTTP/2" 403 UAEX 12 19 0 - "10.0.0.1,10.0.0.2" "-" "r-2" "httpbin:80" "-" extra text',
  // Istio ≤ 1.8 (mixer status in quotes)
  '[2024-05-01T10:00:00.000Z] "GET /info HTTP/1.1" 200 - "-" "-" 0 135 3 1 "-" "curl/8.5.0" "r-1" "httpbin:80" "10.244.0.14:80" inbound|80|| 127.0.0.6:41854 10.244.0.14:80 10.244.1.10:30000 outbound_.80_._.httpbin.default.svc.cluster.local default',
  '[2024-05-01T10:00:00.000Z] "- - -" 0 - "ok" "-" 233 0 1 - "-" "-" "-" "-" "-" inbound|9000|| - 10.244.0.14:9000 10.244.1.10:30001 - -',
];

/** A small fixed-seed generator, so a failure names a reproducible line. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % n;
  };
}

const ALPHABET = [' ', '-', '"', '0', '7', '9', ':', ']', '[', 'a', 'Z', 'T', '.', '\\', '%', '<', '>', 'é', '\u2028', '\t'];

function mutate(line: string, r: (n: number) => number): string {
  let l = line;
  const m = r(4);
  for (let q = 0; q < m; q++) {
    const at = r(l.length + 1);
    const op = r(3);
    const ch = ALPHABET[r(ALPHABET.length)]!;
    l = op === 0 ? l.slice(0, at) + ch + l.slice(at) : op === 1 ? l.slice(0, at) + l.slice(at + 1) : l.slice(0, at) + ch + l.slice(at + 1);
  }
  return l;
}

describe('generated text-format parser', () => {
  const lines = [...sampleLines(), ...CUSTOM_LINES];

  it('has sample lines of several formats to start from', () => {
    const istio = new TextFormat(ISTIO_TEXT, 'istio');
    expect(lines.filter((l) => istio.parseInterpreted(l) !== null).length).toBeGreaterThan(100);
  });

  for (const [name, fmt] of [['istio', ISTIO_TEXT], ['istio-1.9', ISTIO_TEXT_1_9], ['istio-pre-1.9', ISTIO_TEXT_PRE_1_9], ['envoy', ENVOY_DEFAULT], ...CUSTOM.map((c, i) => [`custom ${i}`, c])] as [string, string][]) {
    it(`gives the interpreted parser's values, list, extra text and record for every line, mutated or not (${name})`, () => {
      const f = new TextFormat(fmt, name);
      const plan = planFor(f.operators);
      const r = rng(fmt.length);
      // mutations start mostly from lines of this format (one in four from any line)
      const own = lines.filter((l) => f.parseInterpreted(l) !== null);
      let fit = 0;
      for (let k = 0; k < lines.length + 4000; k++) {
        const line = k < lines.length ? lines[k]! : mutate(own.length && r(4) ? own[r(own.length)]! : lines[r(lines.length)]!, r);
        const a = f.parse(line);
        const b = f.parseInterpreted(line);
        if (a === null || b === null) {
          expect(a, line).toBe(b);
          continue;
        }
        fit++;
        expect(a, line).toEqual(b);
        expect(Object.keys(a.values), line).toEqual(Object.keys(b.values));
        expect(buildRecord(plan, a.values, { file: 'f', line: 1 }, a.extra, a.list), line).toEqual(buildRecord(plan, b.values, { file: 'f', line: 1 }, b.extra, b.list));
      }
      expect(fit).toBeGreaterThan(0);
    });
  }
});
