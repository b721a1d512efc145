/**
 * `explain`'s record loop, cut so that it can run on the main thread or in worker threads with the same
 * result: the access logs are read as chunks (a whole file, stdin, or a byte range of a large file that
 * starts on a line boundary), each chunk is replayed into events (output lines, JSON records, its summary),
 * and `ExplainMerge` consumes the chunks' events in input order exactly as the single loop did.
 *
 * A byte range numbers its lines as the whole file would: its worker counts its lines first, and waits for
 * the count of the lines before it (src/cli/parallel.ts signals it) before reading.
 */
import { createReadStream } from 'node:fs';
import { openTextInput } from '../readers/files.js';
import { isDamagedCompression, sniffCompression } from '../readers/capture/compressed.js';
import { open } from 'node:fs/promises';
import type { JsonValue } from '../model/attrs.js';
import type { AccessRecord, Explanation } from '../model/records.js';
import { newStats, readAccessLogBatches, type ReadStats } from '../readers/accesslog/index.js';
import { loadConfigDumps, parseConfigDump } from '../readers/configdump/index.js';
import { readZtunnelConfig } from '../readers/configdump/ztunnel.js';
import { decideRequest } from '../envoy/decide.js';
import type { ConfigDump } from '../envoy/model.js';
import type { Decision } from '../model/decision.js';
import type { ZtunnelConfig } from '../ztunnel/model.js';
import {
  decisionChange, deciderOver, explainRecord, explanationPasses, ExplainAggregator, recordPasses, refString,
  type Decider, type DecisionChange, type DumpDecider, type ExplainFilter, type ExplainGroupState,
} from '../analysis/explain.js';
import { explainZtunnelRecord, mismatchedExplanation } from '../analysis/ztunnel.js';
import { explainWithWaypointCaller, WaypointCallerIndex, type WaypointCaller } from '../analysis/waypoint-callers.js';
import { redactHeaders } from '../model/redact.js';
import { serializeError, type SerializedError } from '../model/errors.js';
import type { TaskContext } from './worker.js';

/** How records are decided, as data a worker can rebuild the decider from. */
export type DeciderSpec =
  | { kind: 'dumps'; paths: string[]; ztunnel?: string[] }
  | { kind: 'ztunnel'; paths: string[] }
  | { kind: 'compiled'; configDump: unknown; source: string };

/** Everything a chunk's replay depends on (plain data). */
export interface ExplainSetup {
  decider: DeciderSpec;
  filter: ExplainFilter;
  format?: string;
  /** The proposed config's name when replaying against one (`--config`, `--policies`). */
  proposed?: string;
  output: string;
  limit: number;
  showSecrets: boolean;
  failOn: string[];
  /** Client ztunnel records of tunnels to waypoints (the callers of waypoint records), when a waypoint dump is replayed. */
  waypointCallers?: WaypointCaller[];
  /** The clock skew tolerated when joining waypoint records to ztunnel records. */
  skewMs?: number;
}

/** One unit of reading: a whole file (or stdin), or bytes [start, end) of a file. */
export interface ExplainChunk {
  path: string;
  start?: number;
  end?: number;
  /** The chunk begins the file (its first line is line 1). */
  first: boolean;
}

export interface ChangeCounts {
  allowedToDenied: number;
  deniedToAllowed: number;
  otherPolicy: number;
  undecidable: number;
}

/** What a chunk leaves besides its output lines. */
export interface ChunkResult {
  stats: ReadStats;
  summary: ExplainAggregator['summary'];
  groups: ExplainGroupState[];
  disagreements: Explanation[];
  changes: DecisionChange[];
  changeCounts: ChangeCounts;
  failed: boolean;
}

