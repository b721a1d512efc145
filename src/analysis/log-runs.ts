/**
 * `report`'s access logs, read on the main thread or in a worker thread with the same result (issue 17: both
 * cores for the reading phase). `readLogRecords` reads one log: hashed as it is read (FileHash), decompressed
 * up to damage, parsed, filtered by the --since/--until window (counted), compacted, each kept record handed
 * on in read order. `readLogToRuns` is a worker's task (src/cli/worker.ts `report-log`): the records go to a
 * RecordSpill writing sorted runs into the report spill's directory, handed over with the counts and the
 * file's sha256 for the main thread to adopt in input order (evidence.ts gatherInputs).
 */
import type { AccessRecord } from '../model/records.js';
import { serializeError, type Diagnostic, type SerializedError } from '../model/errors.js';
import { readAccessLogs, newStats } from '../readers/accesslog/index.js';
import { decompress } from '../readers/capture/index.js';
import type { Compression } from '../readers/capture/compressed.js';
import { linesUpToDamage } from '../readers/files.js';
import { RecordCompactor } from './compact-record.js';
import { FileHash } from './file-hash.js';
import { RecordSpill, SpillError, type HandedRuns } from './record-spill.js';

/** Access logs read elsewhere (worker threads, src/cli/parallel.ts): each one's events, consumed in input order. */
export interface LogReaders extends ReadAhead {
  events(path: string): AsyncIterable<LogTaskEvent> | undefined;
  close(): Promise<void>;
}

/**
 * Inputs read elsewhere (worker threads) run ahead of their turn: how far they got, summed over the inputs whose
 * events have not been asked for yet (progress only: the bytes of them read and the log records parsed).
 */
export interface ReadAhead {
  ahead?(): { bytes: number; records: number };
}

/** One access log for a worker thread (plain data): read into sorted runs in the spill's directory (readLogToRuns). */
export interface LogTaskSpec {
  path: string;
  /** The file's size (for deciding whether workers pay). */
  bytes: number;
  compressed?: Compression;
  maxDiagnostics: number;
  window?: { sinceMs?: number; untilMs?: number };
  /** Compact the records (RecordCompactor, default bounds). */
  compact: boolean;
  /** The run names' prefix (unique per task in the spill's directory). */
  prefix: string;
  /** The spill's directory (RecordSpill.runDirectory) and the worker's share of its budget: filled in by the caller. */
  dir?: string;
  maxRecords?: number;
  maxBytes?: number;
}

/** What a worker reading a log sends: progress now and then, then its result (or an error: a bug). */
export type LogTaskEvent = { t: 'progress'; bytes: number; records: number } | { t: 'log'; result: LogTaskResult } | { t: 'error'; error: SerializedError };

/** What reading one access log left (readLogRecords: on this thread or in a worker). */
export interface LogReadCounts {
  /** Records read (inside the window or not). */
  records: number;
  /** Of them, left out by the --since/--until window: outside it, and without a time. */
  outside: number;
  withoutTime: number;
  /** ztunnel (ambient) records kept. */
  ztunnel: number;
  stats: { diagnostics: Diagnostic[]; skipped: number };
  /** What ended the read before the end of the log (null: read to the end). */
  error: unknown;
  /** The error is damaged compressed data: the records before it were kept. */
  damaged: boolean;
}

/** A log read in a worker: the counts, the runs its records were written to, the file's sha256. */
export interface LogTaskResult extends Omit<LogReadCounts, 'error'> {
  error: SerializedError | null;
  /** Writing a run failed (SpillError's one line): the report cannot go on. */
  spillError: string | null;
  runs: HandedRuns | null;
  hash: string | null;
}

/**
 * Reads one access log (hashed by `fileHash` as it is read; a compressed one decompressed up to damage), counts
 * what the window leaves out, compacts and hands each kept record to `keep`, in read order.
 */
