/**
 * The batch format of the record spill (record-spill.ts): plain data (objects, arrays, strings, numbers,
 * booleans, null, undefined) written as a table of distinct strings, a table of object shapes (key lists)
 * and a stream of float64 operations; objects referenced twice in a batch are written once (they stay
 * shared when read back, as structured serialization keeps them).
 *
 * Why not `v8.serialize`: reading is what a report repeats (every pass re-reads the spill), and
 * v8.deserialize looks every property name up in V8's string table, for every property of every record.
 * Here an object is rebuilt by a function compiled once per shape (an object literal: the final layout at
 * once, no per-key lookup) and each distinct string is parsed once per batch. Measured on fleet records
 * (src/synth/fleet.ts bookinfo-authz, 30,000 records, best of 6, CPU time, 512-record batches):
 * compact records v8 serialize 223k/s, deserialize 91k/s, 922 bytes; this codec 107k/s, 445k/s, 718 bytes
 * (full records: v8 133k/s, 70k/s, 1728 bytes; codec 81k/s, 545k/s, 1106 bytes). A report writes each
 * spilled record once and reads it in each of its three passes: 2.3× less CPU for compact records.
 *
 * Anything else (a class instance, a Map, a typed array, a symbol or bigint value, a sparse array, nesting
 * deeper than MAX_DEPTH) makes `encodeBatch` fall back to v8.serialize for that batch (marked by the first
 * byte), so nothing is ever written wrong; symbol-keyed and non-enumerable properties are not written by
 * either (as structured serialization does).
 */
import { deserialize, serialize } from 'node:v8';

/** First byte of a batch in the shape format, whose decoding copies everything out of the bytes (record-spill.ts reads such batches in place from a reused buffer; v8.deserialize may keep views into them). */
export const FORMAT_SHAPES = 1;
const FORMAT_V8 = 2;
const MAX_DEPTH = 200;
/** Shapes with more keys are rebuilt property by property instead of by a compiled literal. */
const MAX_LITERAL_KEYS = 256;
/** Compiled shape builders kept (past it, shapes are rebuilt property by property). */
const MAX_BUILDERS = 4096;

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_NUMBER = 4;
const T_STRING = 5;
const T_ARRAY = 6;
const T_OBJECT = 7;
const T_REF = 8;

/** A value the shape format does not carry: the batch is written with v8.serialize instead. */
class NotPlain extends Error {}

interface ShapeNode {
  id: number;
  next: Map<string, ShapeNode>;
  /** Writes the values of an object of this shape (null until the shape ends here and was met once). */
  write: ShapeWriter | null;
}

/** Writes an object's values in key order (through Encoder.value). */
type ShapeWriter = (e: Encoder, o: Record<string, unknown>, depth: number) => void;

/**
 * A function writing the values of an object of these keys, one named load each (JSON string literals: never
 * code): V8 gives each shape's loads their own inline caches, where a loop over the keys shares one keyed load
 * between every shape of a batch (issue 17: that load was the encoder's most costly line). Property by property
 * when code generation is refused (--disallow-code-generation-from-strings) or the shape is large.
 */
function shapeWriter(keys: readonly string[]): ShapeWriter {
  if (keys.length <= MAX_LITERAL_KEYS)
    try {
      return new Function('e', 'o', 'd', keys.map((k) => `e.value(o[${JSON.stringify(k)}], d);`).join('')) as ShapeWriter;
    } catch {
      // code generation refused: the loop below
    }
  return (e, o, d) => {
    for (let i = 0; i < keys.length; i++) e.value(o[keys[i]!], d);
  };
}

/**
 * Writers kept per shape across batches (a trie over the keys, like the per-batch one), up to MAX_BUILDERS
 * shapes: compiled once, not per batch.
 */
const writerRoot: ShapeNode = { id: -1, next: new Map(), write: null };
let writerCount = 0;

function writerFor(keys: readonly string[]): ShapeWriter {
  let node = writerRoot;
  for (let i = 0; i < keys.length; i++) {
    let nx = node.next.get(keys[i]!);
    if (nx === undefined) {
      if (writerCount >= MAX_BUILDERS) return shapeWriter(keys);
      nx = { id: -1, next: new Map(), write: null };
      node.next.set(keys[i]!, nx);
    }
    node = nx;
  }
  if (node.write === null) {
    if (writerCount >= MAX_BUILDERS) return shapeWriter(keys);
    node.write = shapeWriter(keys);
    writerCount++;
  }
  return node.write;
}

/** The operations buffer, reused by every batch (encodeBatch copies what it wrote): 128 KB fewer to allocate and collect per batch. */
let scratch = new Float64Array(1 << 14);

