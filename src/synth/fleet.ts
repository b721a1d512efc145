/**
 * A fleet's evidence at any size, for the report benchmark and the bounded-memory tests: the config
 * dumps and inventory of a real incident bundle (samples/bookinfo-authz by default) with its access
 * logs replayed N times over. Each replay of the bundle's calls gets fresh request ids, fresh
 * ephemeral ports and later times, consistently across every proxy's log, so the client and server
 * sidecars' records of one request still pair up and the RBAC replay sees the bundle's mix of allowed
 * and denied requests.
 */
import { closeSync, copyFileSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface FleetOptions {
  /** Access-log lines to write in total (over every proxy's log). */
  lines: number;
  /** The incident bundle to take dumps, inventory and log templates from. */
  sample: string;
  /** Gap between two replays' requests (ms); default 50. */
  gapMs?: number;
}

export interface FleetResult {
  lines: number;
  logs: string[];
  dumps: string[];
  inventory: string | null;
  /**
   * Log lines in one replay of the bundle (every proxy's log): the evidence is `floor(lines / replayLines)`
   * whole replays, then the first `lines % replayLines` lines of the next (in the order the bundle's logs are
   * listed, each log's lines in order).
   */
  replayLines: number;
  /** First and last record time written (ms). */
  firstMs: number;
  lastMs: number;
}

interface Template {
  file: number;
  text: string;
  /** ms after its request group's first record. */
  offsetMs: number;
  group: number;
}

const TIME = /^\[([^\]]+)\]/;
const UUID = /"([0-9a-f]{8})(-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"/g;
/** An ephemeral port after an IPv4 address (client sides of connections). */
const EPHEMERAL = /(\d+\.\d+\.\d+\.\d+):(\d{5})\b/g;

function templates(logs: string[]): { header: string[][]; lines: Template[] } {
  const header: string[][] = [];
  const raw: { file: number; text: string; ms: number; rid: string }[] = [];
  logs.forEach((p, file) => {
    header.push([]);
    for (const line of readFileSync(p, 'utf8').split('\n')) {
      const m = TIME.exec(line);
      const ms = m ? Date.parse(m[1]!) : NaN;
      if (!m || !Number.isFinite(ms)) {
        if (line && raw.every((r) => r.file !== file)) header[file]!.push(line);
        continue;
      }
      const rid = /"([0-9a-f]{8}-[0-9a-f-]{27})"/.exec(line)?.[1] ?? `line-${raw.length}`;
      raw.push({ file, text: line, ms, rid });
    }
  });
  const groups = new Map<string, number>();
  const start = new Map<string, number>();
  for (const r of raw) {
    if (!groups.has(r.rid)) groups.set(r.rid, groups.size);
    start.set(r.rid, Math.min(start.get(r.rid) ?? Infinity, r.ms));
  }
  const lines = raw.map((r) => ({ file: r.file, text: r.text, offsetMs: r.ms - start.get(r.rid)!, group: groups.get(r.rid)! }));
  return { header, lines };
}

/**
 * One log line's template cut at the parts that change between replays: `lits[0]`, slot 0, `lits[1]`, ...
 * A slot is `'hex'` (a request id's first 8 hex digits) or a port number (an ephemeral port, rewritten per
 * replay). The time (the leading `[...]`) is written before `lits[0]`. Cutting once per template line and
 * joining strings per replay writes the same text as applying TIME, UUID and EPHEMERAL's replacements to
 * every line (`rewrite` below, which test/synth/fleet.test.ts checks this against), at a fraction of the cost.
 */
interface Cut {
  lits: string[];
  slots: ('hex' | number)[];
}

function cut(text: string): Cut {
  const tail = text.slice(TIME.exec(text)![0].length);
  const marks: { at: number; end: number; lit: string; slot: 'hex' | number; after: string }[] = [];
  for (const m of tail.matchAll(UUID)) marks.push({ at: m.index, end: m.index + m[0].length, lit: '"', slot: 'hex', after: m[2]! + '"' });
  for (const m of tail.matchAll(EPHEMERAL)) marks.push({ at: m.index, end: m.index + m[0].length, lit: m[1]! + ':', slot: Number(m[2]), after: '' });
  marks.sort((a, b) => a.at - b.at);
  const lits: string[] = [];
  const slots: ('hex' | number)[] = [];
  let pending = '';
  let pos = 0;
  for (const k of marks) {
    if (k.at < pos) throw new Error(`fleet template: a request id and an ephemeral port overlap in ${JSON.stringify(text)}`);
    lits.push(pending + tail.slice(pos, k.at) + k.lit);
    slots.push(k.slot);
    pending = k.after;
    pos = k.end;
  }
  lits.push(pending + tail.slice(pos));
  return { lits, slots };
}

