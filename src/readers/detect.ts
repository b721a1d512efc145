/**
 * Input-kind detection by content (never by file name): config dumps, access logs (Envoy/Istio
 * text, JSON lines, saved ALS NDJSON), captures (pcap / pcapng magic), Kubernetes inventories and
 * Istio policy YAML. Only the head of each file is read. Directories are walked recursively in a
 * stable (sorted) order; anything unrecognised is reported as skipped with the reason.
 */
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { InputError } from '../model/errors.js';
import { yamlToJs, YAML_MAX_ALIAS_COUNT } from './structured.js';
import { isInventory } from './inventory.js';
import { isAccessLog } from './accesslog/index.js';
import { isConfigDump } from './configdump/index.js';
import { isZtunnelConfigDump, isZtunnelPolicyArray } from './configdump/ztunnel.js';
import { decompress, sniffCompression, type Compression } from './capture/compressed.js';

export type InputKind = 'config-dump' | 'ztunnel-config' | 'access-log' | 'capture' | 'inventory' | 'istio-policy' | 'network-policy' | 'unknown';

export interface DetectedInput {
  path: string;
  kind: InputKind;
  /** e.g. `pcap`, `pcapng`, `json`, `yaml`, `text`, `json-lines`, `als-ndjson`. */
  format?: string;
  bytes: number;
  /** For `unknown` (and unreadable) inputs: why it was skipped. */
  reason?: string;
  /** The file is compressed (gzip or Zstandard); `kind` and `format` describe what is inside. */
  compressed?: Compression;
  /**
   * Damaged input (exit 2 where it is read): compressed data that does not decompress, or a whole file that
   * starts as JSON and does not parse (cut short, edited); where the damage is (bytes into the file).
   */
  damaged?: { offset: number };
}

/** How much of a file is looked at to decide its kind. */
export const SNIFF_BYTES = 256 * 1024;

const PCAP_MAGICS = new Set(['a1b2c3d4', 'd4c3b2a1', 'a1b23c4d', '4d3cb2a1']);
const PCAPNG_MAGIC = '0a0d0d0a';

/** Walks files and directories (recursively, sorted) and detects each file's kind. Never throws for one bad input. */
export async function detectInputs(paths: string[]): Promise<DetectedInput[]> {
  const out: DetectedInput[] = [];
  const seen = new Set<string>();
  const visit = async (p: string): Promise<void> => {
    let st;
    try {
      st = await stat(p);
    } catch (e) {
      out.push({ path: p, kind: 'unknown', bytes: 0, reason: fsReason(e) });
      return;
    }
    let real = p;
    try {
      real = await realpath(p);
    } catch {
      // keep p
    }
    if (seen.has(real)) return;
    seen.add(real);
    if (st.isDirectory()) {
      let entries: string[];
      try {
        entries = (await readdir(p)).sort();
      } catch (e) {
        out.push({ path: p, kind: 'unknown', bytes: 0, reason: fsReason(e) });
        return;
      }
      for (const e of entries) await visit(join(p, e));
      return;
    }
    if (!st.isFile()) {
      out.push({ path: p, kind: 'unknown', bytes: 0, reason: 'not a regular file' });
      return;
    }
    out.push(await detectFile(p, st.size));
  };
  for (const p of paths) await visit(p);
  return out;
}

function fsReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return 'no such file or directory';
  if (err.code === 'EACCES') return 'permission denied';
  return err.message ?? String(e);
}

/** Detects one file's kind from its first SNIFF_BYTES. */
export async function detectFile(path: string, size?: number): Promise<DetectedInput> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    return { path, kind: 'unknown', bytes: size ?? 0, reason: fsReason(e) };
  }
  try {
    const bytes = size ?? (await fh.stat()).size;
    const buf = Buffer.alloc(Math.min(SNIFF_BYTES, bytes));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const head = buf.subarray(0, bytesRead);
    const compression = sniffCompression(head);
    if (compression) return { path, bytes, ...(await detectCompressed(compression, head, bytesRead >= bytes, path)) };
    const d = detectContent(head, bytesRead >= bytes);
    return { path, bytes, ...d };
  } catch (e) {
    return { path, kind: 'unknown', bytes: size ?? 0, reason: fsReason(e) };
  } finally {
    await fh.close();
  }
}

/**
 * A gzip or Zstandard file is judged by the head of what it decompresses to, and read as that kind:
 * captures by the capture reader, logs, config dumps, inventories and policies by their readers, each
 * decompressing as it reads (readers/files.ts). Data that does not decompress at all is damaged: named
 * with the offset where decompression failed.
 */
