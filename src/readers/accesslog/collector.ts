/**
 * An Envoy Access Log Service server: `envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs`
 * over @grpc/grpc-js, decoding with our protos/. Every entry is handed to `onEntry` as soon as its
 * message is decoded (one AlsLine per HTTPAccessLogEntry / TCPAccessLogEntry), carrying the node id
 * and log name from the stream's first message. A malformed message ends that stream with
 * INVALID_ARGUMENT; entries already received are kept. `shutdown()` stops accepting, lets open
 * streams finish for a grace period, then closes them; nothing delivered to `onEntry` is lost.
 *
 * No client input can stop the server: a message is counted on the wire before it is decoded (at most
 * MAX_ENTRIES_PER_MESSAGE entries, else RESOURCE_EXHAUSTED), an exception from `onEntry` is reported and the
 * stream goes on, `pressure()` pauses every stream while the consumer catches up, and `fail()` ends every
 * stream with UNAVAILABLE (and refuses new ones) when the consumer can no longer keep what it receives. A stream
 * the client ends gets its OK only once `settled()` says what it sent is stored.
 */
import * as grpc from '@grpc/grpc-js';
import type { JsonValue } from '../../model/attrs.js';
import protobuf from 'protobufjs';
import { ALS_MAX_MESSAGE_BYTES, alsTypes, messageToJson, type AlsLine } from './als.js';

/**
 * Entries one StreamAccessLogsMessage may carry. Envoy flushes its buffer at `buffer_size_bytes` (16 KiB by
 * default), so real messages carry tens to hundreds; a message of millions of empty entries is an attack on
 * the collector's memory (each decoded entry costs far more than its 2 bytes on the wire).
 */
export const MAX_ENTRIES_PER_MESSAGE = 100_000;

export interface CollectorTls {
  cert: Buffer;
  key: Buffer;
  /** CA bundle for client certificates: when given, clients must present a certificate (mTLS). */
  ca?: Buffer;
}

export interface CollectorOptions {
  /** `host:port`; port 0 picks a free port. */
  listen: string;
  tls?: CollectorTls;
  onEntry: (line: AlsLine) => void;
  /** Stream lifecycle and rejected messages, for stderr. */
  onEvent?: (e: CollectorEvent) => void;
  /** Backpressure: a promise while the consumer is saturated (streams pause until it settles), else null. */
  pressure?: () => Promise<void> | null;
  /**
   * A promise until every entry delivered so far is stored (else null): a stream the client ends is acknowledged
   * (OK) only then, so OK never stands for entries the consumer then fails to keep (those streams get UNAVAILABLE).
   */
  settled?: () => Promise<void> | null;
}

export type CollectorEvent =
  | { type: 'stream-open'; stream: string; peer: string }
  | { type: 'stream-end'; stream: string; entries: number; status: 'ok' | 'cancelled' | 'rejected' | 'shutdown' }
  | { type: 'rejected'; stream: string; message: string }
  /** `onEntry` threw for one entry; the entry is counted and the stream goes on. */
  | { type: 'entry-error'; stream: string; index: number; message: string };

export interface CollectorStats {
  streams: number;
  openStreams: number;
  messages: number;
  entries: number;
  rejected: number;
}

interface OpenStream {
  call: grpc.ServerReadableStream<Buffer, Buffer>;
  callback: grpc.sendUnaryData<Buffer>;
  done: boolean;
}

const METHOD_PATH = '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';

export class AlsCollector {
  readonly stats: CollectorStats = { streams: 0, openStreams: 0, messages: 0, entries: 0, rejected: 0 };
  private readonly opts: CollectorOptions;
  private server: grpc.Server | null = null;
  private readonly open = new Set<OpenStream>();
  private closing = false;
  private failure: string | null = null;
  private boundPort = 0;