export async function readLogRecords(
  p: string,
  compressed: Compression | undefined,
  fileHash: FileHash,
  o: {
    maxDiagnostics: number;
    window: { sinceMs?: number; untilMs?: number } | undefined;
    compactor: RecordCompactor | null;
    /** Compact as for a spill's runs (RecordCompactor.compactShared: the spill settles the records it keeps in memory), else fully. */
    shared?: boolean;
    keep: (r: AccessRecord) => void;
    onRecord?: () => void;
  },
): Promise<LogReadCounts> {
  const stats = newStats();
  const c: LogReadCounts = { records: 0, outside: 0, withoutTime: 0, ztunnel: 0, stats, error: null, damaged: false };
  const win = o.window;
  const since = win?.sinceMs;
  const until = win?.untilMs;
  const { compactor, keep, onRecord } = o;
  // a compressed log: the compressed bytes are hashed as they are read, the decompressed ones parsed
  // (damaged compressed data ends the log where it breaks: the records before it are kept, then the error)
  const raw = fileHash.stream();
  const text = compressed ? linesUpToDamage(decompress(compressed, raw, p, 'access-log data')) : null;
  try {
    for await (const r of readAccessLogs({ path: p, stream: text?.stream ?? raw }, { stats, maxDiagnostics: o.maxDiagnostics })) {
      c.records++;
      onRecord?.();
      if (win) {
        if (r.timeMs === undefined) {
          c.withoutTime++;
          continue;
        }
        if ((since !== undefined && r.timeMs < since) || (until !== undefined && r.timeMs > until)) {
          c.outside++;
          continue;
        }
      }
      const x = compactor ? (o.shared ? compactor.compactShared(r) : compactor.compact(r)) : r;
      if (x.ztunnel) c.ztunnel++;
      keep(x);
    }
  } catch (e) {
    c.error = e;
    return c;
  } finally {
    raw.destroy(); // stopped at damage: nothing more flows into the hash while digest() reads the rest
  }
  const broken = text?.damage();
  if (broken) {
    c.error = broken;
    c.damaged = true;
  }
  return c;
}

/**
 * The worker side of a `report-log` task: reads the log as the main thread would (readLogRecords) into a spill
 * writing sorted runs into `spec.dir`, hashes the file, and returns the runs to adopt with the counts.
 * `onProgress` hears the bytes read and records parsed (often: throttle it).
 */
export async function readLogToRuns(spec: LogTaskSpec, onProgress?: (bytes: number, records: number) => void): Promise<LogTaskResult> {
  if (!spec.dir) throw new Error(`report-log task for ${spec.path}: no spill directory`);
  const spill = new RecordSpill({ runsIn: { dir: spec.dir, prefix: spec.prefix }, ...(spec.maxRecords ? { maxRecords: spec.maxRecords } : {}), ...(spec.maxBytes ? { maxBytes: spec.maxBytes } : {}) });
  const fileHash = new FileHash(spec.path);
  let records = 0;
  if (onProgress) fileHash.onBytes = (b) => onProgress(b, records);
  try {
    const c = await readLogRecords(spec.path, spec.compressed, fileHash, {
      maxDiagnostics: spec.maxDiagnostics,
      window: spec.window && (spec.window.sinceMs !== undefined || spec.window.untilMs !== undefined) ? spec.window : undefined,
      compactor: spec.compact ? new RecordCompactor() : null,
      shared: true, // every record goes to a run (handOver)
      keep: (r) => spill.add(r),
      onRecord: () => records++,
    });
    let spillError = c.error instanceof SpillError ? c.error.message : null;
    let runs: HandedRuns | null = null;
    if (!spillError) {
      try {
        runs = spill.handOver();
      } catch (e) {
        spillError = e instanceof Error ? e.message : String(e);
      }
    }
    const hash = await fileHash.digest().catch(() => null);
    return { ...c, error: c.error === null || spillError ? null : serializeError(c.error), spillError, runs, hash };
  } finally {
    spill.close();
  }
}
