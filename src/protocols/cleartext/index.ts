/**
 * Cleartext protocols named by content (never by port): MySQL, PostgreSQL, Redis (RESP) and
 * MongoDB (OP_MSG / OP_QUERY). Each is recognised from its own first bytes (the MySQL server
 * greeting, the PostgreSQL StartupMessage, a RESP array of bulk strings, a MongoDB message header)
 * and yields what a responder needs: the login user and database, and the statements seen in
 * cleartext (SQL text, Redis commands, MongoDB command names), bounded. Secrets are kept as
 * captured here (a PostgreSQL password message is only counted, never kept); reporters redact
 * them (src/model/redact.ts redactStatement) unless --show-secrets.
 */
import type { AppProtocolFacts, AppStatement } from '../../model/records.js';
import type { Direction, SegmentMeta } from '../stream.js';

export type AppProtocolName = AppProtocolFacts['protocol'];

/** Statements kept per flow; the rest are counted. */
export const MAX_STATEMENTS = 50;
/** Characters kept of one statement. */
export const MAX_STATEMENT_TEXT = 1024;
/** Bytes parsed per direction before the decoder stops wanting more. */
const MAX_PARSE = 1 << 20;
/** Largest message buffered whole (a bigger one is skipped by its length). */
const MAX_MESSAGE = 256 * 1024;

const u32le = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const u32be = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
const utf8 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8');
function cstring(b: Uint8Array, o: number): { s: string; end: number } | null {
  const z = b.indexOf(0, o);
  return z < 0 ? null : { s: utf8(b.subarray(o, z)), end: z + 1 };
}

/** MySQL server greeting: 3-byte length, sequence 0, protocol 10, a NUL-terminated version. */
function isMysqlGreeting(s: Uint8Array): boolean {
  if (s.length < 6 || s[3] !== 0 || s[4] !== 10) return false;
  const len = s[0]! | (s[1]! << 8) | (s[2]! << 16);
  if (len < 20 || len > 1024) return false;
  const v = s.subarray(5, Math.min(s.length, 5 + 64));
  const z = v.indexOf(0);
  return z > 0 && /^[0-9][\x20-\x7e]*$/.test(latin1(v.subarray(0, z)));
}

/** PostgreSQL StartupMessage (protocol 3.0) or SSLRequest/GSSENCRequest/CancelRequest: int32 length, int32 code. */
function isPostgresStartup(c: Uint8Array): boolean {
  if (c.length < 8) return false;
  const len = u32be(c, 0);
  const code = u32be(c, 4);
  if (code === 0x00030000) return len >= 9 && len < 10000;
  return len === 8 && (code === 80877103 || code === 80877104);
}

/** RESP: an array of bulk strings (`*N\r\n$len\r\n`), or an inline command of printable words. */
function isResp(c: Uint8Array): boolean {
  const t = latin1(c.subarray(0, 32));
  if (/^\*[1-9][0-9]{0,5}\r\n\$[0-9]{1,9}\r\n/.test(t)) return true;
  return /^(PING|AUTH|HELLO|SELECT|INFO|GET|SET|KEYS|CONFIG|CLIENT|COMMAND|QUIT)( [^\r\n]*)?\r\n/i.test(t);
}

/** MongoDB message header: int32 length, requestID, responseTo 0, opCode OP_MSG (2013) or OP_QUERY (2004). */
function isMongo(c: Uint8Array): boolean {
  if (c.length < 16) return false;
  const len = u32le(c, 0);
  const op = u32le(c, 12);
  return len >= 21 && len <= 48_000_000 && u32le(c, 8) === 0 && (op === 2013 || op === 2004);
}

/** Which protocol the first bytes of each direction are, if one we name. */
export function detectAppProtocol(c2s: Uint8Array, s2c: Uint8Array): AppProtocolName | null {
  if (s2c.length && isMysqlGreeting(s2c)) return 'mysql';
  if (c2s.length && isPostgresStartup(c2s)) return 'postgresql';
  if (c2s.length && isMongo(c2s)) return 'mongodb';
  if (c2s.length && isResp(c2s)) return 'redis';
  return null;
}

