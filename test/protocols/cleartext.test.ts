/**
 * Cleartext protocols named by content: MySQL (greeting, login user, COM_QUERY), PostgreSQL
 * (startup user/database, simple Query, extended Parse), Redis RESP (command names, AUTH
 * redacted), MongoDB OP_MSG (command name, $db) and HTTP/0.9 `GET /`. Checked against tshark's
 * dissectors on real captures (../shared) and on the generated ones.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flowsFromCapture } from '../../src/analysis/flows.js';
import { captureBuffer, captureFile } from '../../src/readers/capture/index.js';
import { createStreamDecoder } from '../../src/protocols/index.js';
import { bsonCommand } from '../../src/protocols/cleartext/index.js';
import { redactStatement } from '../../src/model/redact.js';
import type { Flow } from '../../src/model/records.js';
import { buildCapture } from '../../src/synth/capture.js';
import { tcpConversation } from '../../src/synth/tcp.js';
import { SHARED, hasShared } from '../helpers/cli.js';
import { feed, c2s, s2c } from './feed.js';

const hasTshark = spawnSync('tshark', ['-v']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-cleartext-'));

type Msg = { dir: 'c2s' | 's2c'; bytes: Buffer };
function capture(msgs: Msg[], port: number): Buffer {
  return buildCapture([{ packets: tcpConversation(msgs, { client: { ip: '10.244.1.5', port: 41000 }, server: { ip: '10.244.2.9', port }, startMs: 1_700_000_000_000 }) }]);
}
async function flowsOf(buf: Buffer): Promise<Flow[]> {
  const out: Flow[] = [];
  for await (const f of flowsFromCapture(captureBuffer('t.pcap', buf), { decoder: () => createStreamDecoder() })) out.push(f);
  return out;
}
function tshark(file: string, filter: string, fields: string[], decodeAs: string[] = []): string[][] {
  const r = spawnSync('tshark', ['-r', file, ...decodeAs.flatMap((d) => ['-d', d]), '-Y', filter, '-T', 'fields', ...fields.flatMap((f) => ['-e', f]), '-E', 'occurrence=a', '-E', 'aggregator=|'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));
}

// --- MySQL packets (protocol 4.1) ----------------------------------------------------------------
const mysqlPacket = (seq: number, body: Buffer) => Buffer.concat([Buffer.from([body.length & 0xff, (body.length >> 8) & 0xff, body.length >> 16, seq]), body]);
function mysqlGreeting(): Buffer {
  const b = Buffer.concat([Buffer.from([10]), Buffer.from('8.0.36\0'), Buffer.from([1, 0, 0, 0]), Buffer.alloc(8, 0x41), Buffer.from([0]), Buffer.from([0xff, 0xf7]), Buffer.from([0xff]), Buffer.from([2, 0]), Buffer.from([0xff, 0xdf]), Buffer.from([21]), Buffer.alloc(10), Buffer.alloc(12, 0x42), Buffer.from([0]), Buffer.from('caching_sha2_password\0')]);
  return mysqlPacket(0, b);
}
function mysqlLogin(user: string, db: string): Buffer {
  const caps = 0x200 | 0x8000 | 0x8 | 0x80000 | 0x200000;
  const c = Buffer.alloc(4);
  c.writeUInt32LE(caps);
  return mysqlPacket(1, Buffer.concat([c, Buffer.from([0, 0, 0, 1]), Buffer.from([45]), Buffer.alloc(23), Buffer.from(`${user}\0`), Buffer.from([20]), Buffer.alloc(20, 0x33), Buffer.from(`${db}\0`), Buffer.from('caching_sha2_password\0')]));
}
const mysqlOk = (seq: number) => mysqlPacket(seq, Buffer.from([0, 0, 0, 2, 0, 0, 0]));
const mysqlQuery = (q: string) => mysqlPacket(0, Buffer.concat([Buffer.from([3]), Buffer.from(q)]));

// --- PostgreSQL ------------------------------------------------------------------------------------
function pgStartup(params: Record<string, string>): Buffer {
  const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), ...Object.entries(params).map(([k, v]) => Buffer.from(`${k}\0${v}\0`)), Buffer.from([0])]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length + 4);
  return Buffer.concat([len, body]);
}
function pgMsg(type: string, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.write(type, 0, 'latin1');
  h.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([h, body]);
}

// --- MongoDB OP_MSG with a minimal BSON writer ------------------------------------------------------
function bson(fields: Array<[string, string | number]>): Buffer {
  const parts = fields.map(([k, v]) => {
    if (typeof v === 'number') {
      const n = Buffer.alloc(4);
      n.writeInt32LE(v);
      return Buffer.concat([Buffer.from([0x10]), Buffer.from(`${k}\0`), n]);
    }
    const s = Buffer.from(`${v}\0`);
    const l = Buffer.alloc(4);
    l.writeInt32LE(s.length);
    return Buffer.concat([Buffer.from([0x02]), Buffer.from(`${k}\0`), l, s]);
  });
  const body = Buffer.concat([...parts, Buffer.from([0])]);
  const l = Buffer.alloc(4);
  l.writeInt32LE(body.length + 4);
  return Buffer.concat([l, body]);
}
function opMsg(id: number, doc: Buffer, responseTo = 0): Buffer {
  const h = Buffer.alloc(20);
  h.writeInt32LE(20 + 1 + doc.length, 0);
  h.writeInt32LE(id, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(2013, 12);
  h.writeUInt32LE(0, 16);
  return Buffer.concat([h, Buffer.from([0]), doc]);
}

describe('MySQL', () => {
  const msgs: Msg[] = [
    { dir: 's2c', bytes: mysqlGreeting() },
    { dir: 'c2s', bytes: mysqlLogin('wp', 'wordpress') },
    { dir: 's2c', bytes: mysqlOk(2) },
    { dir: 'c2s', bytes: mysqlQuery("SELECT option_value FROM wp_options WHERE option_name = 'siteurl'") },
    { dir: 's2c', bytes: mysqlOk(1) },
    { dir: 'c2s', bytes: mysqlQuery("CREATE USER 'bob'@'%' IDENTIFIED BY 's3cret'") },
    { dir: 's2c', bytes: mysqlOk(1) },
  ];
  it('greeting, login user and database, COM_QUERY text; a password literal redacted', async () => {
    const [f] = await flowsOf(capture(msgs, 3306));
    expect(f!.protocol).toBe('mysql');
    expect(f!.security).toBe('plaintext');
    expect(f!.app).toMatchObject({ protocol: 'mysql', serverVersion: '8.0.36', user: 'wp', database: 'wordpress' });
    expect(f!.app!.statements.map((s) => `${s.kind}: ${s.text}`)).toEqual([
      'login: login user wp database wordpress',
      "query: SELECT option_value FROM wp_options WHERE option_name = 'siteurl'",
      "query: CREATE USER 'bob'@'%' IDENTIFIED BY 's3cret'",
    ]);
    expect(redactStatement('mysql', f!.app!.statements[2]!.text)).toBe("CREATE USER 'bob'@'%' IDENTIFIED BY '[redacted]'");
    expect(redactStatement('mysql', f!.app!.statements[2]!.text, true)).toContain('s3cret');
  });
  it.skipIf(!hasTshark)('tshark reads the same user, schema and queries (needs tshark)', async () => {
    const file = join(dir, 'mysql.pcap');
    writeFileSync(file, capture(msgs, 3306));
    const rows = tshark(file, 'mysql.user || mysql.query', ['mysql.user', 'mysql.schema', 'mysql.query']);
    const [f] = await flowsOf(capture(msgs, 3306));
    expect(rows[0]!.slice(0, 2)).toEqual([f!.app!.user, f!.app!.database]);
    expect(rows.slice(1).map((r) => r[2])).toEqual(f!.app!.statements.filter((s) => s.kind === 'query').map((s) => s.text));
  });
});

describe('PostgreSQL', () => {
  it('startup user/database, simple Query and extended Parse; the password message counted, never kept', () => {
    const f = feed([
      c2s(pgStartup({ user: 'app', database: 'orders', application_name: 'psql' })),
      s2c(pgMsg('R', Buffer.from([0, 0, 0, 3]))),
      c2s(pgMsg('p', Buffer.from('hunter2\0'))),
      s2c(Buffer.concat([pgMsg('R', Buffer.from([0, 0, 0, 0])), pgMsg('S', Buffer.from('server_version\x0016.2\0')), pgMsg('Z', Buffer.from('I'))])),
      c2s(pgMsg('Q', Buffer.from("ALTER ROLE app PASSWORD 'n3w'\0"))),
      c2s(pgMsg('P', Buffer.concat([Buffer.from('\0SELECT * FROM orders WHERE id = $1\0'), Buffer.from([0, 0])]))),
    ]);
    expect(f.protocol).toBe('postgresql');
    expect(f.app).toMatchObject({ user: 'app', database: 'orders', auth: 'cleartext-password', passwordSent: true, serverVersion: '16.2' });
    expect(f.app!.statements.map((s) => `${s.kind}: ${s.text}`)).toEqual(['login: startup user app database orders application psql', "query: ALTER ROLE app PASSWORD 'n3w'", 'prepare: SELECT * FROM orders WHERE id = $1']);
    expect(JSON.stringify(f.app)).not.toContain('hunter2');
    expect(redactStatement('postgresql', f.app!.statements[1]!.text)).toBe("ALTER ROLE app PASSWORD '[redacted]'");
  });
  it.skipIf(!hasShared || !hasTshark)('arkime postgres-good.pcap: the startup parameters tshark reads (needs ../shared and tshark)', async () => {
    const file = `${SHARED}external/captures/arkime-postgres-good.pcap`;
    const out: Flow[] = [];
    for await (const f of flowsFromCapture(captureFile(file), { decoder: () => createStreamDecoder() })) out.push(f);
    const [row] = tshark(file, 'pgsql.type == "Startup message"', ['pgsql.parameter_name', 'pgsql.parameter_value']);
    const names = row![0]!.split('|');
    const values = row![1]!.split('|');
    const p = Object.fromEntries(names.map((n, i) => [n, values[i]]));
    expect(out[0]!.protocol).toBe('postgresql');
    expect(out[0]!.app).toMatchObject({ user: p.user, database: p.database, auth: 'md5', passwordSent: true, serverVersion: '8.4.17' });
  });
});

describe('Redis RESP', () => {
  it('command names; AUTH and HELLO … AUTH arguments redacted', () => {
    const resp = (...a: string[]) => Buffer.from(`*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`);
    const f = feed([c2s(resp('AUTH', 'default', 'p4ss')), s2c('+OK\r\n'), c2s(Buffer.concat([resp('HELLO', '3', 'AUTH', 'default', 'p4ss'), resp('GET', 'session:42')])), s2c('$-1\r\n'), c2s(resp('CONFIG', 'SET', 'requirepass', 'x'))]);
    expect(f.protocol).toBe('redis');
    expect(f.app!.statements.map((s) => s.text)).toEqual(['AUTH default p4ss', 'HELLO 3 AUTH default p4ss', 'GET session:42', 'CONFIG SET requirepass x']);
    expect(f.app!.statements.map((s) => redactStatement('redis', s.text))).toEqual(['AUTH [redacted]', 'HELLO 3 AUTH default [redacted]', 'GET session:42', 'CONFIG SET requirepass [redacted]']);
    expect(f.app!.passwordSent).toBe(true);
  });
  it('a command larger than a segment (a SET of a few KB, pipelined after another) gives the same statements whatever the segmentation', () => {
    const resp = (...a: string[]) => Buffer.from(`*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`);
    const value = 'v'.repeat(6000) + ' tail "quoted"';
    const steps = [c2s(Buffer.concat([resp('SET', 'k:1', value), resp('GET', 'k:1')])), s2c('+OK\r\n'), c2s(resp('SET', 'k:2', 'x'.repeat(3000))), c2s(resp('DEL', 'k:1'))];
    const whole = feed(steps).app!.statements.map((x) => x.text);
    expect(whole.map((t) => t.slice(0, 12))).toEqual(['SET k:1 "vvv', 'GET k:1', `SET k:2 ${'x'.repeat(4)}`, 'DEL k:1']);
    // cut at 1,024 characters as a statement is kept, quoted or not
    expect(whole[0]).toBe(`SET k:1 ${JSON.stringify(value)}`.slice(0, 1024) + '…');
    expect(whole[2]).toBe(`SET k:2 ${'x'.repeat(3000)}`.slice(0, 1024) + '…');
    for (const segment of [1, 7, 536, 1448, 4096]) expect(feed(steps, { segment }).app!.statements.map((x) => x.text)).toEqual(whole);
  });
  it.skipIf(!hasShared || !hasTshark)('tcpdump resp_1_benchmark.pcap: every flow redis, command names as tshark reads them (needs ../shared and tshark)', async () => {
    const file = `${SHARED}captures/tcpdump-sll-redis-resp.pcap`;
    const out: Flow[] = [];
    for await (const f of flowsFromCapture(captureFile(file), { decoder: () => createStreamDecoder() })) out.push(f);
    expect(out).toHaveLength(15);
    expect(out.every((f) => f.protocol === 'redis')).toBe(true);
    const rows = tshark(file, 'resp && tcp.dstport == 6379', ['tcp.stream', 'resp.bulk_string.value']);
    let compared = 0;
    for (const [stream, values] of rows) {
      if (!values) continue; // an inline command (PING): tshark shows no bulk string
      const cmd = Buffer.from(values.split('|')[0]!, 'hex').toString('latin1');
      const f = out.find((x) => x.stream === Number(stream))!;
      expect(f.app!.statements[0]!.text.split(' ')[0]).toBe(cmd.toUpperCase());
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(10);
  });
});

describe('MongoDB OP_MSG', () => {
  const msgs: Msg[] = [
    { dir: 'c2s', bytes: opMsg(1, bson([['hello', 1], ['$db', 'admin']])) },
    { dir: 's2c', bytes: opMsg(2, bson([['ok', 1]]), 1) },
    { dir: 'c2s', bytes: opMsg(3, bson([['find', 'users'], ['filter', 1], ['$db', 'shop']])) },
    { dir: 's2c', bytes: opMsg(4, bson([['ok', 1]]), 3) },
  ];
  it('command names and $db', async () => {
    expect(bsonCommand(bson([['insert', 'c'], ['n', 3], ['$db', 'x']]))).toEqual({ command: 'insert', db: 'x' });
    const [f] = await flowsOf(capture(msgs, 27017));
    expect(f!.protocol).toBe('mongodb');
    expect(f!.app!.statements.map((s) => s.text)).toEqual(['hello (db admin)', 'find (db shop)']);
    expect(f!.app!.database).toBe('shop');
  });
  // (tshark 4.0 takes 27017 for TLS unless told: -d tcp.port==27017,mongo)
  it.skipIf(!hasTshark)('tshark reads the same opcode and first element names (needs tshark)', async () => {
    const file = join(dir, 'mongo.pcap');
    writeFileSync(file, capture(msgs, 27017));
    const rows = tshark(file, 'mongo && tcp.dstport == 27017', ['mongo.opcode', 'mongo.element.name'], ['tcp.port==27017,mongo']);
    expect(rows.map((r) => [r[0], r[1]!.split('|')[0]])).toEqual([['2013', 'hello'], ['2013', 'find']]);
  });
});

describe('HTTP/0.9', () => {
  it('a version-less `GET /` is listed as an HTTP/0.9 exchange', () => {
    const f = feed([c2s('GET /\r\n'), s2c('<html>hello</html>')]);
    expect(f.protocol).toBe('http/0.9');
    expect(f.http).toMatchObject([{ method: 'GET', path: '/', version: 'HTTP/0.9', requestFrame: 1, responseFrame: 2 }]);
    expect(f.cleartext).toBe(true);
  });
});

describe('not named without its own bytes', () => {
  it('random binary on 3306 stays tcp', () => {
    const f = feed([c2s(Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex')), s2c(Buffer.from('ffeeddccbbaa99887766554433221100', 'hex'))]);
    expect(f.protocol).toBe('tcp');
    expect(f.app).toBeUndefined();
  });
  it.skipIf(!existsSync(SHARED))('MySQL/PostgreSQL that switch to TLS stay tls, the preamble is evidence (needs ../shared)', async () => {
    for (const name of ['zeek-mysql-tls-12-amazon-rds', 'zeek-postgresql-psql-aws-ssl-require']) {
      const out: Flow[] = [];
      for await (const f of flowsFromCapture(captureFile(`${SHARED}external/captures/${name}.pcap`), { decoder: () => createStreamDecoder() })) out.push(f);
      expect(out[0]!.protocol, name).toBe('tls');
    }
  });
});
