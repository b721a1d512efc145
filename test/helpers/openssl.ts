/**
 * Test helper: a real `openssl s_server` / `s_client` session over loopback with `-keylogfile`,
 * its bytes recorded by a relay in between (the wire as a capture would see it). Skips (returns
 * a reason) when the openssl command is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WireMessage } from '../../src/synth/wire.js';

export function opensslMissing(): string | null {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'openssl is not installed (apt-get install openssl)';
  return null;
}

export interface OpensslSession {
  messages: WireMessage[];
  keylog: string;
  serverPort: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

async function waitFor(pred: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('openssl session timed out');
    await sleep(20);
  }
}

/**
 * One session: `s_server -www` (answers `GET /` with its status page), `s_client` sends the
 * `input` lines (each written after a pause, so `K` alone is s_client's KeyUpdate command).
 */
export async function opensslSession(o: { version: '-tls1_2' | '-tls1_3'; cipher?: string; clientCert?: boolean; input: string[] }): Promise<OpensslSession> {
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-openssl-'));
  const key = join(dir, 'k.pem');
  const cert = join(dir, 'c.pem');
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=meshsleuth-test', '-addext', 'subjectAltName=URI:spiffe://cluster.local/ns/test/sa/openssl'], { encoding: 'utf8' });
  if (gen.status !== 0) throw new Error(`openssl req failed: ${gen.stderr}`);
  const serverPort = await freePort();
  const keylog = join(dir, 'keys.log');
  const suites = o.cipher ? (o.version === '-tls1_3' ? ['-ciphersuites', o.cipher] : ['-cipher', o.cipher]) : [];
  const server = spawn('openssl', ['s_server', '-accept', String(serverPort), '-naccept', '1', '-www', '-key', key, '-cert', cert, o.version, ...suites, ...(o.clientCert ? ['-Verify', '1', '-CAfile', cert] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let serverOut = '';
  server.stdout!.on('data', (d: Buffer) => (serverOut += d.toString()));
  await waitFor(() => serverOut.includes('ACCEPT'), 10000);
  const messages: WireMessage[] = [];
  let relayDone = false;
  const relay: Server = createServer((down) => {
    const up = connect(serverPort, '127.0.0.1');
    down.on('data', (d: Buffer) => {
      messages.push({ dir: 'c2s', bytes: Buffer.from(d) });
      up.write(d);
    });
    up.on('data', (d: Buffer) => {
      messages.push({ dir: 's2c', bytes: Buffer.from(d) });
      down.write(d);
    });
    down.on('end', () => up.end());
    up.on('end', () => down.end());
    up.on('close', () => (relayDone = true));
    down.on('error', () => undefined);
    up.on('error', () => undefined);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
  const relayPort = (relay.address() as AddressInfo).port;
  const client: ChildProcess = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${relayPort}`, o.version, '-keylogfile', keylog, ...(o.clientCert ? ['-key', key, '-cert', cert] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  let clientOut = '';
  client.stdout!.on('data', (d: Buffer) => (clientOut += d.toString()));
  client.stderr!.on('data', (d: Buffer) => (clientOut += d.toString()));
  try {
    await waitFor(() => clientOut.includes('---\n') && /Verify return code|Post-Handshake New Session Ticket|SSL-Session/.test(clientOut), 10000);
    await sleep(200);
    for (const line of o.input) {
      client.stdin!.write(line);
      await sleep(300);
    }
    await waitFor(() => relayDone, 10000).catch(() => undefined);
  } finally {
    client.kill();
    server.kill();
    relay.close();
  }
  await waitFor(() => existsSync(keylog), 2000);
  return { messages, keylog: readFileSync(keylog, 'utf8'), serverPort };
}
