/**
 * Keeps access records small while `report` holds them for correlation (issue 17): a record read from
 * a log costs ~1.7 KB when kept as parsed, most of it the same few strings and arrays over and over and
 * the map of every logged field, which the analysis reads only a handful of.
 *
 * `RecordCompactor.compact(r)` rewrites one record in place, changing no value the analysis sees:
 *  - repeated strings (addresses, SNI, method, path, authority, response details, cluster, route, user
 *    agent, node and format names) are shared through a bounded interner, so each distinct value is
 *    stored once and no kept value pins the log chunk it was sliced from;
 *  - the `unknown` / `knownHeaders` lists and peer SAN lists are shared between records that carry the
 *    same ones; `remote` / `directRemote` share `source`'s object when they are the same endpoint, and
 *    equal `{ address, port }` endpoints are one object (bounded);
 *  - `attrs`, `attrs.http` and its header map are rebuilt with room for exactly their properties, in the
 *    same order (`reshape`);
 *  - `fields` keeps only the fields the analysis reads (ANALYSIS_FIELDS: the addresses and cluster the
 *    correlation falls back to when the record lacks the typed attribute, the original path, Istio's
 *    dry-run results) and the record is marked
 *    `fieldsElided`. The report lists every field only for the few records it shows with their fields
 *    (cited by a finding, or whose replay did not agree); those are re-read from the log file by their
 *    evidence reference (evidence.ts `fillElidedFields`). The file is evidence, hashed in the manifest.
 *
 * Shared objects are never mutated by the analysis (it copies a record before changing it, see
 * evidence.ts withPeerCertificate).
 */
import type { AccessRecord, Explanation } from '../model/records.js';
import type { Endpoint, HeaderMap, JsonValue } from '../model/attrs.js';

/**
 * Logged fields the analysis reads by name (correlate.ts `field()` looks them up case-insensitively,
 * so they are kept under any spelling), and the pattern of Istio's dry-run fields findings.ts reads.
 */
export const ANALYSIS_FIELDS: ReadonlySet<string> = new Set(
  [
    'UPSTREAM_CLUSTER',
    'UPSTREAM_CLUSTER_RAW',
    'upstream_cluster',
    'UPSTREAM_LOCAL_ADDRESS',
    'upstream_local_address',
    'UPSTREAM_HOST',
    'upstream_host',
    'DOWNSTREAM_REMOTE_ADDRESS',
    'downstream_remote_address',
    'DOWNSTREAM_LOCAL_ADDRESS',
    'downstream_local_address',
    'X-ENVOY-ORIGINAL-PATH?:PATH',
    'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)',
    'path',
  ].map((n) => n.toLowerCase()),
);
export const ANALYSIS_FIELD_PATTERN = /istio_dry_run_(allow|deny)_shadow_/;

/** Whether the analysis reads this logged field (see ANALYSIS_FIELDS). */
export function analysisField(name: string): boolean {
  return ANALYSIS_FIELDS.has(name.toLowerCase()) || ANALYSIS_FIELD_PATTERN.test(name);
}

/**
 * A string with its own storage (not a slice of a larger one, which would keep the larger one alive). V8 copies
 * slices shorter than 13 characters; a longer one is copied by slicing a fresh concatenation (flattened: a new
 * string of the characters, which the result is a slice of) — a tenth of the cost of the JSON round trip used
 * before (issue 17, report speed).
 */
