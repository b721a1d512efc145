/**
 * Capture reader: file or stdin → frames (pcap/pcapng) → TCP segments, as async iterables of
 * batches, in bounded memory. See frames.ts (file formats), decode.ts (link/IP/TCP headers) and
 * tcp.ts (connection tracking and reassembly).
 */
import { open as openFile } from 'node:fs/promises';
import type { Diagnostic } from '../../model/errors.js';
import { createDecoder, type DecodeStats, type TcpSegment, LINKTYPE_NAMES, SUPPORTED_LINKTYPES } from './decode.js';
import { UdpTable } from './udp.js';
import { newFrameReaderState, readFrames, type ByteInput, type FrameReaderState, type RawFrame } from './frames.js';

export * from './frames.js';
export * from './decode.js';
export * from './tcp.js';
export * from './udp.js';

/** Where capture bytes come from. `open()` may be called once. */
export interface CaptureSource {
  /** Name for messages and Flow.file ("-" for stdin). */
  name: string;
  open(): ByteInput;
}

/** A capture file (read straight into the reader's buffer), or standard input when `path` is `-`. */
export function captureFile(path: string): CaptureSource {
  if (path === '-') return { name: '-', open: () => process.stdin };
  return {
    name: path,
    open: () => {
      let fh: Awaited<ReturnType<typeof openFile>> | null = null;
      let closed = false;
      return {
        async readInto(buf: Buffer, offset: number, length: number): Promise<number> {
          if (closed) return 0;
          fh ??= await openFile(path, 'r');
          // position null: read on from the current position, which also works for FIFOs
          // (`<(tcpdump -w - ...)`, /dev/stdin) where positional reads fail
          const { bytesRead } = await fh.read(buf, offset, length, null);
          if (bytesRead === 0) {
            closed = true;
            await fh.close();
          }
          return bytesRead;
        },
        async close(): Promise<void> {
          if (fh && !closed) await fh.close();
          closed = true;
        },
      };
    },
  };
}

/** An in-memory capture (tests, generated data), delivered in chunks of `chunk` bytes. */
export function captureBuffer(name: string, bytes: Uint8Array, chunk = 1 << 20): CaptureSource {
  return {
    name,
    async *open() {
      for (let o = 0; o < bytes.length; o += chunk) yield bytes.subarray(o, Math.min(bytes.length, o + chunk));
    },
  };
}

export interface CaptureStats {
  file: string;
  reader: FrameReaderState;
  decode: DecodeStats;
  /** UDP conversations (datagrams that are not tunnels). */
  udp: UdpTable;
}

export interface ReadCaptureOptions {
  onDiagnostic?: (d: Diagnostic) => void;
}

/** Every frame of a capture (flattened), for tools and tests. */
export async function* readCaptureFrames(src: CaptureSource, opts: ReadCaptureOptions = {}, state: FrameReaderState = newFrameReaderState()): AsyncGenerator<RawFrame> {
  for await (const batch of readFrames(src.open(), { name: src.name, ...(opts.onDiagnostic ? { onDiagnostic: opts.onDiagnostic } : {}) }, state)) {
    yield* batch;
  }
}

/**
 * Batches of TCP segments. Frames that are not TCP over IPv4/IPv6 are counted in `stats.decode`
 * (UDP datagrams also go to `stats.udp` as conversations);
 * an unsupported link type is reported once (warning with the first frame number).
 * Segment payloads are views valid until the next batch.
 */
export async function* readTcpSegments(src: CaptureSource, opts: ReadCaptureOptions = {}, stats?: CaptureStats): AsyncGenerator<TcpSegment[]> {
  const reader = stats?.reader ?? newFrameReaderState();
  const dec = createDecoder({ udp: stats?.udp ?? new UdpTable() });
  if (stats) stats.decode = dec.stats;
  const onDiag = opts.onDiagnostic;
  const reported = new Set<number>();
  for await (const batch of readFrames(src.open(), { name: src.name, ...(onDiag ? { onDiagnostic: onDiag } : {}) }, reader)) {
    const out: TcpSegment[] = [];
    for (let i = 0; i < batch.length; i++) {
      const s = dec.decode(batch[i]!);
      if (s) out.push(s);
    }
    if (dec.stats.unsupportedLinkTypes.size > reported.size) {
      for (const [lt, frame] of dec.stats.unsupportedLinkTypes) {
        if (reported.has(lt)) continue;
        reported.add(lt);
        const d: Diagnostic = {
          severity: 'warning',
          location: { file: src.name, frame },
          message: `unsupported link type ${lt}${LINKTYPE_NAMES[lt] ? ` (${LINKTYPE_NAMES[lt]})` : ''}: frames with it are skipped (supported: ${SUPPORTED_LINKTYPES})`,
        };
        reader.diagnostics.push(d);
        onDiag?.(d);
      }
    }
    if (out.length) yield out;
  }
  dec.frags.flush(dec.stats);
}

export function newCaptureStats(file: string): CaptureStats {
  return { file, reader: newFrameReaderState(), decode: createDecoder().stats, udp: new UdpTable() };
}