/** Message framing per direction: accumulates bytes and hands whole messages to the protocol. */
class Framer {
  private buf: Buffer = Buffer.alloc(0);
  /**
   * Bytes that came after `buf` while a message of known length (`want`) was incomplete: kept apart and joined
   * once, when the message is whole, instead of `buf` being copied again at every segment (quadratic in a
   * message's size: a Redis SET of a few KB spans several segments).
   */
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** The length the message at the start of `buf` was found to need (0: none known). */
  private want = 0;
  /** Bytes of an over-long message still to skip. */
  private skip = 0;
  parsed = 0;
  dead = false;
  /**
   * `length`: the length of the message at the start of the bytes (null: not known yet, negative: not this
   * protocol). `stable`: its answer for a message changes only with the message's own bytes, never with the
   * other direction's (PostgreSQL's server side is not: its one-byte answer follows the client's SSLRequest),
   * so a known length need not be asked again.
   */
  constructor(
    private readonly length: (b: Buffer) => number | null,
    private readonly stable = true,
  ) {}

  /**
   * `bytes` is valid only during the call (the caller reuses its buffer): whole messages in it are parsed
   * where they lie (onMessage keeps strings, never the bytes), and only what is left over is copied.
   */
  push(bytes: Uint8Array, onMessage: (m: Buffer) => void): void {
    if (this.dead) return;
    this.parsed += bytes.length;
    let b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    if (this.skip) {
      const n = Math.min(this.skip, b.length);
      this.skip -= n;
      b = b.subarray(n);
    }
    /** this.buf is a view of the caller's bytes, not a copy of our own */
    let borrowed: boolean;
    if (this.want) {
      // the message's length is known and only its bytes are missing (asking again would give the same)
      const total = this.buf.length + this.heldBytes + b.length;
      if (total < this.want) {
        this.held.push(Buffer.from(b));
        this.heldBytes += b.length;
        return;
      }
      this.buf = Buffer.concat([this.buf, ...this.held, b], total);
      this.held = [];
      this.heldBytes = 0;
      this.want = 0;
      borrowed = false;
    } else {
      borrowed = this.buf.length === 0;
      this.buf = borrowed ? b : Buffer.concat([this.buf, b]);
    }
    for (;;) {
      const n = this.length(this.buf);
      if (n === null) {
        if (this.buf.length > MAX_MESSAGE) this.dead = true;
        else if (borrowed) this.buf = Buffer.from(this.buf);
        return;
      }
      if (n < 0) {
        this.dead = true;
        return;
      }
      if (n > MAX_MESSAGE) {
        this.skip = n - this.buf.length;
        if (this.skip < 0) {
          this.buf = this.buf.subarray(n);
          this.skip = 0;
          continue;
        }
        this.buf = Buffer.alloc(0);
        return;
      }
      if (this.buf.length < n) {
        if (borrowed) this.buf = Buffer.from(this.buf);
        if (this.stable) this.want = n;
        return;
      }
      onMessage(this.buf.subarray(0, n));
      this.buf = this.buf.subarray(n);
      if (this.buf.length === 0) return;
    }
  }
}

const mysqlLen = (b: Buffer) => (b.length < 4 ? null : 4 + (b[0]! | (b[1]! << 8) | (b[2]! << 16)));
const pgLen = (b: Buffer) => (b.length < 5 ? null : 1 + u32be(b, 1));
const pgStartupLen = (b: Buffer) => (b.length < 4 ? null : u32be(b, 0));
const mongoLen = (b: Buffer) => (b.length < 4 ? null : u32le(b, 0) < 16 ? -1 : u32le(b, 0));

