/**
 * JA3 and JA4 of a ClientHello, and IANA cipher suite names. JA4 is checked against the worked
 * example of FoxIO's specification (technical_details/JA4.md): ciphers → 8daaf6152771, extensions
 * and signature algorithms → e5627efa2ab1 (6d807ffa2a79 without signature algorithms), GREASE
 * ignored everywhere. JA3 is checked against tshark on real captures in
 * test/readers/capture/tshark-agreement.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ja3String, ja4, ja4Parts } from '../../src/protocols/tls/fingerprints.js';
import { cipherSuiteName, isGrease } from '../../src/protocols/tls/cipher-suites.js';
import type { ClientHello } from '../../src/protocols/tls/handshake.js';

const hex = (s: string) => s.split(',').map((x) => parseInt(x, 16));
const u16vec = (vals: number[]) => {
  const b = Buffer.alloc(2 + 2 * vals.length);
  b.writeUInt16BE(2 * vals.length, 0);
  vals.forEach((v, i) => b.writeUInt16BE(v, 2 + 2 * i));
  return b;
};

function hello(o: { sigalgs?: boolean; alpn?: string[]; grease?: boolean } = {}): ClientHello {
  const ciphers = hex('1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035');
  const exts = hex('001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015');
  const sig = hex('0403,0804,0401,0503,0805,0501,0806,0601');
  const extensions = exts
    .filter((t) => o.sigalgs !== false || t !== 0x000d)
    .map((type) => ({ type, data: type === 0x000d ? u16vec(sig) : type === 0x000a ? u16vec([0x001d, 0x0017]) : type === 0x000b ? Buffer.from([1, 0]) : Buffer.alloc(0) }));
  if (o.grease) extensions.unshift({ type: 0x2a2a, data: Buffer.alloc(0) });
  return {
    legacyVersion: 0x0303,
    random: new Uint8Array(32),
    sessionId: new Uint8Array(0),
    cipherSuites: o.grease ? [0x4a4a, ...ciphers] : ciphers,
    extensions,
    sni: 'example.com',
    alpn: o.alpn ?? ['h2', 'http/1.1'],
    supportedVersions: o.grease ? [0x7a7a, 0x0304, 0x0303] : [0x0304, 0x0303],
    sessionTicket: null,
    preSharedKey: false,
    earlyData: false,
    truncated: null,
  };
}

describe('JA4 (FoxIO specification example)', () => {
  it('t13d1516h2_8daaf6152771_e5627efa2ab1', () => {
    expect(ja4(hello())).toBe('t13d1516h2_8daaf6152771_e5627efa2ab1');
    const p = ja4Parts(hello());
    expect(p.ciphers).toBe('002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9');
    expect(p.extensions).toBe('0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01');
  });
  it('without signature algorithms the extension list is hashed alone (6d807ffa2a79 in the spec, with 000d itself still listed there)', () => {
    // the spec hashes the same 14-extension list without the "_sigalgs" suffix
    const h = hello();
    h.extensions = h.extensions.map((e) => (e.type === 0x000d ? { type: 0x000d, data: Buffer.alloc(0) } : e));
    expect(ja4(h).split('_')[2]).toBe('6d807ffa2a79');
  });
  it('ignores GREASE in ciphers, extensions and supported_versions', () => {
    expect(ja4(hello({ grease: true }))).toBe('t13d1516h2_8daaf6152771_e5627efa2ab1');
  });
  it('ALPN: first and last characters of the first value; 00 without ALPN; hex digits when not alphanumeric', () => {
    expect(ja4(hello({ alpn: ['http/1.1'] })).slice(8, 10)).toBe('h1');
    expect(ja4(hello({ alpn: ['istio-http/1.1', 'istio'] })).slice(8, 10)).toBe('i1');
    expect(ja4({ ...hello(), alpn: null }).slice(8, 10)).toBe('00');
    expect(ja4(hello({ alpn: ['h2\u00ab'] })).slice(8, 10)).toBe('6b');
  });
});

describe('JA3', () => {
  it('version, ciphers, extensions, groups and point formats in decimal, GREASE removed', () => {
    const s = ja3String(hello({ grease: true }));
    expect(s.split(',')[0]).toBe('771');
    expect(s.split(',')[1]!.split('-')[0]).toBe('4865');
    expect(s).not.toMatch(/19018|10794|31354/); // 0x4a4a, 0x2a2a, 0x7a7a
    expect(s.endsWith(',29-23,0')).toBe(true);
  });
});

describe('cipher suite names (IANA)', () => {
  it('names the common suites and falls back to hex', () => {
    expect(cipherSuiteName(0x1301)).toBe('TLS_AES_128_GCM_SHA256');
    expect(cipherSuiteName(0xc02f)).toBe('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
    expect(cipherSuiteName(0xcca9)).toBe('TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256');
    expect(cipherSuiteName(0x0a0a)).toBe('GREASE 0x0a0a');
    expect(cipherSuiteName(0xfefe)).toBe('0xfefe');
    expect(isGrease(0xfafa)).toBe(true);
    expect(isGrease(0x0a1a)).toBe(false);
  });
});

/**
 * The fingerprints as first written with array methods (filter, map, sort of hex strings, join): the loops that
 * replaced them for speed must give the same strings for any ClientHello.
 */