export type ExplainEvent =
  | { t: 'lines'; count: number }
  | { t: 'out'; lines: string[] }
  | { t: 'json'; records: Record<string, JsonValue>[] }
  | { t: 'progress'; bytes: number; records: number }
  | { t: 'error'; error: SerializedError }
  /** The chunk's compressed data is damaged at an offset: the records before it are in this chunk's result. */
  | { t: 'damaged'; error: SerializedError }
  | { t: 'end'; result: ChunkResult };

export function endpointStr(e: { address: string; port?: number } | undefined): string | null {
  if (!e) return null;
  const a = e.address.includes(':') ? `[${e.address}]` : e.address;
  return e.port === undefined ? e.address : `${a}:${e.port}`;
}

/** The record's own part of an explanation's JSON (ref, time, request, what was logged): every key before `decision`. */
function recordPart(e: Explanation, showSecrets: boolean): Record<string, JsonValue> {
  const r = e.record;
  const a = r.attrs;
  return {
    ref: refString(r),
    time: r.time ?? null,
    node: r.node ?? null,
    kind: r.kind,
    format: r.format ?? null,
    request: {
      source: endpointStr(a.source),
      destination: endpointStr(a.destination),
      sni: a.sni ?? null,
      peerUriSans: a.tls?.uriSans ?? null,
      method: a.http?.method ?? null,
      path: a.http?.path ?? null,
      authority: a.http?.authority ?? null,
      headers: a.http ? (redactHeaders(a.http.headers, showSecrets) as Record<string, JsonValue>) : null,
    },
    logged: {
      outcome: e.logged ?? null,
      policy: e.loggedPolicy ?? null,
      responseCode: r.responseCode ?? null,
      responseCodeDetails: r.responseCodeDetails ?? null,
      connectionTerminationDetails: r.connectionTerminationDetails ?? null,
      responseFlags: r.responseFlags ?? null,
    },
  };
}

/** Compact per-record JSON (the full trace stays available through `check`). */
export function explanationJson(e: Explanation, showSecrets = false): Record<string, JsonValue> {
  const r = e.record;
  const d = e.decision;
  const out: Record<string, JsonValue> = {
    ...recordPart(e, showSecrets),
    decision: d
      ? {
          decision: d.decision,
          policy: d.policy,
          responseCodeDetails: d.responseCodeDetails,
          connectionTerminationDetails: d.connectionTerminationDetails ?? null,
          listener: d.listener ?? null,
          filterChain: d.filterChain ?? null,
          filters: d.filters.map((f) => ({ name: f.name, kind: f.kind, action: f.action, shadow: f.shadow, result: f.result, effectivePolicy: f.effectivePolicy })),
          reasons: d.reasons ?? [],
        }
      : null,
    verdict: e.verdict,
    reason: e.reason,
    dump: e.dump ?? null,
    security: e.security ?? null,
    identityEvidence: e.identityEvidence,
    unknown: r.unknown,
  };
  if (e.missing) out.missing = e.missing;
  return out;
}

/**
 * `JSON.stringify(explanationJson(e, showSecrets))`, the same text, built faster: the part from `decision` on is
 * what many records share (a memoized decision, its judgement's verdict and reason, the evidence and unknown
 * lists), so its text is made once per such combination and reused; only the record's own part is serialised
 * per record. (Serialising the whole object per record was the larger part of an ndjson replay.)
 */
export function explanationLine(e: Explanation, showSecrets = false): string {
  const head = JSON.stringify(recordPart(e, showSecrets));
  return head.slice(0, -1) + tailText(e) + '}';
}

/** The tails made, by decision (a few combinations each: the records of one decision mostly share them). */
const tails = new WeakMap<Decision, { parts: unknown[]; text: string }[]>();