async function detectCompressed(kind: Compression, head: Buffer, complete: boolean, path: string): Promise<ContentKind & { compressed: Compression; damaged?: { offset: number } }> {
  const parts: Uint8Array[] = [];
  let got = 0;
  let cut = false;
  let failure: unknown = null;
  try {
    for await (const c of decompress(kind, (async function* () {
      yield head;
    })(), path)) {
      parts.push(c);
      got += c.length;
      if (got >= SNIFF_BYTES) break;
    }
  } catch (e) {
    // the head ends mid-stream (a longer file), or the data is damaged: judge what came out
    cut = true;
    failure = e;
  }
  const name = kind === 'gzip' ? 'gzip' : 'Zstandard';
  if (got === 0) {
    const at = failure instanceof InputError ? failure.location.offset ?? 0 : 0;
    const why = failure instanceof InputError && failure.found ? failure.found.replace(/^a damaged or cut-short \w+ stream ?/, '') : '';
    return { kind: 'unknown', compressed: kind, damaged: { offset: at }, reason: `${name}-compressed data that does not decompress: damaged or cut short at offset ${at}${why ? ` ${why}` : ''}` };
  }
  const inner = detectContent(Buffer.concat(parts).subarray(0, SNIFF_BYTES), complete && !cut && got < SNIFF_BYTES);
  if (inner.kind === 'unknown') return { kind: 'unknown', compressed: kind, reason: `${name}-compressed ${inner.reason ?? 'unrecognised data'}` };
  return { ...inner, compressed: kind };
}

export interface ContentKind {
  kind: InputKind;
  format?: string;
  reason?: string;
  /** See DetectedInput.damaged. */
  damaged?: { offset: number };
}