const reference = {
  u16list(data: Uint8Array): number[] {
    if (data.length < 2) return [];
    const len = (data[0]! << 8) | data[1]!;
    const out: number[] = [];
    for (let i = 2; i + 1 < Math.min(data.length, 2 + len); i += 2) out.push((data[i]! << 8) | data[i + 1]!);
    return out;
  },
  ext(ch: ClientHello, type: number): Uint8Array | null {
    return ch.extensions.find((e) => e.type === type)?.data ?? null;
  },
  ja3String(ch: ClientHello): string {
    const groupsExt = reference.ext(ch, 0x000a);
    const pfExt = reference.ext(ch, 0x000b);
    const groups = groupsExt ? reference.u16list(groupsExt).filter((g) => !isGrease(g)) : [];
    const pf = pfExt && pfExt.length >= 1 ? [...pfExt.subarray(1, 1 + pfExt[0]!)] : [];
    const exts = ch.extensions.map((e) => e.type).filter((t) => !isGrease(t));
    return [String(ch.legacyVersion), ch.cipherSuites.filter((c) => !isGrease(c)).join('-'), exts.join('-'), groups.join('-'), pf.join('-')].join(',');
  },
  ja4Parts(ch: ClientHello): { a: string; ciphers: string; extensions: string; sigalgs: string } {
    const hex4 = (v: number) => v.toString(16).padStart(4, '0');
    const two = (n: number) => String(Math.min(n, 99)).padStart(2, '0');
    const ciphers = ch.cipherSuites.filter((c) => !isGrease(c));
    const exts = ch.extensions.map((e) => e.type).filter((t) => !isGrease(t));
    const sv = ch.supportedVersions?.filter((v) => !isGrease(v)) ?? [];
    const v = sv.length ? Math.max(...sv) : ch.legacyVersion;
    const version = ({ 0x0304: '13', 0x0303: '12', 0x0302: '11', 0x0301: '10', 0x0300: 's3', 0x0200: 's2', 0x0100: 's1' } as Record<number, string>)[v] ?? '00';
    const first = ch.alpn?.[0];
    const alnum = (c: string) => /^[0-9A-Za-z]$/.test(c);
    let alpn = '00';
    if (first) {
      const hexed = Buffer.from(first, 'latin1').toString('hex');
      alpn = alnum(first[0]!) && alnum(first[first.length - 1]!) ? first[0]! + first[first.length - 1]! : hexed[0]! + hexed[hexed.length - 1]!;
    }
    const sigExt = reference.ext(ch, 0x000d);
    const sig = sigExt ? reference.u16list(sigExt).filter((s) => !isGrease(s)) : [];
    return {
      a: `t${version}${exts.includes(0) ? 'd' : 'i'}${two(ciphers.length)}${two(exts.length)}${alpn}`,
      ciphers: ciphers.map(hex4).sort().join(','),
      extensions: exts.filter((t) => t !== 0 && t !== 0x10).map(hex4).sort().join(','),
      sigalgs: sig.map(hex4).join(','),
    };
  },
};

describe('JA3 and JA4 equal the array-method reference', () => {
  // a small deterministic generator (no dependency on the date or Math.random)
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const grease = () => 0x0a0a + 0x1010 * rnd(16);
  const value = () => (rnd(5) === 0 ? grease() : rnd(4) === 0 ? rnd(65536) : [0x1301, 0x1302, 0xc02b, 0x002f, 0x0000, 0x0010, 0x000a, 0x000d, 0x002b, 0xff01, 0x0403][rnd(11)]!);
  const vec = (n: number, oddTail: boolean) => {
    const vals = Array.from({ length: n }, value);
    const b = u16vec(vals);
    return oddTail ? Buffer.concat([b, Buffer.from([7])]) : rnd(6) === 0 ? b.subarray(0, Math.max(0, b.length - 1 - rnd(3))) : b;
  };
  it('for 3,000 random ClientHellos (GREASE, duplicates, short and odd vectors, odd ALPN, > 99 entries)', () => {
    for (let k = 0; k < 3000; k++) {
      const types = Array.from({ length: rnd(8) === 0 ? 120 : rnd(20) }, value);
      const extensions = types.map((type) => ({
        type,
        data:
          type === 0x000a || type === 0x000d ? vec(rnd(12), rnd(4) === 0) : type === 0x000b ? Buffer.from([rnd(5), ...Array.from({ length: rnd(4) }, () => rnd(256))]) : Buffer.alloc(rnd(3)),
      }));
      const alpnChoices = [null, [], [''], ['h2'], ['http/1.1', 'h2'], ['\u00e9x'], ['a\u0101'], ['-'], ['x' + String.fromCharCode(rnd(256))]];
      const ch: ClientHello = {
        ...hello(),
        legacyVersion: [0x0303, 0x0301, 0x0300, 0x0200, 0x1234][rnd(5)]!,
        cipherSuites: Array.from({ length: rnd(8) === 0 ? 130 : rnd(30) }, value),
        extensions,
        alpn: alpnChoices[rnd(alpnChoices.length)] as string[] | null,
        supportedVersions: rnd(3) === 0 ? null : Array.from({ length: rnd(4) }, () => [0x0304, 0x0303, 0x0302, 0x0301, 0x0300, 0x0200, 0x0100, grease(), 0x7f1c][rnd(9)]!),
      };
      expect(ja3String(ch)).toBe(reference.ja3String(ch));
      expect(ja4Parts(ch)).toEqual(reference.ja4Parts(ch));
    }
  });
});