  constructor(opts: CollectorOptions) {
    this.opts = opts;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Binds and starts serving; resolves with the bound port. */
  async start(): Promise<number> {
    const types = alsTypes();
    const emptyResponse = Buffer.from(types.response.encode(types.response.create({})).finish());
    const server = new grpc.Server({ 'grpc.max_receive_message_length': ALS_MAX_MESSAGE_BYTES });
    const definition: grpc.ServiceDefinition = {
      StreamAccessLogs: {
        path: METHOD_PATH,
        requestStream: true,
        responseStream: false,
        // Decoding happens in the handler so a malformed message becomes a status, not a crash.
        requestDeserialize: (b: Buffer) => b,
        requestSerialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
        originalName: 'streamAccessLogs',
      },
    };
    server.addService(definition, {
      StreamAccessLogs: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
        this.handle(call, callback, emptyResponse),
    });
    const creds = this.opts.tls
      ? grpc.ServerCredentials.createSsl(this.opts.tls.ca ?? null, [{ cert_chain: this.opts.tls.cert, private_key: this.opts.tls.key }], this.opts.tls.ca !== undefined)
      : grpc.ServerCredentials.createInsecure();
    this.boundPort = await new Promise<number>((resolve, reject) => {
      server.bindAsync(this.opts.listen, creds, (err, port) => (err ? reject(err) : resolve(port)));
    });
    this.server = server;
    return this.boundPort;
  }

  private handle(call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>, empty: Buffer): void {
    const types = alsTypes();
    const id = `${call.getPeer()}#${++this.stats.streams}`;
    if (this.failure !== null) {
      callback({ code: grpc.status.UNAVAILABLE, details: this.failure } as grpc.ServiceError, null);
      return;
    }
    const st: OpenStream = { call, callback, done: false };
    this.open.add(st);
    this.stats.openStreams++;
    this.opts.onEvent?.({ type: 'stream-open', stream: id, peer: call.getPeer() });
    let node: string | null = null;
    let logName: string | null = null;
    let index = 0;
    let first = true;
    const finish = (status: 'ok' | 'cancelled' | 'rejected' | 'shutdown', err?: grpc.ServiceError | Partial<grpc.StatusObject>): void => {
      if (st.done) return;
      st.done = true;
      this.open.delete(st);
      this.stats.openStreams--;
      this.opts.onEvent?.({ type: 'stream-end', stream: id, entries: index, status });
      try {
        if (err) callback(err as grpc.ServiceError, null);
        else callback(null, empty);
      } catch {
        /* the call may already be gone */
      }
    };
    const reject = (message: string, code: grpc.status = grpc.status.INVALID_ARGUMENT): void => {
      this.stats.rejected++;
      this.opts.onEvent?.({ type: 'rejected', stream: id, message });
      finish('rejected', { code, details: message });
      call.destroy?.();
    };
    call.on('data', (buf: Buffer) => {
      if (st.done) return;
      const count = entriesOnWire(buf);
      if (count > MAX_ENTRIES_PER_MESSAGE) {
        reject(`message ${this.stats.messages + 1} on ${id} carries ${count} entries; at most ${MAX_ENTRIES_PER_MESSAGE} per message are accepted`, grpc.status.RESOURCE_EXHAUSTED);
        return;
      }
      let msg: Record<string, JsonValue>;
      try {
        msg = messageToJson(types.message, types.message.decode(buf));
      } catch (e) {
        reject(`message ${index === 0 && first ? 1 : this.stats.messages + 1} on ${id} is not a StreamAccessLogsMessage: ${(e as Error).message}`);
        return;
      }
      this.stats.messages++;
      const ident = msg.identifier as Record<string, JsonValue> | undefined;
      if (first) {
        first = false;
        if (!ident) {
          reject('the first StreamAccessLogsMessage of a stream must carry identifier (node, log_name)');
          return;
        }
      }
      if (ident) {
        const nodeObj = ident.node as Record<string, JsonValue> | undefined;
        node = (typeof nodeObj?.id === 'string' && nodeObj.id) || node;
        logName = (typeof ident.log_name === 'string' && ident.log_name) || logName;
      }
      const http = (msg.http_logs as Record<string, JsonValue> | undefined)?.log_entry;
      const tcp = (msg.tcp_logs as Record<string, JsonValue> | undefined)?.log_entry;
      const kind: 'http' | 'tcp' | null = Array.isArray(http) ? 'http' : Array.isArray(tcp) ? 'tcp' : null;
      const list = (kind === 'http' ? http : tcp) as JsonValue[] | undefined;
      if (!kind || !list || list.length === 0) {
        reject('StreamAccessLogsMessage carries no http_logs or tcp_logs entries');
        return;
      }
      const received = new Date().toISOString();
      for (const entry of list) {
        this.stats.entries++;
        const at = index++;
        try {
          this.opts.onEntry({ type: 'als', kind, node, logName, stream: id, index: at, received, entry: entry as Record<string, JsonValue> });
        } catch (e) {
          this.opts.onEvent?.({ type: 'entry-error', stream: id, index: at, message: (e as Error).message });
        }
      }
      const wait = this.opts.pressure?.();
      if (wait) {
        call.pause();
        void wait.then(() => {
          if (!st.done) call.resume();
        });
      }
    });
    call.on('end', () => {
      const stored = this.opts.settled?.();
      if (!stored) finish(this.closing ? 'shutdown' : 'ok');
      else
        void stored.then(() => {
          if (this.failure !== null) this.endUnavailable(st, this.failure);
          else finish(this.closing ? 'shutdown' : 'ok');
        });
    });
    call.on('cancelled', () => finish('cancelled'));
    call.on('error', () => finish('cancelled'));
  }

  /**
   * The consumer can no longer keep entries (e.g. the output file's disk is full): every open stream ends with
   * UNAVAILABLE at once, so Envoy keeps (and retries) what it has not delivered, and new streams are refused.
   */
  fail(reason: string): void {
    if (this.failure !== null) return;
    this.failure = reason;
    for (const st of [...this.open]) {
      this.endUnavailable(st, reason);
      st.call.destroy?.();
    }
  }

  /** Ends one open stream with UNAVAILABLE (Envoy keeps what it has not delivered and reconnects). */
  private endUnavailable(st: OpenStream, details: string): void {
    if (st.done) return;
    st.done = true;
    this.open.delete(st);
    this.stats.openStreams--;
    try {
      st.callback({ code: grpc.status.UNAVAILABLE, details } as grpc.ServiceError, null);
    } catch {
      /* gone */
    }
  }

  /**
   * Stops accepting new streams, waits up to `graceMs` for open streams to end (Envoy's never do),
   * then ends them with UNAVAILABLE so Envoy reconnects elsewhere. Entries already delivered stay.
   */
  async shutdown(graceMs = 2000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.closing = true;
    await new Promise<void>((resolve) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        for (const st of [...this.open]) this.endUnavailable(st, 'collector shutting down');
        server.forceShutdown();
        settled = true;
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve();
      });
    });
    this.server = null;
  }
}

/**
 * Entries in a StreamAccessLogsMessage, counted on the wire without decoding them: field 2 (http_logs) or 3
 * (tcp_logs) holds a message whose repeated field 1 is the entries. Malformed bytes count as 0 (the decoder then
 * says what is wrong).
 */
export function entriesOnWire(buf: Uint8Array): number {
  let count = 0;
  try {
    const r = protobuf.Reader.create(buf);
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if ((field === 2 || field === 3) && wire === 2) {
        const len = r.uint32();
        const end = r.pos + len;
        const inner = protobuf.Reader.create(buf.subarray(r.pos, end));
        while (inner.pos < inner.len) {
          const t = inner.uint32();
          if (t >>> 3 === 1) count++;
          inner.skipType(t & 7);
        }
        r.pos = end;
      } else r.skipType(wire);
    }
  } catch {
    return count;
  }
  return count;
}