/** Replay `iter`'s port for a template's ephemeral port. */
function portOf(port: number, iter: number): number {
  return 32768 + ((port + iter * 7919) % 28000);
}

/** One template line rewritten for replay `iter` at time `ms` by the three regular expressions (the definition `cut` follows). */
export function rewrite(text: string, iter: number, ms: number): string {
  const hex = (iter >>> 0).toString(16).padStart(8, '0');
  return text
    .replace(TIME, `[${new Date(ms).toISOString()}]`)
    .replace(UUID, (_m, _a: string, rest: string) => `"${hex}${rest}"`)
    .replace(EPHEMERAL, (_m, ip: string, port: string) => `${ip}:${portOf(Number(port), iter)}`);
}

const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const DAY_MS = 86_400_000;

/** `new Date(ms).toISOString()`, the date part computed once per day. */
class IsoTimes {
  private dayStart = NaN;
  private dayPrefix = '';
  of(ms: number): string {
    if (!(ms >= this.dayStart && ms < this.dayStart + DAY_MS) || !Number.isInteger(ms)) {
      if (!Number.isInteger(ms) || ms < 0 || ms >= 253_402_300_800_000) return new Date(ms).toISOString();
      this.dayStart = ms - (ms % DAY_MS);
      this.dayPrefix = new Date(this.dayStart).toISOString().slice(0, 11);
    }
    let r = ms - this.dayStart;
    const h = Math.floor(r / 3_600_000);
    r -= h * 3_600_000;
    const m = Math.floor(r / 60_000);
    r -= m * 60_000;
    const s = Math.floor(r / 1000);
    return `${this.dayPrefix}${PAD2[h]!}:${PAD2[m]!}:${PAD2[s]!}.${PAD3[r - s * 1000]!}Z`;
  }
}

/** Writes `s` whole to `fd`. */
function writeAll(fd: number, s: string): void {
  const b = Buffer.from(s, 'utf8');
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}

/** Writes `dir/config_dumps/*`, `dir/inventory.json` and `dir/logs/*` (see the module comment). */
export async function writeFleetEvidence(dir: string, o: FleetOptions): Promise<FleetResult> {
  const gap = o.gapMs ?? 50;
  const logDir = join(o.sample, 'logs');
  const logs = readdirSync(logDir).filter((f) => f.endsWith('.log')).sort().map((f) => join(logDir, f));
  const dumpDir = join(o.sample, 'config_dumps');
  mkdirSync(join(dir, 'config_dumps'), { recursive: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const dumps: string[] = [];
  for (const f of readdirSync(dumpDir).sort()) {
    copyFileSync(join(dumpDir, f), join(dir, 'config_dumps', f));
    dumps.push(join(dir, 'config_dumps', f));
  }
  let inventory: string | null = null;
  try {
    copyFileSync(join(o.sample, 'inventory.json'), join(dir, 'inventory.json'));
    inventory = join(dir, 'inventory.json');
  } catch {
    inventory = null;
  }
  const t = templates(logs);
  if (t.lines.length === 0) throw new Error(`${logDir}: no access-log lines to replay`);
  const groupCount = Math.max(...t.lines.map((l) => l.group)) + 1;
  const outPaths = logs.map((p) => join(dir, 'logs', basename(p)));
  const fds = outPaths.map((p) => openSync(p, 'w'));
  try {
    const cuts = t.lines.map((l) => cut(l.text));
    const bufs = t.header.map((h) => (h.length ? h.join('\n') + '\n' : ''));
    const iso = new IsoTimes();
    const t0 = Date.parse('2026-11-22T10:00:00Z');
    let written = 0;
    let lastMs = t0;
    for (let iter = 0; written < o.lines; iter++) {
      const hex = (iter >>> 0).toString(16).padStart(8, '0');
      for (let i = 0; i < t.lines.length && written < o.lines; i++) {
        const l = t.lines[i]!;
        const { lits, slots } = cuts[i]!;
        const ms = t0 + (iter * groupCount + l.group) * gap + l.offsetMs;
        if (ms > lastMs) lastMs = ms;
        let text = '[' + iso.of(ms) + ']' + lits[0]!;
        for (let k = 0; k < slots.length; k++) {
          const slot = slots[k]!;
          text += (slot === 'hex' ? hex : portOf(slot, iter)) + lits[k + 1]!;
        }
        bufs[l.file] += text + '\n';
        written++;
        if (bufs[l.file]!.length > 1 << 20) {
          writeAll(fds[l.file]!, bufs[l.file]!);
          bufs[l.file] = '';
        }
      }
    }
    bufs.forEach((b, i) => writeAll(fds[i]!, b));
    return { lines: written, logs: outPaths, dumps, inventory, replayLines: t.lines.length, firstMs: t0, lastMs };
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
