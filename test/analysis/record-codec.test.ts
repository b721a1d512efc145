/** The spill's batch format: plain data back exactly (sharing kept), anything else through v8, damage named. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeBatch, encodeBatch } from '../../src/analysis/record-codec.js';

const FORMAT_SHAPES = 1;
const FORMAT_V8 = 2;

describe('record codec', () => {
  it('JSON values come back deep-equal (property test)', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 20 }), (v) => {
        const buf = encodeBatch(v);
        expect(buf[0]).toBe(FORMAT_SHAPES);
        expect(decodeBatch(buf)).toStrictEqual(v);
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it('a batch keeps its bytes and value while later batches are encoded (one operations buffer serves them all), objects of one first key and different shapes stay apart', () => {
    const small = [{ a: 1, b: 'x' }, { a: 2 }, { a: 3, c: [1] }, { a: 4, b: 'y' }];
    const first = encodeBatch(small);
    const copy = Buffer.from(first);
    const big = Array.from({ length: 20_000 }, (_, i) => ({ a: i, b: `s${i % 7}`, d: { e: i / 3 } }));
    const second = encodeBatch(big);
    const third = encodeBatch(small);
    expect(first.equals(copy)).toBe(true);
    expect(third.equals(copy)).toBe(true);
    expect(decodeBatch(first)).toStrictEqual(small);
    expect(decodeBatch(second)).toStrictEqual(big);
  });

  it('shapes that join alike stay apart (no keys / one empty key, names holding NUL)', () => {
    const v = [{}, { '': [] }, { 'a\u0000b': 1 }, { a: 2, b: 3 }, { '': {} }];
    expect(decodeBatch(encodeBatch(v))).toStrictEqual(v);
    for (const x of v) expect(decodeBatch(encodeBatch([x]))).toStrictEqual([x]);
  });

  it('undefined properties, NaN, ±Infinity, -0, lone surrogates, __proto__ and integer-like keys come back as they were', () => {
    const weird = JSON.parse('{"__proto__": {"x": 1}, "b": 2}') as Record<string, unknown>;
    const v = [
      { a: undefined, n: NaN, p: Infinity, m: -Infinity, z: -0, s: 'caf\u00e9 \ud800 \u2028 😀', e: '' },
      { '10': 'ten', '2': 'two', x: 'x', '-1': 'minus' },
      weird,
      [undefined, null, true, false, 0, 1.5e300, -5e-324],
      Object.assign(Object.create(null) as object, { k: 'null prototype' }),
    ];
    const back = decodeBatch(encodeBatch(v)) as typeof v;
    expect(back[0]).toStrictEqual(v[0]);
    expect(Object.is((back[0] as { z: number }).z, -0)).toBe(true);
    expect('a' in (back[0] as object)).toBe(true);
    expect(Object.keys(back[1]!)).toEqual(Object.keys(v[1]!));
    expect(back[1]).toEqual(v[1]);
    expect(Object.getPrototypeOf(back[2])).toBe(Object.prototype);
    expect(Object.keys(back[2]!)).toEqual(['__proto__', 'b']);
    expect((back[2] as Record<string, unknown>)['__proto__']).toEqual({ x: 1 });
    expect(back[3]).toStrictEqual(v[3]);
    expect(back[4]).toEqual({ k: 'null prototype' });
  });

  it('an object referenced twice in a batch is one object again; symbol and non-enumerable properties are not written', () => {
    const shared = { address: '10.0.0.1', port: 80 };
    const list = ['a', 'b'];
    const r1: Record<string | symbol, unknown> = { src: shared, dst: shared, l: list };
    const r2 = { src: shared, l: list };
    r1[Symbol('fact')] = 'per pass';
    Object.defineProperty(r1, 'hidden', { value: 1, enumerable: false });
    const [b1, b2] = decodeBatch(encodeBatch([r1, r2])) as [Record<string, unknown>, Record<string, unknown>];
    expect(b1.src).toBe(b1.dst);
    expect(b2.src).toBe(b1.src);
    expect(b2.l).toBe(b1.l);
    expect(Object.getOwnPropertySymbols(b1)).toEqual([]);
    expect('hidden' in b1).toBe(false);
    expect(b1).toStrictEqual({ src: shared, dst: shared, l: list });
  });

  it('anything but plain data goes through v8.serialize for that batch, and comes back as v8 gives it', () => {
    class Point {
      constructor(public x: number) {}
    }
    // eslint-disable-next-line no-sparse-arrays
    for (const odd of [[new Date(0)], [new Map([[1, 2]])], [new Uint8Array([1, 2])], [1n], [, 1], [new Point(3)]]) {
      const buf = encodeBatch(odd);
      expect(buf[0]).toBe(FORMAT_V8);
      const back = decodeBatch(buf) as unknown[];
      expect(back.length).toBe(odd.length);
    }
    const sparse = decodeBatch(encodeBatch([, 1])) as unknown[]; // eslint-disable-line no-sparse-arrays
    expect(0 in sparse).toBe(false);
    let deep: unknown = 'leaf';
    for (let i = 0; i < 300; i++) deep = { d: deep };
    const buf = encodeBatch(deep);
    expect(buf[0]).toBe(FORMAT_V8);
    expect(decodeBatch(buf)).toStrictEqual(deep);
  });

  it('damaged batches are errors naming what is wrong, never a wrong value', () => {
    const good = encodeBatch([{ a: 'x', b: [1, 2] }]);
    expect(() => decodeBatch(Buffer.alloc(0))).toThrow(/empty batch/);
    expect(() => decodeBatch(Buffer.from([9, 0, 0]))).toThrow(/unknown batch format 9/);
    const longHead = Buffer.from(good);
    longHead.writeUInt32LE(1 << 20, 1);
    expect(() => decodeBatch(longHead)).toThrow(/header length 1048576 exceeds the batch/);
    expect(() => decodeBatch(good.subarray(0, good.length - 8))).toThrow(/operations end at|left after/);
    expect(() => decodeBatch(good.subarray(0, good.length - 3))).toThrow(/not whole float64s/);
    const badOp = Buffer.from(good);
    badOp.writeDoubleLE(99, badOp.length - 8 * 9); // somewhere in the operations
    expect(() => decodeBatch(badOp)).toThrow(/./);
  });
});
