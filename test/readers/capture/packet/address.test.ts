/**
 * Text forms of addresses: the dotted-quad cache (a slot per address, replaced by a newer address in the same
 * slot) must give every address its own text whatever was looked up before.
 */
import { describe, expect, it } from 'vitest';
import { ipv4String, ipv6String } from '../../../../src/readers/capture/packet/address.js';

const quad = (k: number) => `${k >>> 24}.${(k >>> 16) & 255}.${(k >>> 8) & 255}.${k & 255}`;

describe('ipv4String', () => {
  it('gives each address its dotted quad across slot collisions and repeats', () => {
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    // addresses 4096 apart and with equal folded bits share slots; interleave them, then revisit
    const keys: number[] = [];
    for (let i = 0; i < 64; i++) keys.push((0x0a000000 + i * 4096) >>> 0, (0xc0a80000 + i) >>> 0, (0xffffff00 + (i & 0xff)) >>> 0, (i * 0x01001001) >>> 0);
    for (let round = 0; round < 3; round++) {
      for (const k of keys) {
        dv.setUint32(4, k);
        expect(ipv4String(b, 4)).toBe(quad(k));
      }
      keys.reverse();
    }
    expect(ipv4String(Uint8Array.from([0, 0, 0, 0]), 0)).toBe('0.0.0.0');
    expect(ipv4String(Uint8Array.from([255, 255, 255, 255]), 0)).toBe('255.255.255.255');
  });
});

describe('ipv6String', () => {
  it('writes RFC 5952 text', () => {
    const a = new Uint8Array(16);
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    a[15] = 1;
    expect(ipv6String(a, 0)).toBe('2001:db8::1');
    const m = new Uint8Array(16);
    m[10] = 0xff;
    m[11] = 0xff;
    m.set([10, 0, 0, 1], 12);
    expect(ipv6String(m, 0)).toBe('::ffff:10.0.0.1');
  });
});
