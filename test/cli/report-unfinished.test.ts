/**
 * `report` says on stderr, in the words `flows` uses, when the capture reader handed TCP connections over
 * unfinished to bound memory (here: one idle for more than an hour of capture time).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tcpConversation } from '../../src/synth/tcp.js';
import { buildCapture } from '../../src/synth/capture.js';

const T0 = 1_700_000_000_000;

describe('report on a capture with connections handed over unfinished', () => {
  it('prints the same "listed unfinished" warning as flows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-unfinished-'));
    const file = join(dir, 'idle.pcap');
    const server = { ip: '10.0.0.2', port: 8080 };
    // a SYN, then two hours of capture time later another connection: the first was idle for over an hour
    const first = tcpConversation([], { client: { ip: '10.0.0.1', port: 40000 }, server, startMs: T0, close: 'none' });
    const later = tcpConversation([], { client: { ip: '10.0.0.3', port: 40001 }, server, startMs: T0 + 2 * 3600_000, close: 'none' });
    writeFileSync(file, buildCapture([{ packets: first }, { packets: later }]));
    const flows = await runCli(['flows', file, '-o', 'json']);
    expect(flows.code, flows.stderr).toBe(0);
    const line = flows.stderr.split('\n').find((l) => l.includes('listed unfinished'));
    expect(line).toMatch(/idle\.pcap: 1 TCP connection\(s\) listed unfinished to bound memory \(1 idle for an hour of capture time\): a later packet of one starts a new flow/);
    const report = await runCli(['report', file, '--out', join(dir, 'r.json')]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stderr.split('\n').filter((l) => l.includes('listed unfinished'))).toEqual([line]);
  }, 60_000);
});