/** `,"decision":…` to the end of explanationJson's text (without the closing brace). */
function tailText(e: Explanation): string {
  const d = e.decision;
  if (!d) return tailOf(e);
  let list = tails.get(d);
  if (!list) {
    list = [];
    tails.set(d, list);
  }
  const u = e.record.unknown;
  outer: for (const t of list) {
    const p = t.parts;
    if (p[0] !== e.verdict || p[1] !== e.reason || p[2] !== e.dump || p[3] !== e.security || p[4] !== e.identityEvidence || p[5] !== u || p[6] !== e.missing) continue outer;
    return t.text;
  }
  const text = tailOf(e);
  // a reader's shared frozen unknown list (a list of the record's own is not worth keeping); the evidence and
  // missing lists are the replay's shared constants and memoized judgements' (never changed)
  if (list.length < 8 && Object.isFrozen(u)) {
    list.push({ parts: [e.verdict, e.reason, e.dump, e.security, e.identityEvidence, u, e.missing], text });
  }
  return text;
}

function tailOf(e: Explanation): string {
  const d = e.decision;
  const t: Record<string, JsonValue> = {
    decision: d
      ? {
          decision: d.decision,
          policy: d.policy,
          responseCodeDetails: d.responseCodeDetails,
          connectionTerminationDetails: d.connectionTerminationDetails ?? null,
          listener: d.listener ?? null,
          filterChain: d.filterChain ?? null,
          filters: d.filters.map((f) => ({ name: f.name, kind: f.kind, action: f.action, shadow: f.shadow, result: f.result, effectivePolicy: f.effectivePolicy })),
          reasons: d.reasons ?? [],
        }
      : null,
    verdict: e.verdict,
    reason: e.reason,
    dump: e.dump ?? null,
    security: e.security ?? null,
    identityEvidence: e.identityEvidence,
    unknown: e.record.unknown,
  };
  if (e.missing) t.missing = e.missing;
  const text = JSON.stringify(t);
  return ',' + text.slice(1, -1);
}

export function deciderFor(dumps: ConfigDump[]): Decider {
  const one: DumpDecider<ConfigDump> = (dump, req, opts) => decideRequest(dump, req, { unknown: opts.unknown });
  return deciderOver(dumps, one);
}

export type ExplainOne = (rec: AccessRecord) => Explanation;

/** The default clock skew between a waypoint's log and the client ztunnel's (as `report --skew`). */
export const WAYPOINT_JOIN_SKEW_MS = 2000;

/**
 * The record replay for a decider and/or ztunnel configs (the main thread builds its own, with warnings). With
 * `callers`, a waypoint's record is replayed with the caller the client ztunnel logged (analysis/waypoint-callers.ts).
 */
export function explainOneWith(decide: Decider | null, ztConfigs: ZtunnelConfig[], callers?: WaypointCallerIndex, skewMs = WAYPOINT_JOIN_SKEW_MS): ExplainOne {
  const envoy = (rec: AccessRecord): Explanation => (decide ? explainRecord(rec, decide) : mismatchedExplanation(rec, 'ztunnel'));
  return (rec) =>
    rec.ztunnel
      ? ztConfigs.length ? explainZtunnelRecord(rec, ztConfigs) : mismatchedExplanation(rec, 'envoy')
      : callers?.size ? explainWithWaypointCaller(rec, callers, skewMs, envoy) : envoy(rec);
}

async function ztunnelConfigs(paths: string[]): Promise<ZtunnelConfig[]> {
  const zt: ZtunnelConfig[] = [];
  for (const p of paths) {
    const z = await readZtunnelConfig(p);
    if (z) zt.push(z);
  }
  return zt;
}

/**
 * The callers of waypoint records: one pass over the logs (before the replay, since a waypoint record may come
 * before the ztunnel record that names its caller, or in another file), keeping client ztunnel records of tunnels
 * to waypoints inside the time window (± skew). stdin cannot be read twice and is not scanned.
 */
