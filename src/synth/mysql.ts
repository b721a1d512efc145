/**
 * MySQL/MariaDB client/server protocol bytes for synthetic captures (MySQL Internals "Client/Server Protocol"):
 * packets of 3-byte length + sequence id; the server's Initial Handshake (protocol 10), the client's
 * HandshakeResponse41 with a real `mysql_native_password` scramble, OK, COM_QUERY with a text result set
 * (column count, column definitions, EOF, rows, EOF: without CLIENT_DEPRECATE_EOF) and COM_QUIT.
 * The conversation is server first: the server speaks before the client sends anything.
 */
import { createHash } from 'node:crypto';
import type { WireMessage } from './wire.js';

const CLIENT = {
  LONG_PASSWORD: 0x1,
  FOUND_ROWS: 0x2,
  LONG_FLAG: 0x4,
  CONNECT_WITH_DB: 0x8,
  PROTOCOL_41: 0x200,
  TRANSACTIONS: 0x2000,
  SECURE_CONNECTION: 0x8000,
  MULTI_RESULTS: 0x20000,
  PLUGIN_AUTH: 0x80000,
  SSL: 0x800,
} as const;

/** One protocol packet: payload length (3 bytes LE), sequence id, payload. */
export function mysqlPacket(seq: number, payload: Uint8Array): Buffer {
  const h = Buffer.alloc(4);
  h.writeUIntLE(payload.length, 0, 3);
  h[3] = seq & 0xff;
  return Buffer.concat([h, payload]);
}

const z = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);

function lenenc(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  if (b.length < 251) return Buffer.concat([Buffer.from([b.length]), b]);
  const h = Buffer.alloc(3);
  h[0] = 0xfc;
  h.writeUInt16LE(b.length, 1);
  return Buffer.concat([h, b]);
}

/** `mysql_native_password`: SHA1(password) XOR SHA1(salt + SHA1(SHA1(password))). */
export function nativePasswordScramble(password: string, salt: Buffer): Buffer {
  const sha1 = (b: Buffer): Buffer => createHash('sha1').update(b).digest();
  const p1 = sha1(Buffer.from(password, 'utf8'));
  const p2 = sha1(p1);
  const x = sha1(Buffer.concat([salt, p2]));
  return Buffer.from(p1.map((v, i) => v ^ x[i]!));
}

export interface MysqlSessionSpec {
  serverVersion: string;
  connectionId: number;
  /** 20 bytes of auth-plugin data (the salt); from a seeded generator */
  salt: Buffer;
  user: string;
  password: string;
  database: string;
  queries: Array<{ sql: string; columns: Array<{ table: string; name: string }>; rows: string[][] }>;
}

/** Initial Handshake Packet (protocol version 10), as MariaDB sends it. */
function greeting(s: MysqlSessionSpec): Buffer {
  const caps = CLIENT.LONG_PASSWORD | CLIENT.FOUND_ROWS | CLIENT.LONG_FLAG | CLIENT.CONNECT_WITH_DB | CLIENT.PROTOCOL_41 | CLIENT.TRANSACTIONS | CLIENT.SECURE_CONNECTION | CLIENT.MULTI_RESULTS | CLIENT.PLUGIN_AUTH | CLIENT.SSL;
  const id = Buffer.alloc(4);
  id.writeUInt32LE(s.connectionId, 0);
  const lo = Buffer.alloc(2);
  lo.writeUInt16LE(caps & 0xffff, 0);
  const status = Buffer.from([0x02, 0x00]);
  const hi = Buffer.alloc(2);
  hi.writeUInt16LE(caps >>> 16, 0);
  return Buffer.concat([
    Buffer.from([0x0a]),
    z(s.serverVersion),
    id,
    s.salt.subarray(0, 8),
    Buffer.from([0]),
    lo,
    Buffer.from([0x2d]), // utf8mb4_general_ci
    status,
    hi,
    Buffer.from([21]),
    Buffer.alloc(10),
    s.salt.subarray(8, 20),
    Buffer.from([0]),
    z('mysql_native_password'),
  ]);
}

function handshakeResponse(s: MysqlSessionSpec): Buffer {
  const caps = CLIENT.LONG_PASSWORD | CLIENT.FOUND_ROWS | CLIENT.LONG_FLAG | CLIENT.CONNECT_WITH_DB | CLIENT.PROTOCOL_41 | CLIENT.TRANSACTIONS | CLIENT.SECURE_CONNECTION | CLIENT.MULTI_RESULTS | CLIENT.PLUGIN_AUTH;
  const h = Buffer.alloc(32);
  h.writeUInt32LE(caps, 0);
  h.writeUInt32LE(0x01000000, 4); // max packet 16 MiB
  h[8] = 0x2d;
  const auth = nativePasswordScramble(s.password, s.salt);
  return Buffer.concat([h, z(s.user), Buffer.from([auth.length]), auth, z(s.database), z('mysql_native_password')]);
}

const OK = Buffer.from([0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]);
const EOF = Buffer.from([0xfe, 0x00, 0x00, 0x02, 0x00]);

function columnDefinition(database: string, c: { table: string; name: string }): Buffer {
  const fixed = Buffer.alloc(13);
  fixed[0] = 0x0c;
  fixed.writeUInt16LE(0x2d, 1); // utf8mb4
  fixed.writeUInt32LE(0xffffffff, 3); // LONGTEXT length
  fixed[7] = 0xfc; // MYSQL_TYPE_BLOB
  fixed.writeUInt16LE(0x0010, 8); // BLOB_FLAG
  fixed[10] = 0;
  return Buffer.concat([lenenc('def'), lenenc(database), lenenc(c.table), lenenc(c.table), lenenc(c.name), lenenc(c.name), fixed]);
}

/**
 * The session's bytes in order (each server or client flight one message): greeting, login, OK, then per query
 * COM_QUERY and its result set, then COM_QUIT. Use `steps(...)` to carry them inside TLS.
 */
export function mysqlConversation(s: MysqlSessionSpec): WireMessage[] {
  const out: WireMessage[] = [
    { dir: 's2c', bytes: mysqlPacket(0, greeting(s)) },
    { dir: 'c2s', bytes: mysqlPacket(1, handshakeResponse(s)) },
    { dir: 's2c', bytes: mysqlPacket(2, OK) },
  ];
  for (const q of s.queries) {
    out.push({ dir: 'c2s', bytes: mysqlPacket(0, Buffer.concat([Buffer.from([0x03]), Buffer.from(q.sql, 'utf8')])) });
    let seq = 1;
    const parts: Buffer[] = [mysqlPacket(seq++, Buffer.from([q.columns.length]))];
    for (const c of q.columns) parts.push(mysqlPacket(seq++, columnDefinition(s.database, c)));
    parts.push(mysqlPacket(seq++, EOF));
    for (const r of q.rows) parts.push(mysqlPacket(seq++, Buffer.concat(r.map((v) => lenenc(v)))));
    parts.push(mysqlPacket(seq++, EOF));
    out.push({ dir: 's2c', bytes: Buffer.concat(parts) });
  }
  out.push({ dir: 'c2s', bytes: mysqlPacket(0, Buffer.from([0x01])) });
  return out;
}
