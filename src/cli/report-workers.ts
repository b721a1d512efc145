/**
 * `report`'s worker threads (issue 17, both cores): captures and access logs read in workers (src/cli/worker.ts
 * `flows-capture` and `report-log` tasks) while the main thread reads the rest, consumed in input order by
 * gatherEvidence (evidence.ts), with the same result as one thread.
 */
import { getHeapStatistics } from 'node:v8';
import type { CaptureReaders, RemoteCaptureEvent } from '../analysis/evidence.js';
import type { LogReaders, LogTaskEvent, LogTaskSpec } from '../analysis/log-runs.js';
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_RECORDS, type RecordSpill } from '../analysis/record-spill.js';
import { reportCaptureWorkers, runTasks, workerCount, type TaskMessage, type TaskStream, type ThreadSetting } from './parallel.js';

/** Most workers reading logs under `--threads auto` (a number given with --threads is used as given). */
export const AUTO_LOG_WORKERS = 4;

/** The old generation of a worker reading a log for `report` (MB): its records buffer, parser and compactor need well under it. */
export const LOG_WORKER_HEAP_MB = 128;

/**
 * Tasks' streams looked up by their input's path, with how far the tasks whose turn has not come got (their
 * latest progress message, as `progressOf` reads it: ReadAhead).
 */
class ByPath<E> {
  private readonly index: Map<string, number>;
  private readonly latest: { bytes: number; records: number }[];
  private readonly taken: boolean[];
  private readonly sum = { bytes: 0, records: 0 };
  pool: { streams: TaskStream[]; close: () => Promise<void> } | null = null;

  constructor(
    paths: string[],
    private readonly progressOf: (msg: TaskMessage, id: number) => { bytes: number; records: number } | null,
  ) {
    this.index = new Map(paths.map((p, i) => [p, i]));
    this.latest = paths.map(() => ({ bytes: 0, records: 0 }));
    this.taken = paths.map(() => false);
  }

  /** runTasks' onArrival: every message as it arrives, before its turn. */
  readonly arrive = (id: number, msg: TaskMessage): void => {
    if (this.taken[id] !== false) return;
    const p = this.progressOf(msg, id);
    if (!p) return;
    const l = this.latest[id]!;
    this.sum.bytes += p.bytes - l.bytes;
    this.sum.records += p.records - l.records;
    this.latest[id] = p;
  };

  /** The input's events (its turn has come: it no longer counts as ahead). */
  readonly events = (path: string): AsyncIterable<E> | undefined => {
    const i = this.index.get(path);
    if (i === undefined || !this.pool) return undefined;
    if (!this.taken[i]) {
      this.taken[i] = true;
      this.sum.bytes -= this.latest[i]!.bytes;
      this.sum.records -= this.latest[i]!.records;
    }
    return this.pool.streams[i] as AsyncIterable<unknown> as AsyncIterable<E>;
  };

  readonly ahead = (): { bytes: number; records: number } => ({ ...this.sum });

  readonly close = (): Promise<void> => this.pool?.close() ?? Promise.resolve();
}

/** Captures read in worker threads (none when the setting and sizes say one thread pays better). */
export function captureWorkers(setting: ThreadSetting, keylog: string[] | undefined): (caps: { path: string; bytes: number }[]) => CaptureReaders | null {
  return (caps) => {
    const n = reportCaptureWorkers(setting, caps.length, caps.reduce((a, c) => a + c.bytes, 0));
    if (n === 0) return null;
    const keys = keylog?.length ? { keylog } : {};
    // (a capture's progress: the bytes of the file read, compressed ones when it is compressed; all of it at its end)
    const by = new ByPath<RemoteCaptureEvent>(caps.map((c) => c.path), (m, id) => {
      const e = m as RemoteCaptureEvent;
      return e.t === 'progress' ? { bytes: e.fileBytes ?? 0, records: 0 } : e.t === 'end' ? { bytes: caps[id]!.bytes, records: 0 } : null;
    });
    // (each worker hashes its capture as it reads it: the manifest's sha256, not read again on the main thread)
    by.pool = runTasks(caps.map((c) => ({ kind: 'flows-capture' as const, path: c.path, ...keys, sha256: true })), n, 64, by.arrive);
    return by;
  };
}

/**
 * Access logs read in worker threads: each parsed, window-filtered, compacted and written as sorted runs into
 * the spill's directory by a worker with its share of the spill's memory budget (`maxRecords`); the main thread
 * adopts the runs in input order (the same records, seqs and report).
 */
export function logWorkers(setting: ThreadSetting, spill: RecordSpill, maxRecords: number = DEFAULT_MAX_RECORDS): (logs: LogTaskSpec[]) => LogReaders | null {
  return (logs) => {
    // (under auto at most AUTO_LOG_WORKERS: each worker holds its own heap, ~100 MB when busy)
    const n = Math.min(workerCount(setting, logs.length, logs.reduce((a, l) => a + l.bytes, 0)), setting === 'auto' ? AUTO_LOG_WORKERS : Infinity);
    if (n === 0) return null;
    const dir = spill.runDirectory();
    const share = { maxRecords: Math.max(1, Math.ceil(maxRecords / n)), maxBytes: Math.ceil(DEFAULT_MAX_BYTES / n) };
    // Each worker's old generation capped (LOG_WORKER_HEAP_MB, or the process's own heap limit if lower): left to
    // itself V8 lets a busy worker's heap grow with the log (1M records: 434 MB peak, 263 MB capped). A worker that
    // runs out of it anyway (a huge line) fails alone, and its log is read on the main thread (evidence.ts).
    const heapMb = Math.min(LOG_WORKER_HEAP_MB, Math.floor(getHeapStatistics().heap_size_limit / 2 ** 20));
    // (a log's progress: the bytes of the file read and the records parsed; all of them at its end)
    const by = new ByPath<LogTaskEvent>(logs.map((l) => l.path), (m, id) => {
      const e = m as LogTaskEvent;
      return e.t === 'progress' ? { bytes: e.bytes, records: e.records } : e.t === 'log' ? { bytes: logs[id]!.bytes, records: e.result.records } : null;
    });
    by.pool = runTasks(logs.map((l) => ({ kind: 'report-log' as const, log: { ...l, dir, ...share } })), n, 64, by.arrive, { maxOldGenerationSizeMb: heapMb });
    return by;
  };
}