export async function collectWaypointCallers(paths: string[], format: string | undefined, window: { sinceMs?: number; untilMs?: number }, skewMs = WAYPOINT_JOIN_SKEW_MS): Promise<WaypointCallerIndex> {
  const ix = new WaypointCallerIndex();
  for (const path of paths) {
    if (path === '-') continue;
    // a damaged compressed log ends at the damage here; the replay names it (exit 2)
    const { stream } = await openTextInput(path, 'access-log data');
    for await (const batch of readAccessLogBatches({ path, stream } as never, { format, stats: newStats(), firstLine: 1, ztunnelOnly: true })) {
      for (const r of batch) {
        if (!r.ztunnel || r.ztunnel.direction !== 'outbound') continue;
        if (r.timeMs !== undefined && ((window.sinceMs !== undefined && r.timeMs < window.sinceMs - skewMs) || (window.untilMs !== undefined && r.timeMs - (r.durationMs ?? 0) > window.untilMs + skewMs))) continue;
        ix.addRecord(r);
      }
    }
  }
  return ix;
}

/** Rebuilds the replay in a worker (diagnostics were already printed by the main thread). */
async function explainOneFromSpec(spec: DeciderSpec, callers: WaypointCallerIndex | undefined, skewMs: number | undefined): Promise<ExplainOne> {
  if (spec.kind === 'compiled') return explainOneWith(deciderFor([parseConfigDump(spec.configDump, spec.source)]), [], callers, skewMs);
  if (spec.kind === 'ztunnel') return explainOneWith(null, await ztunnelConfigs(spec.paths));
  const { dumps } = await loadConfigDumps(spec.paths);
  return explainOneWith(deciderFor(dumps), spec.ztunnel ? await ztunnelConfigs(spec.ztunnel) : [], callers, skewMs);
}

/** Counts the newlines of bytes [start, end) of a file. */
async function countLines(path: string, start: number, end: number): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let n = 0;
    for (let pos = start; pos < end;) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
      if (bytesRead === 0) break;
      for (let i = buf.indexOf(10, 0); i >= 0 && i < bytesRead; i = buf.indexOf(10, i + 1)) n++;
      pos += bytesRead;
    }
    return n;
  } finally {
    await fh.close();
  }
}

/**
 * The events of one chunk. `lineBase` gives the number of lines before a byte range that does not start
 * the file (asked after the chunk's own `lines` event).
 */