class Encoder {
  private ops = scratch;
  private n = 0;
  readonly strings: string[] = [];
  private readonly stringIds = new Map<string, number>();
  readonly shapes: string[][] = [];
  private readonly shapeRoot: ShapeNode = { id: -1, next: new Map(), write: null };
  private readonly seen = new Map<object, number>();
  /** Per first key ('' for no keys): the shape of the last object met with it (a guess checked before the trie). */
  private readonly lastByFirst = new Map<string, ShapeNode>();
  private objects = 0;

  private push(x: number): void {
    if (this.n === this.ops.length) {
      const o = new Float64Array(this.n * 2);
      o.set(this.ops);
      this.ops = scratch = o;
    }
    this.ops[this.n++] = x;
  }

  get written(): Float64Array {
    return this.ops.subarray(0, this.n);
  }

  value(v: unknown, depth: number): void {
    switch (typeof v) {
      case 'undefined':
        this.push(T_UNDEFINED);
        return;
      case 'boolean':
        this.push(v ? T_TRUE : T_FALSE);
        return;
      case 'number':
        this.push(T_NUMBER);
        this.push(v);
        return;
      case 'string': {
        let id = this.stringIds.get(v);
        if (id === undefined) {
          id = this.strings.length;
          this.strings.push(v);
          this.stringIds.set(v, id);
        }
        this.push(T_STRING);
        this.push(id);
        return;
      }
      case 'object': {
        if (v === null) {
          this.push(T_NULL);
          return;
        }
        const ref = this.seen.get(v);
        if (ref !== undefined) {
          this.push(T_REF);
          this.push(ref);
          return;
        }
        if (depth > MAX_DEPTH) throw new NotPlain();
        if (Array.isArray(v)) {
          if (Object.getPrototypeOf(v) !== Array.prototype) throw new NotPlain();
          this.push(T_ARRAY);
          this.push(v.length);
          for (let i = 0; i < v.length; i++) {
            const x: unknown = v[i];
            if (x === undefined && !(i in v)) throw new NotPlain(); // a hole
            this.value(x, depth + 1);
          }
        } else {
          const p: unknown = Object.getPrototypeOf(v);
          if (p !== Object.prototype && p !== null) throw new NotPlain();
          const keys = Object.keys(v);
          // the shape last met with the same first key, when it is this one (names compared as the same
          // strings: property names are V8-internalized), else found in the trie
          const first = keys.length === 0 ? '' : keys[0]!;
          let node: ShapeNode | undefined = this.lastByFirst.get(first);
          if (node === undefined || !sameKeys(this.shapes[node.id]!, keys)) {
            node = this.shapeRoot;
            for (let i = 0; i < keys.length; i++) {
              let nx: ShapeNode | undefined = node.next.get(keys[i]!);
              if (nx === undefined) {
                nx = { id: -1, next: new Map(), write: null };
                node.next.set(keys[i]!, nx);
              }
              node = nx;
            }
            if (node.id < 0) {
              node.id = this.shapes.length;
              this.shapes.push(keys);
              node.write = writerFor(keys);
            }
            this.lastByFirst.set(first, node);
          }
          this.push(T_OBJECT);
          this.push(node.id);
          node.write!(this, v as Record<string, unknown>, depth + 1);
        }
        // numbered after its contents, as the decoder creates it
        this.seen.set(v, this.objects++);
        return;
      }
      default:
        throw new NotPlain();
    }
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Encodes one batch (any plain value; see the module comment). */
export function encodeBatch(value: unknown): Buffer {
  const e = new Encoder();
  try {
    e.value(value, 0);
  } catch (err) {
    if (!(err instanceof NotPlain)) throw err;
    const v8 = serialize(value);
    const out = Buffer.allocUnsafe(1 + v8.length);
    out[0] = FORMAT_V8;
    v8.copy(out, 1);
    return out;
  }
  const head = Buffer.from(JSON.stringify([e.strings, e.shapes]), 'utf8');
  // format byte, head length, head, padding to 8 (the operations are read in place as a Float64Array)
  const start = 5 + head.length;
  const pad = (8 - (start % 8)) % 8;
  const ops = e.written;
  const out = Buffer.allocUnsafe(start + pad + ops.byteLength);
  out[0] = FORMAT_SHAPES;
  out.writeUInt32LE(head.length, 1);
  head.copy(out, 5);
  out.fill(0, start, start + pad);
  Buffer.from(ops.buffer, ops.byteOffset, ops.byteLength).copy(out, start + pad);
  return out;
}

type Builder = (d: Decoder) => Record<string, unknown>;
const builders = new Map<string, Builder>();

/** Rebuilds an object of these keys, its values read in key order. */
function builderFor(keys: string[]): Builder {
  const sig = JSON.stringify(keys); // unambiguous ([] and [""], names holding any character)
  const hit = builders.get(sig);
  if (hit) return hit;
  let b: Builder;
  if (keys.length > MAX_LITERAL_KEYS || keys.includes('__proto__') || builders.size >= MAX_BUILDERS)
    b = (d) => {
      const o: Record<string, unknown> = {};
      for (const k of keys) {
        const v = d.value();
        if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
        else o[k] = v;
      }
      return o;
    };
  else {
    // an object literal of the shape (keys as JSON string literals: never code); values in key order
    try {
      b = new Function('d', `return {${keys.map((k) => `${JSON.stringify(k)}: d.value()`).join(',')}};`) as Builder;
    } catch {
      // code generation refused (--disallow-code-generation-from-strings): property by property
      b = (d) => {
        const o: Record<string, unknown> = {};
        for (const k of keys) o[k] = d.value();
        return o;
      };
    }
    builders.set(sig, b);
  }
  return b;
}

class Decoder {
  private i = 0;
  private readonly objects: unknown[] = [];
  private readonly builders: Builder[];
  constructor(
    private readonly ops: Float64Array,
    private readonly strings: string[],
    shapes: string[][],
  ) {
    this.builders = shapes.map(builderFor);
  }

  get done(): boolean {
    return this.i === this.ops.length;
  }

  private next(): number {
    if (this.i >= this.ops.length) throw new Error(`the operations end at ${this.i}`);
    return this.ops[this.i++]!;
  }

  value(): unknown {
    const op = this.next();
    switch (op) {
      case T_UNDEFINED:
        return undefined;
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_NUMBER:
        return this.next();
      case T_STRING: {
        const s = this.strings[this.next()];
        if (s === undefined) throw new Error(`string ${this.ops[this.i - 1]} is not in the table (${this.strings.length})`);
        return s;
      }
      case T_ARRAY: {
        const len = this.next();
        if (!(len >= 0 && len <= this.ops.length - this.i && Number.isInteger(len))) throw new Error(`array length ${len} at ${this.i - 1} does not fit`);
        const a = new Array<unknown>(len);
        for (let k = 0; k < len; k++) a[k] = this.value();
        this.objects.push(a);
        return a;
      }
      case T_OBJECT: {
        const b = this.builders[this.next()];
        if (!b) throw new Error(`shape ${this.ops[this.i - 1]} is not in the table (${this.builders.length})`);
        const o = b(this);
        this.objects.push(o);
        return o;
      }
      case T_REF: {
        const k = this.next();
        if (!(k >= 0 && k < this.objects.length)) throw new Error(`reference ${k} at ${this.i - 1} is to no object read yet`);
        return this.objects[k];
      }
      default:
        throw new Error(`unknown operation ${op} at ${this.i - 1}`);
    }
  }
}

/** Decodes a batch written by encodeBatch; throws (plain Error, one line) when the bytes are not one. */
export function decodeBatch(buf: Buffer): unknown {
  if (buf.length < 1) throw new Error('empty batch');
  const format = buf[0];
  if (format === FORMAT_V8) return deserialize(buf.subarray(1));
  if (format !== FORMAT_SHAPES) throw new Error(`unknown batch format ${format}`);
  if (buf.length < 5) throw new Error('batch shorter than its header');
  const headLen = buf.readUInt32LE(1);
  const start = 5 + headLen;
  if (start > buf.length) throw new Error(`header length ${headLen} exceeds the batch (${buf.length} bytes)`);
  const head: unknown = JSON.parse(buf.toString('utf8', 5, start));
  if (!Array.isArray(head) || head.length !== 2 || !Array.isArray(head[0]) || !Array.isArray(head[1])) throw new Error('batch header is not [strings, shapes]');
  const [strings, shapes] = head as [unknown[], unknown[]];
  if (!strings.every((s) => typeof s === 'string')) throw new Error('batch string table holds a non-string');
  if (!shapes.every((k) => Array.isArray(k) && k.every((s) => typeof s === 'string'))) throw new Error('batch shape table holds a non-list of names');
  const pad = (8 - (start % 8)) % 8;
  const bytes = buf.length - start - pad;
  if (bytes < 0 || bytes % 8 !== 0) throw new Error(`operations of ${bytes} bytes are not whole float64s`);
  const at = buf.byteOffset + start + pad;
  // in place when aligned (a Buffer from the pool may not be), else copied
  const ops = at % 8 === 0 ? new Float64Array(buf.buffer, at, bytes / 8) : new Float64Array(buf.buffer.slice(at, at + bytes));
  const d = new Decoder(ops, strings as string[], shapes as string[][]);
  const v = d.value();
  if (!d.done) throw new Error('operations left after the batch');
  return v;
}
