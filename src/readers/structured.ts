/**
 * Structured-text loading (JSON or YAML) with user-facing errors: every failure becomes an
 * InputError naming the file, the line (and byte offset) of a syntax error, or the JSON path of a
 * shape error, plus what was expected and what was found. Binary files are recognised and refused
 * by name (pcap, pcapng, gzip) instead of producing a confusing parser message.
 */
import { parseAllDocuments, type Document } from 'yaml';
import jsYaml from 'js-yaml';
import { InputError } from '../model/errors.js';
import { readWholeFile } from './files.js';
import { sniffBinary } from './sniff.js';

/** Describes what a value is, for "found …" messages. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  switch (typeof v) {
    case 'string':
      return `a string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
    case 'number':
      return `the number ${v}`;
    case 'boolean':
      return `${v}`;
    case 'object': {
      const keys = Object.keys(v as object);
      if (keys.length === 0) return 'an empty object';
      const shown = keys.slice(0, 4).map((k) => JSON.stringify(k)).join(', ');
      return `an object with keys ${shown}${keys.length > 4 ? ', …' : ''}`;
    }
    default:
      return typeof v;
  }
}

/** Appends a key or index to a JSON path (`$.a.b[2]`, `$["weird key"]`). */
export function jsonPathJoin(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return /^[A-Za-z_@][A-Za-z0-9_@]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

/** 1-based line and column of a character offset. */
export function lineOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  const end = Math.min(offset, text.length);
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) {
    line++;
    last = i;
  }
  return { line, column: end - last };
}

/** Byte offset (UTF-8) of a character offset. */
function byteOffset(text: string, charOffset: number): number {
  return Buffer.byteLength(text.slice(0, charOffset), 'utf8');
}

/**
 * Parses JSON text; on a syntax error throws an InputError with line and offset, and says
 * "truncated" when the text ends in the middle of a value.
 */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const m = /position (\d+)/.exec(msg);
    const trimmedLen = text.trimEnd().length;
    let pos = m ? Number(m[1]) : findJsonErrorOffset(text);
    const truncated = /Unexpected end of JSON input|Unterminated string|end of data/i.test(msg) || pos >= trimmedLen;
    if (pos > text.length) pos = text.length;
    const { line, column } = lineOf(text, pos);
    const found = truncated
      ? 'the end of the file (truncated JSON)'
      : `${JSON.stringify(text.slice(pos, pos + 12))} (JSON syntax error at column ${column})`;
    throw new InputError({ file, line, offset: byteOffset(text, pos) }, 'valid JSON', found);
  }
}

/**
 * YAML aliases expand to copies of their anchor's value, so a few kilobytes of nested aliases ("billion
 * laughs") become gigabytes once walked. Evidence is parsed with at most this many alias expansions, counted
 * by the `yaml` package as it resolves them (an alias to a large node counts for each node in it), and a
 * document over it is refused with its file and line.
 */
export const YAML_MAX_ALIAS_COUNT = 100;

/** An anchor (`&name`) outside quotes: only then can a document contain aliases. */
const ANCHOR = /(?:^|[\s[{,:-])&[^\s,[\]{}]+/;

/** Line (1-based) of the first alias (`*name`) in the text, for the alias-limit message. */
function firstAliasLine(text: string): number | undefined {
  const m = /(?:^|[\s[{,:-])\*[^\s,[\]{}]+/m.exec(text);
  if (!m) return undefined;
  return text.slice(0, m.index + 1).split('\n').length;
}

/**
 * A parsed `yaml` document as plain values, with aliases bounded by YAML_MAX_ALIAS_COUNT. Throws InputError
 * naming the file and the first alias's line when the document expands more than that.
 */
export function yamlToJs(doc: Document.Parsed | Document, file: string, text: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: YAML_MAX_ALIAS_COUNT });
  } catch (e) {
    if (e instanceof ReferenceError && /alias/i.test(e.message)) {
      throw new InputError({ file, line: firstAliasLine(text) }, `YAML with at most ${YAML_MAX_ALIAS_COUNT} alias expansions`, 'aliases that expand far beyond that (a "billion laughs" document?)');
    }
    throw e;
  }
}

/**
 * Parses YAML text (one or more documents); syntax errors carry the line.
 * js-yaml does the work (about 10× faster than `yaml` on multi-MB `istioctl … -o yaml` dumps), with
 * the YAML 1.2 core schema so that timestamps stay strings; when it fails, `yaml` re-parses the text
 * to name the error and its position.
 */
export function parseYamlText(text: string, file: string): unknown[] {
  // js-yaml has no alias limit: text with anchors goes to `yaml`, which counts alias expansions
  if (ANCHOR.test(text)) return parseYamlTextStrict(text, file);
  try {
    return jsYaml.loadAll(text, undefined, { schema: jsYaml.CORE_SCHEMA, json: true }).filter((v) => v !== null && v !== undefined);
  } catch {
    return parseYamlTextStrict(text, file);
  }
}

function parseYamlTextStrict(text: string, file: string): unknown[] {
  const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: unknown[] = [];
  for (const d of list) {
    const e = d.errors[0];
    if (e) {
      const pos = e.pos?.[0] ?? 0;
      const { line } = lineOf(text, pos);
      throw new InputError({ file, line, offset: byteOffset(text, pos) }, 'valid YAML', `${e.code.toLowerCase().replace(/_/g, ' ')}: ${e.message.split('\n')[0]}`);
    }
    const v = yamlToJs(d, file, text);
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

/**
 * Parses a buffer as JSON (when it starts with `{` or `[`) or YAML (one value per document).
 * Always returns a list of documents.
 */
export function parseStructured(buf: Uint8Array | string, file: string): unknown[] {
  if (typeof buf !== 'string') {
    const bin = sniffBinary(buf);
    if (bin) throw new InputError({ file, offset: 0 }, 'a JSON or YAML document', bin);
  }
  const text = typeof buf === 'string' ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8');
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const first = /\S/.exec(body);
  if (!first) throw new InputError({ file, offset: 0 }, 'a JSON or YAML document', 'an empty file');
  const c = first[0];
  if (c === '{' || c === '[') return [parseJsonText(body, file)];
  return parseYamlText(body, file);
}

/** Reads and parses a JSON/YAML file. */
export async function readStructuredFile(path: string): Promise<unknown[]> {
  const buf = await readWholeFile(path);
  return parseStructured(buf, path);
}

/**
 * Finds the character offset of the first JSON syntax error (Node's messages do not always carry
 * a position). Only runs on the error path.
 */
export function findJsonErrorOffset(text: string): number {
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const value = (): void => {
    ws();
    if (i >= n) fail();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        str();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail();
      }
    } else if (c === '"') {
      str();
    } else {
      const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
      if (!m) fail();
      i += m![0].length;
    }
  };
  const str = () => {
    i++;
    while (i < n) {
      const c = text[i];
      if (c === '\\') i += 2;
      else if (c === '"') {
        i++;
        return;
      } else if (c! < ' ') fail();
      else i++;
    }
    fail();
  };
  try {
    value();
    ws();
    return i < n ? i : n;
  } catch (pos) {
    return typeof pos === 'number' ? pos : 0;
  }
}