export async function* explainChunkEvents(chunk: ExplainChunk, setup: ExplainSetup, explainOne: ExplainOne, lineBase: () => Promise<number>): AsyncGenerator<ExplainEvent> {
  const stats = newStats();
  const agg = new ExplainAggregator();
  const disagreements: Explanation[] = [];
  const changes: DecisionChange[] = [];
  const changeCounts: ChangeCounts = { allowedToDenied: 0, deniedToAllowed: 0, otherPolicy: 0, undecidable: 0 };
  const failOn = new Set(setup.failOn);
  const out = setup.output;
  let failed = false;
  try {
    let firstLine = 1;
    if (chunk.start !== undefined && chunk.end !== undefined) {
      yield { t: 'lines', count: await countLines(chunk.path, chunk.start, chunk.end) };
      if (!chunk.first) firstLine = (await lineBase()) + 1;
    }
    // a whole file or stdin may be gzip/Zstandard-compressed (readers/files.ts); a byte range never is (splitLog)
    // (damaged compressed data ends the log where it breaks: the records before it are replayed, then the error)
    const text = chunk.start !== undefined && chunk.end !== undefined ? { stream: createReadStream(chunk.path, { start: chunk.start, end: chunk.end - 1 }), damage: () => null } : await openTextInput(chunk.path, 'access-log data');
    const stream = text.stream;
    const input = { path: chunk.path === '-' ? 'stdin' : chunk.path, stream };
    const bytesRead = (): number => (stream as { bytesRead?: number }).bytesRead ?? 0;
    let records = 0;
    for await (const batch of readAccessLogBatches(input as never, { format: setup.format, stats, firstLine })) {
      const lines: string[] = [];
      const json: Record<string, JsonValue>[] = [];
      for (const rec of batch) {
        if (!recordPasses(rec, setup.filter)) continue;
        const e = explainOne(rec);
        if (!explanationPasses(e, setup.filter)) continue;
        records++;
        if (setup.proposed) {
          const c = decisionChange(e);
          if (e.verdict === 'undecidable' && e.decision?.decision !== 'ALLOW' && e.decision?.decision !== 'DENY') changeCounts.undecidable++;
          agg.add(e);
          if (!c) continue;
          if (c.before.decision === 'ALLOW') changeCounts.allowedToDenied++;
          else if (c.after.decision === 'ALLOW') changeCounts.deniedToAllowed++;
          else changeCounts.otherPolicy++;
          if (failOn.has('denied') && c.after.decision === 'DENY') failed = true;
          if (out === 'table') {
            if (changes.length < setup.limit) changes.push(c);
          } else {
            const j = { ...explanationJson(e, setup.showSecrets), before: c.before, after: c.after } as Record<string, JsonValue>;
            if (out === 'ndjson') lines.push(JSON.stringify(j) + '\n');
            else json.push(j);
          }
          continue;
        }
        agg.add(e);
        if (failOn.has('disagreement') && e.verdict === 'disagrees') failed = true;
        if (failOn.has('undecidable') && e.verdict === 'undecidable') failed = true;
        if (failOn.has('denied') && (e.decision?.decision === 'DENY' || e.logged === 'denied')) failed = true;
        if (out === 'table') {
          if (e.verdict === 'disagrees' && disagreements.length < setup.limit) disagreements.push(e);
        } else if (out === 'ndjson') lines.push(explanationLine(e, setup.showSecrets) + '\n');
        else json.push(explanationJson(e, setup.showSecrets));
      }
      if (lines.length) yield { t: 'out', lines };
      if (json.length) yield { t: 'json', records: json };
      yield { t: 'progress', bytes: bytesRead(), records };
    }
    const broken = text.damage();
    if (broken) throw broken;
  } catch (err) {
    // a damaged compressed log ends where it breaks (named, exit 2); the other logs are still replayed
    if (!isDamagedCompression(err)) {
      yield { t: 'error', error: serializeError(err) };
      return;
    }
    yield { t: 'damaged', error: serializeError(err) };
  }
  yield { t: 'end', result: { stats, summary: agg.summary, groups: agg.groupStates(), disagreements, changes, changeCounts, failed } };
}

/** The worker side of a chunk (src/cli/worker.ts). */
export async function runExplainChunk(chunk: unknown, setup: unknown, ctx: TaskContext): Promise<void> {
  const s = setup as ExplainSetup;
  const wc = s.waypointCallers ?? [];
  // the callers are the same list for every chunk of a run: its length and ends identify it
  const key = `${JSON.stringify(s.decider)}|${s.skewMs ?? ''}|${wc.length}|${wc[0]?.ref ?? ''}|${wc[wc.length - 1]?.ref ?? ''}`;
  let one = cached.get(key);
  if (!one) {
    one = await explainOneFromSpec(s.decider, wc.length ? WaypointCallerIndex.of(wc) : undefined, s.skewMs);
    cached.set(key, one);
  }
  let last = 0;
  for await (const ev of explainChunkEvents(chunk as ExplainChunk, s, one, async () => Number(await ctx.signal()))) {
    if (ev.t === 'progress') {
      const now = Date.now();
      if (now - last < 50) continue;
      last = now;
    }
    await ctx.send(ev);
  }
}
/** One replay per decider spec per worker (a worker runs many chunks). */
const cached = new Map<string, ExplainOne>();

/** Merges the chunks' results in input order into what the single loop had at its end. */
export class ExplainMerge {
  readonly stats = newStats();
  readonly agg = new ExplainAggregator();
  readonly disagreements: Explanation[] = [];
  readonly changes: DecisionChange[] = [];
  readonly changeCounts: ChangeCounts = { allowedToDenied: 0, deniedToAllowed: 0, otherPolicy: 0, undecidable: 0 };
  failed = false;

