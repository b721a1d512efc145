/**
 * The contract between the capture pipeline (src/readers/capture: TCP reassembly) and the
 * protocol decoders (src/protocols: TLS, HTTP/1.x, HTTP/2). The reassembler feeds each TCP
 * connection's bytes, in sequence order per direction, to one StreamDecoder; the decoder decides
 * by content (never by port) what the bytes are, and reports facts, not verdicts.
 */
import type { AppProtocolFacts, FlowTls, HttpExchange } from '../model/records.js';

export type Direction = 'c2s' | 's2c';

export interface SegmentMeta {
  /** 1-based frame number of the packet that carried these bytes. */
  frame: number;
  /** Capture timestamp, epoch milliseconds (fractional for µs/ns precision). */
  timeMs: number;
}

export interface StreamDecoder {
  /** In-order payload bytes for one direction. */
  data(dir: Direction, bytes: Uint8Array, meta: SegmentMeta): void;
  /** A hole of `length` bytes in one direction (segment lost, or payload cut by the snap length). */
  gap(dir: Direction, length: number, meta: SegmentMeta): void;
  /** No more bytes will come (FIN/RST seen, or end of capture). */
  end(): void;
  /**
   * False once the decoder has classified the stream and needs no further bytes in that direction
   * (e.g. TLS after the handshake): the reassembler may then count bytes without buffering them.
   */
  wants(dir: Direction): boolean;
  facts(): StreamFacts;
}

export type StreamProtocol = 'tls' | 'http/1.1' | 'http/1.0' | 'http/0.9' | 'h2c' | 'mysql' | 'postgresql' | 'redis' | 'mongodb' | 'tcp' | 'unknown';

export interface StreamFacts {
  /** What the content is. `tcp` = payload seen but not a protocol we decode; `unknown` = no payload seen. */
  protocol: StreamProtocol;
  /** Handshake facts when TLS was seen (from either direction). */
  tls: FlowTls | null;
  /** Cleartext HTTP exchanges (HTTP/1.x or h2c). */
  http: HttpExchange[];
  /** A cleartext database/cache protocol named by content, with its login facts and statements. */
  app?: AppProtocolFacts;
  /** True when application bytes were seen in cleartext (not TLS records). */
  cleartext: boolean;
  /**
   * Payload of an unrecognised protocol (`tcp`) that looks encrypted or compressed (byte entropy
   * of the first bytes close to random, e.g. TLS captured mid-record after the handshake):
   * `cleartext` is then false, since nothing shows the bytes are readable.
   */
  opaque?: boolean;
  /** Payload bytes actually seen per direction, and bytes missing (gaps). */
  seen: Record<Direction, number>;
  missing: Record<Direction, number>;
  /** Human-readable notes (e.g. "ClientHello truncated: payload not captured"). */
  notes: string[];
  /**
   * TLS that started after a cleartext step (STARTTLS, SSLRequest, CONNECT, SOCKS, ...): what the
   * preamble was and the frame of the ClientHello. `protocol` is then `tls` and the verdict comes
   * from the handshake; the preamble is evidence.
   */
  upgrade?: { kind: string; detail: string | null; frame: number };
  /** HTTP/2 cleartext details when h2c was seen: client preface, h2c upgrade, frame counts. */
  http2?: {
    preface: boolean;
    upgrade: boolean;
    frames: Record<Direction, number>;
    /** Frames by type name (DATA, HEADERS, SETTINGS, ...). */
    frameTypes: Record<string, number>;
  };
}