/** One RESP request (array of bulk strings, or an inline line): its length in `b`, or null. */
function respLen(b: Buffer): number | null {
  if (b.length === 0) return null;
  if (b[0] !== 0x2a /* * */) {
    const nl = b.indexOf(0x0a);
    return nl < 0 ? null : nl + 1;
  }
  let o = b.indexOf(0x0a);
  if (o < 0) return null;
  const n = Number(latin1(b.subarray(1, o - 1)));
  if (!Number.isInteger(n) || n < 0 || n > 1_000_000) return -1;
  o++;
  for (let i = 0; i < n; i++) {
    if (o >= b.length) return null;
    if (b[o] !== 0x24 /* $ */) return -1;
    const nl = b.indexOf(0x0a, o);
    if (nl < 0) return null;
    const len = Number(latin1(b.subarray(o + 1, nl - 1)));
    if (!Number.isInteger(len) || len < -1) return -1;
    o = nl + 1 + (len >= 0 ? len + 2 : 0);
  }
  return o;
}

/** The arguments of one RESP request: an array's bulk strings as views of `m` (a null bulk string is empty), or an inline line's words. */
function respArgs(m: Buffer): (Buffer | string)[] {
  if (m[0] !== 0x2a) return latin1(m).trim().split(/\s+/);
  const out: Buffer[] = [];
  let o = m.indexOf(0x0a) + 1;
  while (o < m.length) {
    const nl = m.indexOf(0x0a, o);
    if (nl < 0) break;
    const len = Number(latin1(m.subarray(o + 1, nl - 1)));
    if (len < 0) {
      out.push(m.subarray(0, 0));
      o = nl + 1;
      continue;
    }
    out.push(m.subarray(nl + 1, nl + 1 + len));
    o = nl + 1 + len + 2;
  }
  return out;
}

const text = (a: Buffer | string): string => (typeof a === 'string' ? a : utf8(a));

/**
 * One argument as a Redis statement shows it: JSON-quoted when empty or holding whitespace or `"`. At most
 * `room` characters are needed (the statement is cut there): plain ASCII (no byte 0x80 or above, so one byte
 * is one character and no Unicode space) is scanned as bytes and only `room` of it decoded; anything else is
 * decoded whole, as it must be to know whether it is quoted.
 */
