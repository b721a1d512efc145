/**
 * YAML and JSON output written piece by piece: the same bytes as `toYaml(value)` / `toJson(value)`
 * (report/serialize.ts), without holding the whole rendered document (nor, for YAML, the `yaml` library's node
 * tree of all of it, about 20 times the text) in memory. Large collections are walked here; every piece small
 * enough (fewer than CHUNK_NODES values) is rendered by the same library calls as the whole document.
 *
 * YAML repeats no object: a JavaScript object reached twice is written once with an anchor (`&a1`) and then as
 * an alias (`*a1`), as `yaml.stringify` does (anchors numbered in the order of their second occurrence, in a
 * depth-first walk that does not enter repeated objects). A first pass finds them; only objects are recorded.
 */
import { stringify as yamlStringify } from 'yaml';

/** Values (scalars and collections) below which a collection is rendered in one call. */
const CHUNK_NODES = 2_000;

export interface ChunkOptions {
  /** Collections with at least this many values are walked, smaller ones rendered in one call (default 2,000). */
  chunkNodes?: number;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is object => v !== null && typeof v === 'object';

/** Entries of a mapping as `yaml` creates them (undefined values are left out). */
function mapEntries(v: Obj): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const k of Object.keys(v)) if (v[k] !== undefined) out.push([k, v[k]]);
  return out;
}

/** Counts values in `v` up to `limit` (walking at most that many). */
function countNodes(v: unknown, limit: number): number {
  let n = 0;
  const stack: unknown[] = [v];
  while (stack.length > 0 && n < limit) {
    const x = stack.pop();
    n++;
    if (Array.isArray(x)) for (const y of x) stack.push(y);
    else if (isObject(x)) for (const k of Object.keys(x)) stack.push((x as Obj)[k]);
  }
  return n;
}

/** The objects a depth-first walk (not entering repeats) reaches more than once, with their anchor names. */
function findAnchors(root: unknown): { anchors: Map<object, string>; holders: Set<object> } {
  const anchors = new Map<object, string>();
  const seen = new Set<object>();
  // iterative DFS in document order: items of arrays, entries of maps
  const walk = (visit: (o: object, repeat: boolean, path: object[]) => void) => {
    seen.clear();
    const path: object[] = [];
    const stack: { v: unknown; depth: number }[] = [{ v: root, depth: 0 }];
    while (stack.length > 0) {
      const { v, depth } = stack.pop()!;
      if (!isObject(v)) continue;
      path.length = depth;
      const repeat = seen.has(v);
      visit(v, repeat, path);
      if (repeat) continue;
      seen.add(v);
      path.push(v);
      const kids = Array.isArray(v) ? v : mapEntries(v as Obj).map(([, x]) => x);
      for (let i = kids.length - 1; i >= 0; i--) stack.push({ v: kids[i], depth: depth + 1 });
    }
  };
  walk((o, repeat) => {
    if (repeat && !anchors.has(o)) anchors.set(o, `a${anchors.size + 1}`);
  });
  // the collections holding an anchored object or an alias: they are walked here, not rendered whole
  const holders = new Set<object>();
  if (anchors.size > 0) {
    walk((o, _repeat, path) => {
      if (anchors.has(o)) for (const p of path) holders.add(p);
    });
  }
  seen.clear();
  return { anchors, holders };
}

/** Indents every non-empty line of `text` by `indent` (empty lines of block scalars stay empty, as `yaml` writes them). */
function indentLines(text: string, indent: string): string {
  if (indent === '') return text;
  return text.replace(/^(?=.)/gm, indent);
}

