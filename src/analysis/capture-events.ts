/**
 * One capture file as a sequence of events: its flows as they complete, its diagnostics, progress, and at
 * the end what it held besides TCP flows (accounting, UDP conversations, fragment and eviction counts), or
 * the error that stopped it. `flows` consumes these events whether the file was read on the main thread or
 * in a worker thread (src/cli/worker.ts), so both paths print the same.
 *
 * Every event is plain data (structured-clone safe).
 */
import type { KeyLog } from '../protocols/tls/keylog.js';
import { captureFile, newCaptureStats, type CaptureStats, type FragmentDropReason } from '../readers/capture/index.js';
import { flowsFromCapture } from './flows.js';
import { captureAccounting, udpRecords, type CaptureAccounting, type UdpConversationRecord } from './capture-stats.js';
import { createStreamDecoder } from '../protocols/index.js';
import { serializeError, type Diagnostic, type SerializedError } from '../model/errors.js';

export { serializeError, deserializeError, type SerializedError } from '../model/errors.js';
import type { Flow } from '../model/records.js';

/** What a capture held besides its flows, once read to its end. */
export interface CaptureFileSummary {
  /** An error diagnostic was reported while reading (damage stopped the file). */
  hadError: boolean;
  fragments: { seen: number; reassembled: number; dropped: number; droppedBy: Partial<Record<FragmentDropReason, number>> };
  tcp: CaptureStats['tcp'];
  accounting: CaptureAccounting;
  udp: UdpConversationRecord[];
}

export type CaptureEvent =
  | { t: 'flows'; flows: Flow[] }
  | { t: 'diag'; d: Diagnostic }
  /** `bytes` as the reader counts them (decompressed), `fileBytes` read from the file (compressed ones for a compressed file; absent for stdin). */
  | { t: 'progress'; bytes: number; frames: number; fileBytes?: number }
  | { t: 'error'; error: SerializedError }
  | { t: 'end'; summary: CaptureFileSummary };

/**
 * The warning `flows` and `report` print when the TCP table handed connections over unfinished (idle for
 * an hour of capture time, or the least recently active beyond the open-connection cap); null when none was.
 */
export function unfinishedLine(path: string, tcp: CaptureStats['tcp']): string | null {
  if (tcp.evictedIdle + tcp.evictedOverCap === 0) return null;
  const why = [tcp.evictedIdle ? `${tcp.evictedIdle} idle for an hour of capture time` : '', tcp.evictedOverCap ? `${tcp.evictedOverCap} least recently active while more than 50,000 were open` : ''].filter(Boolean);
  return `${path}: ${tcp.evictedIdle + tcp.evictedOverCap} TCP connection(s) listed unfinished to bound memory (${why.join('; ')}): a later packet of one starts a new flow`;
}

export function captureFileSummary(path: string, stats: CaptureStats): CaptureFileSummary {
  const fr = stats.decode.fragments;
  return {
    hadError: stats.reader.diagnostics.some((d) => d.severity === 'error'),
    fragments: { seen: fr.seen, reassembled: fr.reassembled, dropped: fr.dropped, droppedBy: { ...fr.droppedBy } },
    tcp: { ...stats.tcp },
    accounting: captureAccounting(path, stats),
    udp: udpRecords(path, stats),
  };
}

/**
 * The events of one capture (a path, or `-` for standard input). Flows come one per event, as soon as
 * they complete (live captures stream); `progress` after every batch of frames; an `error` event ends the
 * file early (no `end`). `onFileData` hears the file's bytes as they are read (captureFile).
 */
export async function* captureEvents(path: string, keys?: KeyLog, onFileData?: (bytes: Uint8Array) => void): AsyncGenerator<CaptureEvent> {
  let fileBytes = 0;
  const src = captureFile(path, (n) => (fileBytes = n), onFileData);
  const stats = newCaptureStats(path);
  const pending: CaptureEvent[] = [];
  try {
    for await (const f of flowsFromCapture(src, {
      decoder: keys ? () => createStreamDecoder({ keys }) : createStreamDecoder,
      onDiagnostic: (d) => pending.push({ t: 'diag', d }),
      onProgress: (bytes, frames) => pending.push({ t: 'progress', bytes, frames, ...(fileBytes > 0 ? { fileBytes } : {}) }),
    }, stats)) {
      if (pending.length) yield* pending.splice(0);
      yield { t: 'flows', flows: [f] };
    }
  } catch (err) {
    if (pending.length) yield* pending.splice(0);
    yield { t: 'error', error: serializeError(err) };
    return;
  }
  if (pending.length) yield* pending.splice(0);
  yield { t: 'end', summary: captureFileSummary(path, stats) };
}
