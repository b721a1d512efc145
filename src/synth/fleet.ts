/**
 * A fleet's evidence at any size, for the report benchmark and the bounded-memory tests: the config
 * dumps and inventory of a real incident bundle (samples/bookinfo-authz by default) with its access
 * logs replayed N times over. Each replay of the bundle's calls gets fresh request ids, fresh
 * ephemeral ports and later times, consistently across every proxy's log, so the client and server
 * sidecars' records of one request still pair up and the RBAC replay sees the bundle's mix of allowed
 * and denied requests.
 */
import { copyFileSync, createWriteStream, mkdirSync, readdirSync, readFileSync, type WriteStream } from 'node:fs';
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

async function write(out: WriteStream, s: string): Promise<void> {
  if (!out.write(s)) await new Promise<void>((res) => out.once('drain', () => res()));
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
  const outs = outPaths.map((p) => createWriteStream(p));
  const bufs = t.header.map((h) => (h.length ? h.join('\n') + '\n' : ''));
  const t0 = Date.parse('2026-11-22T10:00:00Z');
  let written = 0;
  let lastMs = t0;
  for (let iter = 0; written < o.lines; iter++) {
    const hex = (iter >>> 0).toString(16).padStart(8, '0');
    for (const l of t.lines) {
      if (written >= o.lines) break;
      const ms = t0 + (iter * groupCount + l.group) * gap + l.offsetMs;
      lastMs = Math.max(lastMs, ms);
      const text = l.text
        .replace(TIME, `[${new Date(ms).toISOString()}]`)
        .replace(UUID, (_m, _a: string, rest: string) => `"${hex}${rest}"`)
        .replace(EPHEMERAL, (_m, ip: string, port: string) => `${ip}:${32768 + ((Number(port) + iter * 7919) % 28000)}`);
      bufs[l.file] += text + '\n';
      written++;
      if (bufs[l.file]!.length > 1 << 20) {
        await write(outs[l.file]!, bufs[l.file]!);
        bufs[l.file] = '';
      }
    }
  }
  await Promise.all(
    outs.map(async (out, i) => {
      await write(out, bufs[i]!);
      out.end();
      await new Promise<void>((res) => out.on('finish', () => res()));
    }),
  );
  return { lines: written, logs: outPaths, dumps, inventory, replayLines: t.lines.length, firstMs: t0, lastMs };
}