/** Decides a kind from the head of a file. `complete` says the head is the whole file. */
export function detectContent(head: Buffer, complete: boolean): ContentKind {
  if (head.length === 0) return { kind: 'unknown', reason: 'empty file' };
  if (head.length >= 4) {
    const magic = head.subarray(0, 4).toString('hex');
    if (PCAP_MAGICS.has(magic)) return { kind: 'capture', format: 'pcap' };
    if (magic === PCAPNG_MAGIC) return { kind: 'capture', format: 'pcapng' };
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return { kind: 'unknown', reason: 'gzip-compressed data: decompress it first (e.g. gunzip)' };
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return { kind: 'unknown', reason: 'zip archive: extract it first' };
  if (looksBinary(head)) return { kind: 'unknown', reason: `binary data that is not a pcap or pcapng capture (first bytes ${head.subarray(0, 4).toString('hex')})` };

  let text = head.toString('utf8');
  if (!complete) {
    // Drop a possibly cut multi-byte character / last partial line.
    const nl = text.lastIndexOf('\n');
    if (nl > 0) text = text.slice(0, nl + 1);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const trimmed = text.trimStart();

  // Access logs: the access-log reader's own sniffer (Envoy/Istio text formats, JSON lines, ALS NDJSON, kubectl prefixes).
  if (isAccessLog(text)) {
    const lines = jsonLinesKind(text);
    return lines ?? { kind: 'access-log', format: 'text' };
  }

  // JSON documents (whole file one value) or JSON lines.
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const lines = jsonLinesKind(text);
    if (lines) return lines;
    if (complete) {
      try {
        return jsonDocKind(JSON.parse(text) as unknown);
      } catch (e) {
        // The whole file is here and is not JSON: damaged (cut short, edited), not merely of another kind.
        return invalidJson(head, text, e);
      }
    }
    return jsonTextKind(text);
  }

  // Access logs in text form (Envoy/Istio default format, possibly with kubectl prefixes).
  const log = textLogKind(text);
  if (log) return log;

  // YAML: config dumps (istioctl -o yaml), inventories, Istio policies.
  if (/^(---|apiVersion:|kind:|configs:|items:|metadata:|spec:|[a-zA-Z_@"][^\n]*:)/m.test(trimmed)) {
    return yamlKind(text, complete);
  }
  return { kind: 'unknown', reason: 'text that is not a config dump, access log, inventory or Istio policy' };
}

function looksBinary(head: Buffer): boolean {
  const n = Math.min(head.length, 4096);
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const b = head[i]!;
    if (b === 0) return true;
    if (b < 7 || (b > 13 && b < 32 && b !== 27)) bad++;
  }
  return bad > n / 32;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const CONFIG_DUMP_TYPE = /ConfigDump$/;
const ISTIO_POLICY_KINDS = new Set(['AuthorizationPolicy', 'PeerAuthentication', 'RequestAuthentication']);

/** Keys that access-log JSON objects carry (Istio's default JSON encoding, Envoy's, and common custom ones). */
const LOG_KEYS = [
  'start_time', 'response_code', 'response_flags', 'response_code_details', 'downstream_remote_address',
  'downstream_local_address', 'upstream_cluster', 'upstream_host', 'bytes_received', 'bytes_sent',
  'requested_server_name', 'connection_termination_details', 'x_forwarded_for', 'authority', 'route_name',
  'START_TIME', 'RESPONSE_CODE', 'DOWNSTREAM_REMOTE_ADDRESS', 'upstream_transport_failure_reason', 'duration',
];

function isConfigDumpDoc(doc: unknown): boolean {
  if (!isObj(doc)) return false;
  const configs = doc.configs;
  if (Array.isArray(configs)) return configs.some((c) => isObj(c) && typeof c['@type'] === 'string' && CONFIG_DUMP_TYPE.test(c['@type']));
  if (isObj(configs)) return Object.values(configs).some((c) => isObj(c) && typeof c['@type'] === 'string' && CONFIG_DUMP_TYPE.test(c['@type']));
  // A bundle of several proxies' dumps: {"<proxy>": {configs: [...]}} or [{configs}, ...].
  return false;
}

function isBundleOfDumps(doc: unknown): boolean {
  if (Array.isArray(doc)) return doc.length > 0 && doc.every((d) => isConfigDumpDoc(d) || (isObj(d) && isConfigDumpDoc(d.config_dump ?? d.configDump ?? d.dump)));
  if (isObj(doc)) {
    const vals = Object.values(doc);
    return vals.length > 0 && vals.every((v) => isConfigDumpDoc(v));
  }
  return false;
}

function isIstioPolicy(doc: unknown): boolean {
  if (!isObj(doc)) return false;
  if (typeof doc.apiVersion === 'string' && /^security\.istio\.io\//.test(doc.apiVersion) && ISTIO_POLICY_KINDS.has(String(doc.kind))) return true;
  if (doc.kind === 'List' && Array.isArray(doc.items)) return doc.items.length > 0 && doc.items.every((i) => isIstioPolicy(i));
  return false;
}

const CALICO_KINDS = new Set(['NetworkPolicy', 'GlobalNetworkPolicy', 'Tier']);

/** NetworkPolicy, AdminNetworkPolicy/BaselineAdminNetworkPolicy or Calico policy objects (or a List holding one). */
function isNetworkPolicyDoc(doc: unknown): boolean {
  if (!isObj(doc)) return false;
  const api = typeof doc.apiVersion === 'string' ? doc.apiVersion : '';
  const kind = String(doc.kind);
  if (kind === 'NetworkPolicy' && api.startsWith('networking.k8s.io/')) return true;
  if ((kind === 'AdminNetworkPolicy' || kind === 'BaselineAdminNetworkPolicy') && api.startsWith('policy.networking.k8s.io/')) return true;
  if (CALICO_KINDS.has(kind) && /^(crd\.)?projectcalico\.org\//.test(api)) return true;
  if (kind.endsWith('List') && Array.isArray(doc.items)) return doc.items.some((i) => isNetworkPolicyDoc(i));
  return false;
}

function isAccessLogObject(doc: unknown): 'json' | 'als' | null {
  if (!isObj(doc)) return null;
  if (doc.type === 'als' && (doc.kind === 'http' || doc.kind === 'tcp') && isObj(doc.entry)) return 'als';
  if (isObj(doc.common_properties) || isObj(doc.commonProperties)) return 'als';
  if (isObj(doc.identifier) && (Array.isArray(doc.http_logs) || Array.isArray(doc.tcp_logs) || isObj(doc.http_logs) || isObj(doc.tcp_logs) || isObj(doc.httpLogs) || isObj(doc.tcpLogs))) return 'als';
  let hits = 0;
  for (const k of LOG_KEYS) if (k in doc) hits++;
  return hits >= 2 ? 'json' : null;
}

function jsonDocKind(doc: unknown): ContentKind {
  // ztunnel (ambient) config dump: `istioctl ztunnel-config all -o json` / ztunnel's /config_dump.
  if (isZtunnelConfigDump(doc) || isZtunnelPolicyArray(doc)) return { kind: 'ztunnel-config', format: 'json' };
  if (isConfigDumpDoc(doc) || isConfigDump(doc)) return { kind: 'config-dump', format: 'json' };
  if (isBundleOfDumps(doc)) return { kind: 'config-dump', format: 'json-bundle' };
  if (isIstioPolicy(doc)) return { kind: 'istio-policy', format: 'json' };
  if (isInventory(doc)) return { kind: 'inventory', format: 'json' };
  if (isNetworkPolicyDoc(doc)) return { kind: 'network-policy', format: 'json' };
  const log = isAccessLogObject(doc);
  if (log) return { kind: 'access-log', format: log === 'als' ? 'als-ndjson' : 'json' };
  if (Array.isArray(doc) && doc.length > 0 && doc.every((d) => isAccessLogObject(d))) return { kind: 'access-log', format: 'json-array' };
  if (isObj(doc) && typeof doc.kind === 'string') return { kind: 'unknown', reason: `Kubernetes object of kind ${doc.kind} (not a Pod, Service, ServiceAccount or Istio security policy)` };
  return { kind: 'unknown', reason: 'JSON that is not a config dump, access log, inventory or Istio policy' };
}

/**
 * A complete file that starts as JSON but does not parse: the byte offset where the parser stopped and
 * what it met. V8 names a character position for most errors; for an unexpected token it names none,
 * and the position is the shortest prefix that fails for a reason other than ending early (binary
 * search: at most ~19 parses of a head of at most SNIFF_BYTES).
 */
function invalidJson(head: Buffer, text: string, e: unknown): ContentKind {
  const msg = e instanceof Error ? e.message : String(e);
  const at = (m: string): number | null => {
    const p = /in JSON at position (\d+)/.exec(m);
    return p ? Number(p[1]) : null;
  };
  const endsEarly = (m: string, len: number): boolean => m.startsWith('Unexpected end of JSON input') || at(m) === len;
  let pos = msg.startsWith('Unexpected end of JSON input') ? text.length : at(msg);
  if (pos === null) {
    let lo = 1;
    let hi = text.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      let bad = false;
      try {
        JSON.parse(text.slice(0, mid));
      } catch (x) {
        bad = !endsEarly(x instanceof Error ? x.message : String(x), mid);
      }
      if (bad) hi = mid;
      else lo = mid + 1;
    }
    pos = lo - 1;
  }
  const cut = pos >= text.trimEnd().length;
  const bom = head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  const offset = bom + Buffer.byteLength(text.slice(0, pos));
  const what = cut ? 'the input ends inside a value (cut short?)' : msg.replace(/ in JSON at position \d+.*$/, '').replace(/, (\.\.\.)?".*" is not valid JSON$/s, '');
  return { kind: 'unknown', damaged: { offset }, reason: `invalid JSON at offset ${offset}: ${what}; expected a complete JSON document` };
}

/** NDJSON: several lines that are each a complete JSON object (access logs, ALS records, or dumps of many proxies). */
function jsonLinesKind(text: string): ContentKind | null {
  const lines = text.split('\n').filter((l) => l.trim().length > 0).slice(0, 20);
  if (lines.length < 1) return null;
  let als = 0;
  let json = 0;
  let parsed = 0;
  for (const l of lines) {
    const t = l.trim();
    if (!t.startsWith('{') || !t.endsWith('}')) {
      // A kubectl-prefixed line (`[pod/x/istio-proxy] {...}`) also counts.
      const m = /^\S+\s+(\{.*\})$/.exec(t);
      if (!m) continue;
      try {
        const k = isAccessLogObject(JSON.parse(m[1]!) as unknown);
        parsed++;
        if (k === 'json') json++;
        if (k === 'als') als++;
      } catch {
        // not JSON
      }
      continue;
    }
    try {
      const v = JSON.parse(t) as unknown;
      parsed++;
      const k = isAccessLogObject(v);
      if (k === 'json') json++;
      if (k === 'als') als++;
    } catch {
      // not a complete line
    }
  }
  if (parsed === 0) return null;
  if (lines.length === 1 && parsed === 1 && !(als || json)) return null;
  if (als > 0 && als >= json) return { kind: 'access-log', format: 'als-ndjson' };
  if (json > 0) return { kind: 'access-log', format: 'json-lines' };
  return null;
}

/** Textual sniffing for a JSON file too large to parse in the head. */
function jsonTextKind(text: string): ContentKind {
  if (/^\s*\{\s*"workloads"\s*:\s*\{/.test(text) && /"workloadIps"\s*:/.test(text) && /"(trustDomain|serviceAccount)"\s*:/.test(text)) return { kind: 'ztunnel-config', format: 'json' };
  if (/"@type"\s*:\s*"type\.googleapis\.com\/envoy\.admin\.v[23]\.\w*ConfigDump"/.test(text)) return { kind: 'config-dump', format: 'json' };
  if (/"apiVersion"\s*:\s*"security\.istio\.io\//.test(text) && /"kind"\s*:\s*"(AuthorizationPolicy|PeerAuthentication|RequestAuthentication)"/.test(text)) return { kind: 'istio-policy', format: 'json' };
  if (/"kind"\s*:\s*"(Pod|Service|ServiceAccount|PodList|ServiceList|ServiceAccountList)"/.test(text) && /"apiVersion"\s*:\s*"v1"/.test(text)) return { kind: 'inventory', format: 'json' };
  let hits = 0;
  for (const k of LOG_KEYS) if (text.includes(`"${k}"`)) hits++;
  if (hits >= 3) return { kind: 'access-log', format: 'json' };
  return { kind: 'unknown', reason: 'JSON that is not a config dump, access log, inventory or Istio policy' };
}

/** Envoy's default text format starts with `[%START_TIME%] "` (Istio's too); kubectl may prefix lines. */
const TEXT_LOG_LINE = /^(?:\[[^\]]*\]\s+|\S+Z\s+|\S+\s+)?\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)\] "/;

function textLogKind(text: string): ContentKind | null {
  const lines = text.split('\n').filter((l) => l.trim().length > 0).slice(0, 200);
  let hits = 0;
  for (const l of lines) if (TEXT_LOG_LINE.test(l)) hits++;
  if (hits > 0) return { kind: 'access-log', format: 'text' };
  return null;
}

function yamlKind(text: string, complete: boolean): ContentKind {
  // Only the first documents are needed; a cut last document may fail to parse, so ignore its errors.
  let docs;
  try {
    docs = parseAllDocuments(text);
  } catch {
    return { kind: 'unknown', reason: 'text that is neither YAML nor a recognised log format' };
  }
  const arr = Array.isArray(docs) ? docs : [docs];
  const values: unknown[] = [];
  for (let i = 0; i < arr.length; i++) {
    const d = arr[i]!;
    if (d.errors.length > 0) {
      if (!complete && i === arr.length - 1 && i > 0) break;
      if (!complete && i === 0 && /ConfigDump/.test(text)) return { kind: 'config-dump', format: 'yaml' };
      const yamlish = /^(apiVersion|kind|configs):/m.test(text);
      return { kind: 'unknown', reason: yamlish ? `invalid YAML (${(d.errors[0]?.message.split('\n')[0] ?? 'parse error').replace(/:$/, '')})` : 'text that is not a config dump, access log, inventory or Istio policy' };
    }
    let v: unknown;
    try {
      v = yamlToJs(d, '', text);
    } catch (e) {
      if (e instanceof InputError) return { kind: 'unknown', reason: `YAML whose aliases expand beyond ${YAML_MAX_ALIAS_COUNT} (a "billion laughs" document?)` };
      throw e;
    }
    if (v !== null && v !== undefined) values.push(v);
  }
  if (values.length === 0) return { kind: 'unknown', reason: 'empty YAML' };
  if (values.some((v) => isConfigDumpDoc(v) || isBundleOfDumps(v) || isConfigDump(v))) return { kind: 'config-dump', format: 'yaml' };
  if (values.length === 1 && (isZtunnelConfigDump(values[0]) || isZtunnelPolicyArray(values[0]))) return { kind: 'ztunnel-config', format: 'yaml' };
  if (values.some((v) => isIstioPolicy(v))) {
    return { kind: 'istio-policy', format: 'yaml' };
  }
  if (values.some((v) => isInventory(v))) return { kind: 'inventory', format: 'yaml' };
  if (values.some((v) => isNetworkPolicyDoc(v))) return { kind: 'network-policy', format: 'yaml' };
  const first = values[0];
  if (isObj(first) && typeof first.kind === 'string') return { kind: 'unknown', reason: `Kubernetes object of kind ${first.kind} (not a Pod, Service, ServiceAccount or Istio security policy)` };
  if (values.every((v) => typeof v !== 'object' || v === null)) return { kind: 'unknown', reason: 'text that is not a config dump, access log, inventory or Istio policy' };
  return { kind: 'unknown', reason: 'YAML that is not a config dump, access log, inventory or Istio policy' };
}