  constructor(private readonly limit: number, private readonly maxDiagnostics = 5) {}

  add(chunk: ExplainChunk, r: ChunkResult): void {
    const s = this.stats;
    if (chunk.first) s.files++;
    s.lines += r.stats.lines;
    s.records += r.stats.records;
    s.skipped += r.stats.skipped;
    s.other += r.stats.other;
    for (const [k, n] of Object.entries(r.stats.formats)) s.formats[k] = (s.formats[k] ?? 0) + n;
    for (const d of r.stats.diagnostics) if (s.diagnostics.length < this.maxDiagnostics) s.diagnostics.push(d);
    for (const [k, n] of Object.entries(r.stats.ztunnelUnknown)) s.ztunnelUnknown[k] = (s.ztunnelUnknown[k] ?? 0) + n;
    this.agg.merge(r.summary, r.groups);
    for (const d of r.disagreements) if (this.disagreements.length < this.limit) this.disagreements.push(d);
    for (const c of r.changes) if (this.changes.length < this.limit) this.changes.push(c);
    const cc = this.changeCounts;
    cc.allowedToDenied += r.changeCounts.allowedToDenied;
    cc.deniedToAllowed += r.changeCounts.deniedToAllowed;
    cc.otherPolicy += r.changeCounts.otherPolicy;
    cc.undecidable += r.changeCounts.undecidable;
    if (r.failed) this.failed = true;
  }
}

/** Bytes per chunk when a large log is split (each worker rebuilds the decider once, then takes chunks). */
export const CHUNK_MIN = 4 * 1024 * 1024;
export const CHUNK_MAX = 64 * 1024 * 1024;

/**
 * Splits a file of `size` bytes into byte ranges for `threads` workers. A range ends just after a newline
 * whose next line starts with a character that cannot continue a pretty-printed JSON object (not a blank,
 * not `}`), so a multi-line entry is never cut.
 */
export async function splitLog(path: string, size: number, threads: number): Promise<ExplainChunk[]> {
  // MESHSLEUTH_CHUNK_BYTES forces a chunk size (tests split small logs with it)
  const forced = Number(process.env.MESHSLEUTH_CHUNK_BYTES);
  const target = forced > 0 ? forced : Math.min(CHUNK_MAX, Math.max(CHUNK_MIN, Math.ceil(size / (threads * 2))));
  if (size < 2 * target) return [{ path, first: true }];
  const cuts: number[] = [0];
  const fh = await open(path, 'r');
  // a compressed log is read whole (its byte ranges are not line ranges)
  const magic = Buffer.alloc(4);
  if (sniffCompression(magic.subarray(0, (await fh.read(magic, 0, 4, 0)).bytesRead))) {
    await fh.close();
    return [{ path, first: true }];
  }
  try {
    const buf = Buffer.allocUnsafe(1 << 16);
    for (let pos = target; pos < size - target / 2; pos += target) {
      let cut = -1;
      for (let at = Math.max(pos, cuts[cuts.length - 1]! + 1); cut < 0 && at < size && at < pos + (1 << 22); at += buf.length - 1) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, at);
        if (bytesRead < 2) break;
        for (let i = buf.indexOf(10, 0); i >= 0 && i + 1 < bytesRead; i = buf.indexOf(10, i + 1)) {
          const c = buf[i + 1]!;
          if (c !== 32 && c !== 9 && c !== 10 && c !== 13 && c !== 0x7d) {
            cut = at + i + 1;
            break;
          }
        }
      }
      if (cut > 0 && cut < size) cuts.push(cut);
      if (cut < 0) break;
      pos = cut; // the next cut a target after this one
    }
  } finally {
    await fh.close();
  }
  cuts.push(size);
  const out: ExplainChunk[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) out.push({ path, start: cuts[i]!, end: cuts[i + 1]!, first: i === 0 });
  return out;
}
