/**
 * Reads Kubernetes objects from YAML or JSON text: multi-document YAML (`---`), `kubectl get -o yaml`
 * lists (`kind: List` / `*List` with `items`), and JSON. Every object remembers where it came from
 * (file, 1-based line, a path like `doc[1].items[0]`) so later complaints can name it.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Composer, LineCounter, Parser, parseDocument, isCollection, isMap, isSeq, type Document, type Node as YamlNode } from 'yaml';
import { InputError, type Diagnostic } from '../model/errors.js';
import { appendAll } from '../model/arrays.js';
import { yamlToJs } from './structured.js';
import { sniffBinary } from './sniff.js';
import { readWholeFile } from './files.js';

export interface K8sSource {
  file: string;
  /** 1-based line where the object starts. */
  line?: number;
  /** Where in the file: `doc[0]`, `doc[2].items[5]`. */
  path: string;
  /** 1-based line of a field inside the object, by relative path (`.spec.rules[0].to[1]`); undefined if absent. */
  lineAt?: (relPath: string) => number | undefined;
}

/** `.spec.rules[0].to` → ['spec','rules',0,'to']. */
export function pathSegments(relPath: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(relPath)) !== null) out.push(m[1] !== undefined ? m[1] : Number(m[2]));
  return out;
}

export interface K8sMetadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: K8sMetadata;
  /** The whole object as parsed (plain JSON values). */
  raw: Record<string, unknown>;
  source: K8sSource;
}

export interface K8sReadResult {
  objects: K8sObject[];
  diagnostics: Diagnostic[];
  /** Documents that were not Kubernetes objects and were skipped (counted in diagnostics too). */
  skipped: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The last document re-parsed for a field's line (consecutive questions are mostly about one document). */
let reparsedDoc: { text: string; start: number; doc: Document.Parsed; lines: LineCounter } | null = null;

/**
 * 1-based line of the node at `segs` inside the document whose contents start on the line at `start` (offset
 * of that line's first character, line number `baseLine`) and end at `end`: that part of the text parsed again.
 * Objects keep these few numbers, not the document's node tree, so memory does not grow with the parse trees of
 * every document read. Undefined when the path is absent.
 */
function lineInDocument(text: string, start: number, end: number, baseLine: number, segs: (string | number)[]): number | undefined {
  if (reparsedDoc?.text !== text || reparsedDoc.start !== start) {
    const lines = new LineCounter();
    reparsedDoc = { text, start, doc: parseDocument(text.slice(start, end), { lineCounter: lines, uniqueKeys: false }), lines };
  }
  const { doc, lines } = reparsedDoc;
  const n = segs.length === 0 ? doc.contents : isCollection(doc.contents) ? (doc.contents.getIn(segs, true) as YamlNode | undefined) : undefined;
  return n && typeof n === 'object' && 'range' in n && n.range ? lines.linePos(n.range[0]).line + baseLine - 1 : undefined;
}

/** Parses YAML/JSON text holding one or more Kubernetes objects. A syntax error throws an InputError with the line. */
export function parseK8sObjects(text: string, file: string): K8sReadResult {
  const lineCounter = new LineCounter();
  const out: K8sReadResult = { objects: [], diagnostics: [], skipped: 0 };
  // one document at a time (as parseAllDocuments, without holding every document's tree at once)
  const composer = new Composer({ lineCounter, uniqueKeys: false });
  let di = -1;
  for (const doc of composer.compose(new Parser(lineCounter.addNewLine).parse(text))) {
    di++;
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      const pos = e.pos[0] >= 0 ? lineCounter.linePos(e.pos[0]) : undefined;
      const message = pos ? `${e.message} at line ${pos.line}, column ${pos.col}` : e.message;
      throw new InputError({ file, line: pos?.line, path: `doc[${di}]` }, 'valid YAML', message.split('\n')[0]!.replace(/:\s*$/, ''));
    }
    const value = yamlToJs(doc, file, text);
    if (value === null || value === undefined) continue; // empty document (e.g. trailing ---)
    const lineOf = (node: YamlNode | null | undefined) => (node?.range ? lineCounter.linePos(node.range[0]).line : undefined);
    const contents = doc.contents as YamlNode | null;
    // where the document's contents start (the beginning of their line) and end, for lineAt
    const docLine = lineOf(contents);
    const docStart = docLine !== undefined ? (lineCounter.lineStarts[docLine - 1] ?? 0) : 0;
    const docEnd = contents?.range ? contents.range[2] : text.length;
    visit(value, contents, `doc[${di}]`, []);

    function visit(v: unknown, node: YamlNode | null | undefined, path: string, nodePath: (string | number)[]): void {
      const line = lineOf(node);
      if (!isRecord(v)) {
        out.skipped++;
        out.diagnostics.push({ severity: 'warning', location: { file, line, path }, message: `skipped: expected a Kubernetes object (mapping with apiVersion/kind), found ${Array.isArray(v) ? 'a sequence' : typeof v}` });
        return;
      }
      const kind = v.kind;
      if (typeof kind === 'string' && (kind === 'List' || kind.endsWith('List')) && Array.isArray(v.items)) {
        const itemsNode = isMap(node) ? (node.get('items', true) as YamlNode | undefined) : undefined;
        v.items.forEach((item, i) => {
          const itemNode = isSeq(itemsNode) ? (itemsNode.items[i] as YamlNode | undefined) : undefined;
          visit(item, itemNode, `${path}.items[${i}]`, [...nodePath, 'items', i]);
        });
        return;
      }
      if (typeof kind !== 'string' || typeof v.apiVersion !== 'string') {
        out.skipped++;
        out.diagnostics.push({ severity: 'warning', location: { file, line, path }, message: 'skipped: expected a Kubernetes object with string `apiVersion` and `kind`' });
        return;
      }
      const md = isRecord(v.metadata) ? v.metadata : {};
      if (typeof md.name !== 'string' || md.name === '') {
        out.skipped++;
        out.diagnostics.push({ severity: 'error', location: { file, line, path: `${path}.metadata.name` }, message: `skipped ${kind}: expected a non-empty metadata.name` });
        return;
      }
      const isMapNode = isMap(node);
      out.objects.push({
        apiVersion: v.apiVersion,
        kind,
        metadata: {
          name: md.name,
          namespace: typeof md.namespace === 'string' ? md.namespace : undefined,
          labels: stringMap(md.labels),
          annotations: stringMap(md.annotations),
        },
        raw: v,
        source: {
          file,
          line,
          path,
          lineAt: (rel: string) => {
            // Walk to the deepest existing node on the path: a missing leaf points at its parent.
            let segs = pathSegments(rel);
            if (!isMapNode || docLine === undefined) return line;
            while (segs.length > 0) {
              const l = lineInDocument(text, docStart, docEnd, docLine, [...nodePath, ...segs]);
              if (l !== undefined) return l;
              segs = segs.slice(0, -1);
            }
            return line;
          },
        },
      });
    }
  }
  return out;
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) out[k] = typeof x === 'string' ? x : String(x);
  return out;
}