function respPart(a: Buffer | string, room: number): string {
  if (typeof a !== 'string' && a.length > 0) {
    let plain = true;
    for (let i = 0; i < a.length; i++) {
      const c = a[i]!;
      if (c >= 0x80 || c === 0x20 || c === 0x22 || (c >= 0x09 && c <= 0x0d)) {
        plain = false;
        break;
      }
    }
    if (plain) return latin1(a.length > room ? a.subarray(0, room) : a);
  }
  const s = text(a);
  return /[\s"]/.test(s) || s === '' ? JSON.stringify(s) : s;
}

/** The first key of a BSON document (a MongoDB command's name) and its `$db` string, when present. */
export function bsonCommand(doc: Uint8Array): { command: string | null; db: string | null } {
  const out: { command: string | null; db: string | null } = { command: null, db: null };
  if (doc.length < 5) return out;
  const end = Math.min(doc.length, u32le(doc, 0));
  let o = 4;
  while (o < end - 1) {
    const type = doc[o]!;
    const name = cstring(doc, o + 1);
    if (!name) return out;
    o = name.end;
    out.command ??= name.s;
    let size: number;
    switch (type) {
      case 0x01: case 0x09: case 0x11: case 0x12: size = 8; break;
      case 0x02: case 0x0d: case 0x0e: {
        const n = u32le(doc, o);
        if (type === 0x02 && name.s === '$db') out.db = utf8(doc.subarray(o + 4, o + 4 + n - 1));
        size = 4 + n;
        break;
      }
      case 0x03: case 0x04: case 0x0f: size = u32le(doc, o); break;
      case 0x05: size = 5 + u32le(doc, o); break;
      case 0x06: case 0x0a: case 0x7f: case 0xff: size = 0; break;
      case 0x07: size = 12; break;
      case 0x08: size = 1; break;
      case 0x0b: {
        const a = cstring(doc, o);
        const b = a && cstring(doc, a.end);
        if (!b) return out;
        size = b.end - o;
        break;
      }
      case 0x0c: size = 4 + u32le(doc, o) + 12; break;
      case 0x10: size = 4; break;
      case 0x13: size = 16; break;
      default: return out;
    }
    o += size;
    if (out.db !== null && out.command !== null) return out;
  }
  return out;
}

/** Decodes one cleartext protocol's messages into login facts and bounded statements. */
export class AppProtocolDecoder {
  private readonly framers: Record<Direction, Framer>;
  private readonly facts: AppProtocolFacts;
  private pgStartupDone = false;
  /** PostgreSQL: an SSLRequest/GSSENCRequest was sent, its one-byte answer ('N', 'S', 'G') is due. */
  private pgOneByteAnswer = false;
  private seq = 0;

  constructor(readonly protocol: AppProtocolName) {
    this.facts = { protocol, statements: [], statementsNotKept: 0 };
    const c2s =
      protocol === 'mysql' ? mysqlLen : protocol === 'postgresql' ? (b: Buffer) => (this.pgStartupDone ? pgLen(b) : pgStartupLen(b)) : protocol === 'mongodb' ? mongoLen : respLen;
    const s2c = protocol === 'mysql' ? mysqlLen : protocol === 'postgresql' ? (b: Buffer) => (this.pgOneByteAnswer && b.length > 0 ? 1 : pgLen(b)) : protocol === 'mongodb' ? mongoLen : () => -1;
    this.framers = { c2s: new Framer(c2s), s2c: new Framer(s2c, protocol !== 'postgresql') };
  }

  wants(dir: Direction): boolean {
    const f = this.framers[dir];
    if (dir === 's2c' && this.protocol === 'redis') return false;
    return !f.dead && f.parsed < MAX_PARSE;
  }

  data(dir: Direction, bytes: Uint8Array, meta: SegmentMeta): void {
    if (!this.wants(dir)) return;
    this.framers[dir].push(bytes, (m) => this.onMessage(dir, m, meta));
  }

  /** A hole: message boundaries are lost in that direction. */
  gap(dir: Direction): void {
    this.framers[dir].dead = true;
  }

  result(): AppProtocolFacts {
    return { ...this.facts, statements: [...this.facts.statements] };
  }

  private add(s: Omit<AppStatement, 'text'> & { text: string }): void {
    if (this.facts.statements.length >= MAX_STATEMENTS) {
      this.facts.statementsNotKept++;
      return;
    }
    const text = s.text.length > MAX_STATEMENT_TEXT ? `${s.text.slice(0, MAX_STATEMENT_TEXT)}…` : s.text;
    this.facts.statements.push({ ...s, text });
  }

  private onMessage(dir: Direction, m: Buffer, meta: SegmentMeta): void {
    this.seq++;
    switch (this.protocol) {
      case 'mysql':
        return this.mysql(dir, m, meta);
      case 'postgresql':
        return this.postgres(dir, m, meta);
      case 'redis':
        return this.redis(m, meta);
      case 'mongodb':
        return this.mongo(dir, m, meta);
    }
  }

  // MySQL client/server protocol (dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html)
  private mysql(dir: Direction, m: Buffer, meta: SegmentMeta): void {
    const seq = m[3]!;
    const body = m.subarray(4);
    if (dir === 's2c') {
      if (seq === 0 && body[0] === 10 && this.facts.serverVersion === undefined) {
        const v = cstring(body, 1);
        if (v) this.facts.serverVersion = v.s;
      } else if (body[0] === 0xff && body.length >= 3) {
        // ERR_Packet: code, optional SQL state marker, message
        const code = body[1]! | (body[2]! << 8);
        const msg = body[3] === 0x23 ? latin1(body.subarray(9)) : latin1(body.subarray(3));
        if (this.facts.errors === undefined) this.facts.errors = [];
        if (this.facts.errors.length < 10) this.facts.errors.push({ frame: meta.frame, text: `ERROR ${code}: ${msg.slice(0, 200)}` });
      }
      return;
    }
    if (seq === 1 && this.facts.user === undefined && body.length >= 32) {
      // HandshakeResponse41: capabilities(4) max packet(4) charset(1) filler(23) user NUL auth...
      const caps = u32le(body, 0);
      if (caps & 0x200 /* CLIENT_PROTOCOL_41 */) {
        if (caps & 0x800 /* CLIENT_SSL */ && body.length === 32) return; // SSLRequest: TLS follows
        const u = cstring(body, 32);
        if (u) {
          this.facts.user = u.s;
          let o = u.end;
          let authLen = 0;
          if (caps & 0x200000 /* PLUGIN_AUTH_LENENC_CLIENT_DATA */) {
            authLen = body[o] ?? 0;
            o += 1 + authLen;
          } else if (caps & 0x8000 /* SECURE_CONNECTION */) {
            authLen = body[o] ?? 0;
            o += 1 + authLen;
          } else {
            const a = cstring(body, o);
            o = a ? a.end : body.length;
          }
          if (caps & 0x8 /* CONNECT_WITH_DB */) {
            const db = cstring(body, o);
            if (db && db.s) this.facts.database = db.s;
          }
          this.add({ frame: meta.frame, kind: 'login', text: `login user ${u.s}${this.facts.database ? ` database ${this.facts.database}` : ''}` });
        }
      }
      return;
    }
    if (seq !== 0 || body.length === 0) return;
    const cmd = body[0]!;
    if (cmd === 0x03) this.add({ frame: meta.frame, kind: 'query', text: utf8(body.subarray(1)) });
    else if (cmd === 0x16) this.add({ frame: meta.frame, kind: 'prepare', text: utf8(body.subarray(1)) });
    else if (cmd === 0x02) {
      this.facts.database = utf8(body.subarray(1));
      this.add({ frame: meta.frame, kind: 'command', text: `USE ${this.facts.database}` });
    } else if (cmd === 0x01) this.add({ frame: meta.frame, kind: 'command', text: 'QUIT' });
  }

  // PostgreSQL frontend/backend protocol 3.0 (postgresql.org/docs/current/protocol-message-formats.html)
  private postgres(dir: Direction, m: Buffer, meta: SegmentMeta): void {
    if (dir === 'c2s' && !this.pgStartupDone) {
      const code = u32be(m, 4);
      if (code !== 0x00030000) {
        // SSLRequest / GSSENCRequest: answered by one byte ('N': the startup follows in cleartext)
        if (code === 80877103 || code === 80877104) this.pgOneByteAnswer = true;
        return;
      }
      this.pgStartupDone = true;
      let o = 8;
      const params: Record<string, string> = {};
      while (o < m.length && m[o] !== 0) {
        const k = cstring(m, o);
        const v = k && cstring(m, k.end);
        if (!v) break;
        params[k.s] = v.s;
        o = v.end;
      }
      if (params.user !== undefined) this.facts.user = params.user;
      if (params.database !== undefined) this.facts.database = params.database;
      else if (params.user !== undefined) this.facts.database = params.user;
      this.add({ frame: meta.frame, kind: 'login', text: `startup user ${params.user ?? '?'} database ${params.database ?? params.user ?? '?'}${params.application_name ? ` application ${params.application_name}` : ''}` });
      return;
    }
    if (dir === 's2c' && this.pgOneByteAnswer && m.length === 1) {
      this.pgOneByteAnswer = false;
      return;
    }
    const type = String.fromCharCode(m[0]!);
    const body = m.subarray(5);
    if (dir === 's2c') {
      if (type === 'S') {
        const k = cstring(body, 0);
        const v = k && cstring(body, k.end);
        if (k?.s === 'server_version' && v) this.facts.serverVersion = v.s;
      } else if (type === 'E') {
        const fields: Record<string, string> = {};
        let o = 0;
        while (o < body.length && body[o] !== 0) {
          const f = String.fromCharCode(body[o]!);
          const v = cstring(body, o + 1);
          if (!v) break;
          fields[f] = v.s;
          o = v.end;
        }
        if (this.facts.errors === undefined) this.facts.errors = [];
        if (this.facts.errors.length < 10) this.facts.errors.push({ frame: meta.frame, text: `${fields.S ?? 'ERROR'} ${fields.C ?? ''}: ${(fields.M ?? '').slice(0, 200)}` });
      } else if (type === 'R' && body.length >= 4) {
        const code = u32be(body, 0);
        const AUTH: Record<number, string> = { 0: 'ok', 3: 'cleartext-password', 5: 'md5', 10: 'sasl' };
        if (code !== 0 && code !== 11 && code !== 12) this.facts.auth = AUTH[code] ?? `method ${code}`;
      }
      return;
    }
    switch (type) {
      case 'Q': {
        const q = cstring(body, 0);
        if (q) this.add({ frame: meta.frame, kind: 'query', text: q.s });
        return;
      }
      case 'P': {
        const name = cstring(body, 0);
        const q = name && cstring(body, name.end);
        if (q) this.add({ frame: meta.frame, kind: 'prepare', text: q.s });
        return;
      }
      case 'p':
        // PasswordMessage / SASL response: never kept, only its presence
        this.facts.passwordSent = true;
        return;
      case 'X':
        this.add({ frame: meta.frame, kind: 'command', text: 'Terminate' });
        return;
      default:
        return;
    }
  }

  // Redis RESP requests (redis.io/docs/reference/protocol-spec)
  private redis(m: Buffer, meta: SegmentMeta): void {
    const args = respArgs(m);
    const first = args.length ? text(args[0]!) : '';
    if (!first) return;
    const name = first.toUpperCase();
    // the command name and its arguments (redacted by reporters for AUTH/HELLO/CONFIG SET …pass), built only
    // as far as add() keeps it: past MAX_STATEMENT_TEXT characters the rest cannot change what is kept
    let line = name;
    for (let i = 1; i < args.length && line.length <= MAX_STATEMENT_TEXT; i++) line += ' ' + respPart(args[i]!, MAX_STATEMENT_TEXT - line.length);
    this.add({ frame: meta.frame, kind: 'command', text: line });
    if (name === 'AUTH') this.facts.passwordSent = true;
    if (name === 'SELECT' && args[1] !== undefined) this.facts.database = text(args[1]);
  }

  // MongoDB wire protocol (mongodb.com/docs/manual/reference/mongodb-wire-protocol)
  private mongo(dir: Direction, m: Buffer, meta: SegmentMeta): void {
    if (dir === 's2c' || m.length < 21) return;
    const op = u32le(m, 12);
    if (op === 2013) {
      // OP_MSG: flagBits, then sections; kind 0 carries the command document
      let o = 20;
      while (o < m.length) {
        const kind = m[o]!;
        if (kind === 0) {
          const c = bsonCommand(m.subarray(o + 1));
          if (c.command) {
            if (c.db) this.facts.database = c.db;
            this.add({ frame: meta.frame, kind: 'command', text: `${c.command}${c.db ? ` (db ${c.db})` : ''}` });
          }
          return;
        }
        if (kind !== 1) return;
        o += 1 + u32le(m, o + 1);
      }
      return;
    }
    // OP_QUERY: flags, fullCollectionName ("admin.$cmd"), skip, return, query document
    const coll = cstring(m, 20);
    if (!coll) return;
    const c = bsonCommand(m.subarray(coll.end + 8));
    const db = coll.s.split('.')[0] ?? '';
    if (db) this.facts.database = db;
    this.add({ frame: meta.frame, kind: 'command', text: `${c.command ?? 'query'} (db ${db}${coll.s.endsWith('.$cmd') ? '' : `, collection ${coll.s.slice(db.length + 1)}`})` });
  }
}