function ownCopy(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** Shares equal strings, up to `limit` distinct ones (past it values are kept as they are: memory only, never a different value). */
export class Interner {
  private readonly map = new Map<string, string>();
  /** `copyPastLimit`: past the limit a value is still copied to its own storage (not shared, not kept). */
  constructor(
    private readonly limit = 1 << 16,
    private readonly copyPastLimit = false,
  ) {}

  get(s: string): string;
  get(s: string | undefined): string | undefined;
  get(s: string | undefined): string | undefined {
    if (s === undefined) return s;
    const hit = this.map.get(s);
    if (hit !== undefined) return hit;
    if (this.map.size >= this.limit) return this.copyPastLimit ? ownCopy(s) : s;
    const own = ownCopy(s);
    this.map.set(own, own);
    return own;
  }
}

/** The kept fields of a record that keeps none: one shared object (frozen: the analysis never writes a record's fields). */
const NO_FIELDS: Record<string, JsonValue> = Object.freeze({}) as Record<string, JsonValue>;

/**
 * Distinct `{ address, port }` endpoints a RecordCompactor shares by default. Servers' endpoints recur in every
 * record they log; clients' ephemeral ones are met once, so a larger bound fills with endpoints never met again,
 * kept for the whole run (65,536 before: 7.2 MB held after 70,000 records of clients on 7 addresses with
 * ephemeral ports, 0.8 MB at 4,096; measured with --expose-gc, heap after a full GC).
 */
export const DEFAULT_ENDPOINT_LIMIT = 4096;

/** A node of a trie over key (or element) sequences: what is stored for the sequence ending here. */
interface SeqNode<T> {
  next: Map<string, SeqNode<T>> | null;
  value: T | undefined;
}

function seqNode<T>(): SeqNode<T> {
  return { next: null, value: undefined };
}

/** The node of `seq` under `root`, made on the way when `make` (else undefined when absent). */
function walk<T>(root: SeqNode<T>, seq: readonly string[], make: boolean): SeqNode<T> | undefined {
  let node = root;
  for (let i = 0; i < seq.length; i++) {
    const k = seq[i]!;
    let nx = node.next?.get(k);
    if (nx === undefined) {
      if (!make) return undefined;
      nx = seqNode<T>();
      (node.next ??= new Map()).set(k, nx);
    }
    node = nx;
  }
  return node;
}

/** Rebuilds an object of one shape (its keys, in order) with room for exactly its properties. */
type Rebuild = (o: Record<string, unknown>) => Record<string, unknown>;

/**
 * An object literal of the keys (JSON string literals: never code), read from the given object: V8 allocates a
 * literal with exactly its properties, in order. Null when code generation is refused
 * (--disallow-code-generation-from-strings): the caller copies a template instead.
 */
function literalRebuild(keys: readonly string[]): Rebuild | null {
  try {
    return new Function('o', `return {${keys.map((k) => `${JSON.stringify(k)}: o[${JSON.stringify(k)}]`).join(',')}};`) as Rebuild;
  } catch {
    return null;
  }
}

/** A logged field the analysis reads: its name (own storage) and its lower-case spelling (for `redundant`). */
interface KeptField {
  name: string;
  lower: string;
}

/** Distinct field names whose verdict (read by the analysis or not) is remembered. */
const FIELD_NAME_LIMIT = 4096;
/** Shapes with more keys are not rebuilt by a compiled literal (see reshape). */
const MAX_LITERAL_KEYS = 256;

export class RecordCompactor {
  private readonly strings = new Interner();
  /**
   * The kept fields' values, apart: some are per connection (upstream_local_address, a client's address and
   * ephemeral port), so they would fill the shared interner with strings never met again, kept for the whole
   * run; a small bound, and past it each value its own copy (issue 17: the shared interner grew with the
   * records up to its bound, 28,028 strings after one 172k-line fleet log, 28 without the field values; a 1M-line
   * fleet report then fits the 80 MB heap a 100k one needs, where it ran out before).
   */
  private readonly fieldValues = new Interner(4096, true);
  /** Shared lists by their elements (a trie: no joined key per lookup), up to listLimit of them. */
  private readonly lists = seqNode<string[]>();
  private listCount = 0;
  private readonly listLimit = 4096;
  /**
   * Equal `{ address, port }` endpoints shared, up to `endpointLimit` distinct ones (past it each record keeps its
   * own: memory only — no output depends on which records share an endpoint object; the decision memo compares
   * endpoints by value, explain.ts sameEndpointPart). By address, then port (NO_PORT: an endpoint without one).
   */
  private readonly endpoints = new Map<string, Map<unknown, Endpoint>>();
  private endpointCount = 0;
  private readonly endpointLimit: number;
  /**
   * Per shape (its keys in order): how an object of it is rebuilt (a compiled literal, or a copy of a template
   * made by JSON.parse of `{"k":null,...}`, which sizes an object to its properties), up to shapeLimit shapes.
   */
  private readonly shapes = seqNode<Rebuild>();
  private shapeCount = 0;
  private readonly shapeLimit = 256;
  /** Per logged field name met: the field when the analysis reads it (ANALYSIS_FIELDS), else null. */
  private readonly fieldNames = new Map<string, KeptField | null>();

  /** `endpoints`: distinct endpoints shared at most (default DEFAULT_ENDPOINT_LIMIT). */
  constructor(opts: { endpoints?: number } = {}) {
    this.endpointLimit = Math.max(0, Math.floor(opts.endpoints ?? DEFAULT_ENDPOINT_LIMIT));
  }

  /** One shared array per distinct list of strings (bounded, like the interner). */
  private list(a: string[]): string[] {
    if (a.length === 0) return a;
    const node = walk(this.lists, a, this.listCount < this.listLimit);
    if (node === undefined) return a;
    if (node.value !== undefined) return node.value;
    if (this.listCount >= this.listLimit) return a;
    const own = a.map((s) => this.strings.get(s));
    node.value = own;
    this.listCount++;
    return own;
  }

  /** Shares equal `{ address, port }` endpoints (a server's address recurs in every record it logged), bounded. */
  private endpoint(e: Endpoint): Endpoint {
    const address = (e.address = this.strings.get(e.address));
    const keys = Object.keys(e);
    if (keys[0] !== 'address' || keys.length > 2 || (keys.length === 2 && keys[1] !== 'port')) return e;
    const port: unknown = keys.length === 2 ? e.port : NO_PORT;
    let byPort = this.endpoints.get(address);
    const hit = byPort?.get(port);
    if (hit) return hit;
    if (this.endpointCount < this.endpointLimit) {
      if (byPort === undefined) this.endpoints.set(address, (byPort = new Map()));
      byPort.set(port, e);
      this.endpointCount++;
    }
    return e;
  }

  /**
   * The same object with room for exactly its properties, in the same order: an object built property by
   * property reserves slots it never fills (attrs, http and header maps cost ~100 bytes more a record that
   * way). Built by an object literal compiled once per shape (found by a trie over the keys: no joined key
   * per object), or, where code generation is refused or the shape is large, as a copy (object spread, which
   * keeps the template's exact size) of a per-shape template made once by JSON.parse, then filled (issue 17,
   * report speed: the copy and fill cost 4.9 s of a 1M-record report). Left as it is when it has non-enumerable
   * or symbol keys, `__proto__`, or past `shapeLimit` distinct shapes.
   */
  private reshape<T extends object>(o: T): T {
    const keys = Object.keys(o);
    if (keys.length === 0 || Reflect.ownKeys(o).length !== keys.length) return o;
    let rebuild = walk(this.shapes, keys, false)?.value;
    if (rebuild === undefined) {
      if (this.shapeCount >= this.shapeLimit || keys.includes('__proto__')) return o;
      rebuild = (keys.length <= MAX_LITERAL_KEYS ? literalRebuild(keys) : null) ?? templateRebuild(keys);
      walk(this.shapes, keys, true)!.value = rebuild;
      this.shapeCount++;
    }
    return rebuild(o as Record<string, unknown>) as T;
  }

  private headers(h: HeaderMap, requestId: string | undefined): HeaderMap {
    for (const k of Object.keys(h)) {
      const v = h[k]!;
      if (v.length === 1 && requestId !== undefined && v[0] === requestId) h[k] = [requestId];
      else if (k !== 'x-request-id') h[k] = this.list(v);
    }
    return h;
  }

  /** The field `name` as kept when the analysis reads it, else null (remembered per name, bounded). */
  private keptField(name: string): KeptField | null {
    let f = this.fieldNames.get(name);
    if (f === undefined) {
      f = analysisField(name) ? { name: this.strings.get(name), lower: name.toLowerCase() } : null;
      if (this.fieldNames.size < FIELD_NAME_LIMIT) this.fieldNames.set(name, f);
    }
    return f;
  }

  /**
   * Shares an explanation's strings and lists with the explanations like it (a replay's reason is built per
   * record, yet a fleet's records have a handful of distinct ones); returns it (rebuilt: see reshape).
   */
  explanation(e: Explanation): Explanation {
    intern(e, ['reason', 'loggedPolicy', 'dump'], this.strings);
    e.identityEvidence = this.list(e.identityEvidence);
    if (e.missing) e.missing = this.list(e.missing);
    return this.reshape(e);
  }

  /** Rewrites `r` in place (see the module comment) and returns it: `settle(compactShared(r))`. */
  compact(r: AccessRecord): AccessRecord {
    return this.settle(this.compactShared(r));
  }

  /**
   * All of `compact` but rebuilding objects to their size (`settle`): what a record needs that is written to a
   * spill's run (record-spill.ts), whose reader rebuilds every object at its size anyway; its shared strings,
   * lists and endpoints make it cheaper to write and to read. The fields kept are those `compact` keeps. Rewrites
   * `r` in place and returns it.
   */
  compactShared(r: AccessRecord): AccessRecord {
    const s = this.strings;
    if (r.time !== undefined) r.time = ownCopy(r.time);
    if (r.requestId !== undefined) r.requestId = ownCopy(r.requestId);
    let v: unknown;
    if (typeof (v = r.node) === 'string') r.node = s.get(v);
    if (typeof (v = r.logName) === 'string') r.logName = s.get(v);
    if (typeof (v = r.format) === 'string') r.format = s.get(v);
    if (typeof (v = r.responseCodeDetails) === 'string') r.responseCodeDetails = s.get(v);
    if (typeof (v = r.connectionTerminationDetails) === 'string') r.connectionTerminationDetails = s.get(v);
    if (typeof (v = r.responseFlags) === 'string') r.responseFlags = s.get(v);
    if (typeof (v = r.upstreamCluster) === 'string') r.upstreamCluster = s.get(v);
    if (typeof (v = r.upstreamHost) === 'string') r.upstreamHost = s.get(v);
    if (typeof (v = r.routeName) === 'string') r.routeName = s.get(v);
    if (typeof (v = r.userAgent) === 'string') r.userAgent = s.get(v);
    r.unknown = this.list(r.unknown);
    if (r.knownHeaders) r.knownHeaders = this.list(r.knownHeaders);
    const a = r.attrs;
    if (a.source) a.source = this.endpoint(a.source);
    if (a.destination) a.destination = this.endpoint(a.destination);
    if (a.remote && a.source && a.remote !== a.source && sameEndpoint(a.remote, a.source)) a.remote = a.source;
    else if (a.remote) a.remote = this.endpoint(a.remote);
    if (a.directRemote && a.source && a.directRemote !== a.source && sameEndpoint(a.directRemote, a.source)) a.directRemote = a.source;
    else if (a.directRemote) a.directRemote = this.endpoint(a.directRemote);
    if (typeof (v = a.sni) === 'string') a.sni = s.get(v);
    if (typeof (v = a.transportProtocol) === 'string') a.transportProtocol = s.get(v);
    if (a.tls) {
      const t = a.tls;
      t.uriSans = this.list(t.uriSans);
      t.dnsSans = this.list(t.dnsSans);
      if (typeof (v = t.subject) === 'string') t.subject = s.get(v);
      if (typeof (v = t.version) === 'string') t.version = s.get(v);
    }
    if (a.alpn) a.alpn = this.list(a.alpn);
    if (a.http) {
      const h = a.http;
      if (typeof (v = h.method) === 'string') h.method = s.get(v);
      if (typeof (v = h.path) === 'string') h.path = s.get(v);
      if (typeof (v = h.authority) === 'string') h.authority = s.get(v);
      if (typeof (v = h.scheme) === 'string') h.scheme = s.get(v);
      if (typeof (v = h.protocol) === 'string') h.protocol = s.get(v);
      h.headers = this.headers(h.headers, r.requestId);
    }
    const fields = r.fields;
    let kept: Record<string, JsonValue> | null = null;
    for (const k of Object.keys(fields)) {
      const f = this.keptField(k);
      if (f === null || redundant(r, f.lower)) continue;
      const fv = fields[k]!;
      (kept ??= {})[f.name] = typeof fv === 'string' ? this.fieldValues.get(fv) : fv;
    }
    r.fields = kept ?? NO_FIELDS;
    r.fieldsElided = true;
    return r;
  }

  /**
   * The rest of `compact` for a record `compactShared` made that stays in memory: `attrs`, `attrs.http`, its
   * header map and the kept fields rebuilt with room for exactly their properties (see reshape). Changes no
   * value; in place; returns `r`.
   */
  settle(r: AccessRecord): AccessRecord {
    const a = r.attrs;
    if (a.http) {
      a.http.headers = this.reshape(a.http.headers);
      a.http = this.reshape(a.http);
    }
    r.attrs = this.reshape(a);
    if (r.fields !== NO_FIELDS) r.fields = this.reshape(r.fields);
    return r;
  }
}

/** The port key of an endpoint that has none (in RecordCompactor.endpoints). */
const NO_PORT = Symbol('no port');

/** Rebuilds an object of these keys by copying a template sized to them (JSON.parse of `{"k":null,...}`) and filling it. */
function templateRebuild(keys: readonly string[]): Rebuild {
  const tpl = JSON.parse(`{${keys.map((k) => `${JSON.stringify(k)}:null`).join(',')}}`) as Record<string, unknown>;
  return (o) => {
    const out: Record<string, unknown> = { ...tpl };
    for (const k of keys) out[k] = o[k];
    return out;
  };
}

/**
 * A field the correlation reads only when the record lacks the typed attribute it stands in for
 * (correlate.ts recordDirection, recordWireLeg, findLocalLegs; `path` for exchange matching).
 */
function redundant(r: AccessRecord, lower: string): boolean {
  switch (lower) {
    case 'upstream_cluster':
    case 'upstream_cluster_raw':
      return r.upstreamCluster !== undefined;
    case 'upstream_host':
      return r.upstreamHost !== undefined;
    case 'downstream_remote_address':
      return r.attrs.directRemote !== undefined || r.attrs.source !== undefined;
    case 'downstream_local_address':
      return r.attrs.destination !== undefined;
    case 'x-envoy-original-path?:path':
    case 'req(x-envoy-original-path?:path)':
    case 'path':
      return r.attrs.http?.path !== undefined;
    default:
      return false;
  }
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  if (a.address !== b.address || a.port !== b.port) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

/** Interns the named string properties that are present (absent ones stay absent). */
function intern<T extends object>(o: T, keys: (keyof T & string)[], s: Interner): void {
  const rec = o as Record<string, unknown>;
  for (const k of keys) {
    const v = rec[k];
    if (typeof v === 'string') rec[k] = s.get(v);
  }
}
