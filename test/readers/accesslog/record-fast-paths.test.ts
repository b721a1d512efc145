/** The record builder's shortcuts give exactly what the plain computation gives. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { utcMs } from '../../../src/readers/accesslog/record.js';
import { ISTIO_TEXT, TextFormat } from '../../../src/readers/accesslog/index.js';
import { buildRecord, planFor } from '../../../src/readers/accesslog/record.js';

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

describe('utcMs', () => {
  it('is Date.parse for every RFC 3339 UTC time, valid or not, whatever minute the previous call parsed', () => {
    const time = fc.record({
      y: fc.integer({ min: 0, max: 9999 }), mo: fc.integer({ min: 0, max: 13 }), d: fc.integer({ min: 0, max: 32 }),
      h: fc.integer({ min: 0, max: 25 }), mi: fc.integer({ min: 0, max: 61 }), s: fc.integer({ min: 0, max: 61 }),
      frac: fc.option(fc.stringMatching(/^[0-9]{0,12}$/)),
    }).map(({ y, mo, d, h, mi, s, frac }) => `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${frac === null ? '' : '.' + frac}Z`);
    fc.assert(fc.property(fc.array(time, { minLength: 1, maxLength: 4 }), (ts) => {
      for (const t of ts) expect(utcMs(t)).toEqual(Date.parse(t));
    }), { numRuns: 3000 });
  });

  it('handles the forms around the usual one as Date.parse does', () => {
    for (const t of ['2024-05-01T24:00:00Z', '2024-05-01T24:00:05Z', '2024-05-01T00:00:00.Z', '2024-05-01t00:00:00Z', '2024-05-01T00:00:00', '2024-05-01T00:00:60Z', '+002024-05-01T00:00:00Z', '2024-02-30T00:00:00.5Z', '2024-05-01T00:00:0xZ', '0000-01-01T00:00:00.0001000000Z', '2024-01-01T00:00:00.0009000000Z', '', 'Z']) {
      expect(utcMs(t), t).toEqual(Date.parse(t));
    }
    expect(utcMs('2024-05-01T00:00:59.999999Z')).toBe(Date.parse('2024-05-01T00:00:59.999Z'));
  });
});

describe('unknown lists', () => {
  const f = new TextFormat(ISTIO_TEXT, 'istio');
  const plan = planFor(f.operators);
  const line = (sni: string, remote: string): string =>
    `[2024-05-01T00:00:00.000Z] "GET /data HTTP/1.1" 403 - rbac_access_denied_matched_policy[none] - "-" 0 19 3 - "-" "curl/8.5.0" "r-1" "httpbin:80" "-" inbound|80|| - 10.244.0.14:80 ${remote} ${sni} -`;
  const build = (l: string) => {
    const p = f.parse(l)!;
    return buildRecord(plan, p.values, { file: 'a', line: 1 }, p.extra, p.list);
  };

  it('records with the same unknown attributes share one frozen list; other lists are separate', () => {
    const a = build(line('-', '10.244.2.10:47318'));
    const b = build(line('outbound_.80_._.httpbin.default.svc.cluster.local', '10.244.2.11:1'));
    const c = build(line('-', '-'));
    expect(a.unknown).toBe(b.unknown);
    expect(Object.isFrozen(a.unknown)).toBe(true);
    expect(c.unknown).not.toBe(a.unknown);
    expect(a.unknown).toEqual(['http.headers', 'tls', 'tls.uriSans', 'tls.dnsSans', 'tls.subject', 'metadata', 'filterState']);
    expect(c.unknown).toEqual(['directRemote', 'http.headers', 'tls', 'tls.uriSans', 'tls.dnsSans', 'tls.subject', 'metadata', 'filterState']);
  });

  it('the values by position give the record the values by key give', () => {
    const l = line('outbound_.80_._.httpbin.default.svc.cluster.local', '10.244.2.10:47318');
    const p = f.parse(l)!;
    expect(p.list).toBeDefined();
    expect(buildRecord(plan, p.values, { file: 'a', line: 1 }, p.extra, p.list)).toEqual(buildRecord(plan, p.values, { file: 'a', line: 1 }, p.extra));
  });
});