/** `toYaml(value)` (yaml.stringify, lineWidth 0) as a sequence of pieces of whole lines. */
export function* yamlChunks(value: unknown, chunk: ChunkOptions = {}): Generator<string> {
  const opts = { lineWidth: 0 };
  const limit = chunk.chunkNodes ?? CHUNK_NODES;
  const { anchors, holders } = findAnchors(value);
  const written = new Set<object>();
  const walkInto = (v: unknown): boolean => {
    if (!isObject(v)) return false;
    if (anchors.has(v) || holders.has(v)) return true;
    const size = Array.isArray(v) ? v.length : mapEntries(v as Obj).length;
    return size > 0 && countNodes(v, limit) >= limit;
  };

  /**
   * The lines of collection `v` at `indent`; `first` replaces the indent of the first line (a sequence item's
   * `- `). `v` is non-empty and not a repeat.
   */
  function* collection(v: object, indent: string, first: string): Generator<string> {
    let lead = first;
    const isSeq = Array.isArray(v);
    const items: [string | null, unknown][] = isSeq ? v.map((x) => [null, x]) : mapEntries(v as Obj);
    // consecutive small entries are rendered together (block entries do not depend on their neighbours)
    let batch: [string | null, unknown][] = [];
    let batchNodes = 0;
    const flush = (): string => {
      const text = isSeq ? yamlStringify(batch.map(([, x]) => x), opts) : yamlStringify(new Map(batch), opts);
      batch = [];
      batchNodes = 0;
      const out = lead + indentLines(text, indent).slice(indent.length);
      lead = indent;
      return out;
    };
    for (const [key, x] of items) {
      const walk = walkInto(x);
      const repeat = isObject(x) && written.has(x);
      if (!walk && !repeat) {
        batch.push([key, x]);
        batchNodes += isObject(x) ? countNodes(x, limit) : 1;
        if (batchNodes >= limit) yield flush();
        continue;
      }
      if (batch.length > 0) yield flush();
      // `head` starts the entry's line: `-`, `key:`, or `:` after an explicit key's `? key` line(s); after `-` and
      // `:` a collection's first line follows on the same line, after `key:` it starts below
      let head = '-';
      let sameLine = true;
      if (key !== null) {
        const k = yamlStringify({ [key]: null }, opts);
        if (k.endsWith(': null\n') && k.indexOf('\n') === k.length - 1) {
          head = k.slice(0, -' null\n'.length);
          sameLine = false;
        } else if (k.endsWith('\n: null\n')) {
          // a key yaml writes explicitly (longer than 1024 characters)
          yield lead + indentLines(k.slice(0, -': null\n'.length), indent).slice(indent.length);
          lead = indent;
          head = ':';
        } else throw new Error(`yamlChunks: unexpected rendering of the key ${JSON.stringify(key.slice(0, 60))}`);
      }
      if (repeat) {
        yield `${lead}${head} *${anchors.get(x as object)!}\n`;
      } else {
        const o = x as object;
        const anchor = anchors.get(o);
        if (anchor !== undefined) written.add(o);
        const empty = Array.isArray(o) ? o.length === 0 : mapEntries(o as Obj).length === 0;
        // (an empty collection is walked only when anchored)
        if (empty) yield `${lead}${head} &${anchor!} ${Array.isArray(o) ? '[]' : '{}'}\n`;
        else if (anchor !== undefined || !sameLine) {
          // `key:`, `key: &a1`, `- &a1` or `: &a1` on a line of their own, the collection indented below (a sequence
          // under a mapping key is indented too: yaml's indentSeq)
          yield `${lead}${head}${anchor !== undefined ? ` &${anchor}` : ''}\n`;
          yield* collection(o, indent + '  ', indent + '  ');
        } else {
          // its first line follows the `- ` (or `: `)
          yield* collection(o, indent + '  ', `${lead}${head} `);
        }
      }
      lead = indent;
    }
    if (batch.length > 0) yield flush();
  }

  if (isObject(value) && walkInto(value) && !(Array.isArray(value) ? value.length === 0 : mapEntries(value as Obj).length === 0)) {
    const anchor = anchors.get(value);
    if (anchor) {
      // the root is never reached twice: it cannot be anchored
      throw new Error('yamlChunks: the document root is repeated inside itself');
    }
    yield* collection(value, '', Array.isArray(value) ? '- ' : '');
  } else {
    yield yamlStringify(value, opts);
  }
}

/** `toJson(value)` (JSON.stringify with 2 spaces, then a newline) as a sequence of pieces. */
export function* jsonChunks(value: unknown, chunk: ChunkOptions = {}): Generator<string> {
  yield* json(value, '', '', chunk.chunkNodes ?? CHUNK_NODES);
  yield '\n';
}

function toJsonValue(v: unknown, key: string): unknown {
  return isObject(v) && typeof (v as { toJSON?: unknown }).toJSON === 'function' ? (v as { toJSON: (k: string) => unknown }).toJSON(key) : v;
}

/** Whether JSON.stringify writes this member of an object (it drops undefined, functions and symbols). */
const jsonKept = (v: unknown): boolean => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol';

function* json(raw: unknown, indent: string, key: string, limit: number): Generator<string> {
  const v = toJsonValue(raw, key);
  if (!isObject(v) || (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0) || countNodes(v, limit) < limit) {
    const text = JSON.stringify(v, null, 2) ?? 'null';
    yield indent === '' ? text : text.replace(/\n/g, '\n' + indent);
    return;
  }
  const inner = indent + '  ';
  if (Array.isArray(v)) {
    yield '[\n';
    for (let i = 0; i < v.length; i++) {
      yield inner;
      const x = v[i];
      if (jsonKept(toJsonValue(x, String(i)))) yield* json(x, inner, String(i), limit);
      else yield 'null';
      yield i < v.length - 1 ? ',\n' : '\n';
    }
    yield indent + ']';
    return;
  }
  const keys = Object.keys(v).filter((k) => jsonKept(toJsonValue((v as Obj)[k], k)));
  if (keys.length === 0) {
    yield '{}';
    return;
  }
  yield '{\n';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    yield `${inner}${JSON.stringify(k)}: `;
    yield* json((v as Obj)[k], inner, k, limit);
    yield i < keys.length - 1 ? ',\n' : '\n';
  }
  yield indent + '}';
}