const MANIFEST_EXT = /\.(ya?ml|json)(\.(gz|zst))?$/i;

/**
 * Reads files and directories (recursively, `*.yaml|*.yml|*.json`, also gzip/Zstandard-compressed, sorted)
 * into objects. `-` reads standard input. Unreadable paths throw (the CLI maps them to exit 2).
 */
export async function readK8sPaths(paths: string[], stdin?: () => Promise<string>): Promise<K8sReadResult> {
  const out: K8sReadResult = { objects: [], diagnostics: [], skipped: 0 };
  const files: string[] = [];
  for (const p of paths) {
    if (p === '-') {
      files.push('-');
      continue;
    }
    const st = await stat(p);
    if (st.isDirectory()) appendAll(files, await listManifests(p));
    else files.push(p);
  }
  for (const f of files) {
    let text: string;
    if (f === '-' && stdin) text = await stdin();
    else {
      const buf = await readWholeFile(f);
      const bin = sniffBinary(buf);
      if (bin) throw new InputError({ file: f, offset: 0 }, 'Kubernetes manifests (YAML or JSON)', bin);
      text = buf.toString('utf8');
    }
    const r = parseK8sObjects(text, f === '-' ? '<stdin>' : f);
    appendAll(out.objects, r.objects);
    appendAll(out.diagnostics, r.diagnostics);
    out.skipped += r.skipped;
  }
  return out;
}

async function listManifests(dir: string): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) appendAll(out, await listManifests(p));
    else if (MANIFEST_EXT.test(e.name)) out.push(p);
  }
  return out;
}
