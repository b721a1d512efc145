/**
 * The report shows the cleartext statements `flows` names (src/protocols/cleartext): per connection in
 * the JSON model (flows[].app) and the HTML connection rows, redacted as `flows` redacts them, bounded per
 * connection (REPORT_STATEMENTS_PER_FLOW, the rest counted), and cited by the plaintext finding (evidence at
 * the statement frames, the text in its details and in the table). Generated captures, and the bundled
 * wordpress-mtls sample (WordPress reading MariaDB in cleartext at stage 00).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatherEvidence } from '../../src/analysis/evidence.js';
import { buildReportModel, REPORT_STATEMENTS_PER_FLOW, type ReportModel } from '../../src/analysis/report-model.js';
import { renderReportJson } from '../../src/report/report-json.js';
import { renderHtml } from '../../src/report/html.js';
import { renderReportTable } from '../../src/report/report-table.js';
import { buildCapture } from '../../src/synth/capture.js';
import { tcpConversation } from '../../src/synth/tcp.js';
import { mysqlConversation } from '../../src/synth/mysql.js';
import { sampleReportModel } from '../helpers/sample-report.js';

const PASSWORD = 'hunter2-s3cret';
const REDIS_PASSWORD = 'r3dis-pass';
const QUERIES = 30;

function resp(...args: string[]): Buffer {
  return Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
}

/** A front end reading a database in cleartext (a password change among 30 queries) and a Redis AUTH. */
async function model(showSecrets: boolean): Promise<ReportModel> {
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-stmts-'));
  const queries = [
    { sql: `ALTER USER 'bank'@'%' IDENTIFIED BY '${PASSWORD}'`, columns: [], rows: [] },
    ...Array.from({ length: QUERIES - 1 }, (_, i) => ({ sql: `SELECT balance FROM accounts WHERE id = ${1000 + i}`, columns: [{ table: 'accounts', name: 'balance' }], rows: [[`${i}.00`]] })),
  ];
  const mysql = mysqlConversation({ serverVersion: '10.11.6-MariaDB', connectionId: 7, salt: Buffer.alloc(20, 0x21), user: 'bank', password: 'pw', database: 'ledger', queries });
  const redis = [
    { dir: 'c2s' as const, bytes: resp('AUTH', REDIS_PASSWORD) },
    { dir: 's2c' as const, bytes: Buffer.from('+OK\r\n') },
    { dir: 'c2s' as const, bytes: resp('GET', 'session:42') },
    { dir: 's2c' as const, bytes: Buffer.from('$-1\r\n') },
  ];
  const pcap = buildCapture([
    { packets: tcpConversation(mysql, { client: { ip: '10.244.1.51', port: 41000 }, server: { ip: '10.244.2.53', port: 3306 }, startMs: 1_795_000_000_000 }) },
    { packets: tcpConversation(redis, { client: { ip: '10.244.1.51', port: 41002 }, server: { ip: '10.244.2.54', port: 6379 }, startMs: 1_795_000_001_000 }) },
  ]);
  writeFileSync(join(dir, 'front.pcap'), pcap);
  const ev = await gatherEvidence([dir]);
  return buildReportModel(ev, { skewMs: 2000, showSecrets, generatedAt: '2026-01-01T00:00:00Z' });
}

describe('report: cleartext statements', () => {
  it('JSON: each connection lists its statements redacted, bounded, the rest counted', async () => {
    const m = JSON.parse(renderReportJson(await model(false))) as ReportModel;
    const db = m.flows.find((f) => f.server.port === 3306)!;
    expect(db.protocol).toBe('mysql');
    expect(db.app?.user).toBe('bank');
    expect(db.app?.database).toBe('ledger');
    const texts = db.app!.statements.map((s) => s.text);
    expect(texts).toHaveLength(REPORT_STATEMENTS_PER_FLOW);
    // login + 30 queries + QUIT seen; the report keeps REPORT_STATEMENTS_PER_FLOW of them and counts the rest.
    expect(db.app!.statements.length + db.app!.statementsNotKept).toBe(QUERIES + 2);
    expect(texts).toContain(`ALTER USER 'bank'@'%' IDENTIFIED BY '[redacted]'`);
    expect(texts).toContain('SELECT balance FROM accounts WHERE id = 1000');
    const cache = m.flows.find((f) => f.server.port === 6379)!;
    expect(cache.app?.statements.map((s) => s.text)).toEqual(['AUTH [redacted]', 'GET session:42']);
    const all = JSON.stringify(m);
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(REDIS_PASSWORD);
  });

  it('JSON: --show-secrets shows them as captured', async () => {
    const all = renderReportJson(await model(true));
    expect(all).toContain(`IDENTIFIED BY '${PASSWORD}'`);
    expect(all).toContain(`AUTH ${REDIS_PASSWORD}`);
  });

  it('the plaintext finding cites the statements: evidence at their frames, text in its details and the table', async () => {
    const m = await model(false);
    const f = m.findings.find((x) => x.id === 'plaintext-flow' && x.summary.includes('port 3306'))!;
    expect(f).toBeDefined();
    const db = m.flows.find((x) => x.server.port === 3306)!;
    const alter = db.app!.statements.find((s) => s.text.startsWith('ALTER USER'))!;
    expect(f.evidence).toContainEqual({ file: db.file, frame: alter.frame });
    const stmts = f.details!.statements as { evidence: string; protocol: string; kind: string; text: string }[];
    expect(stmts).toContainEqual({ evidence: `${db.file}#${alter.frame}`, protocol: 'mysql', kind: 'query', text: `ALTER USER 'bank'@'%' IDENTIFIED BY '[redacted]'` });
    expect(f.details!.statementsSeen).toBe(QUERIES + 2);
    const table = renderReportTable(m);
    expect(table).toMatch(/Cleartext statements cited by the plaintext findings/);
    expect(table).toContain(`IDENTIFIED BY '[redacted]'`);
    expect(table).toContain('AUTH [redacted]');
    expect(table).not.toContain(PASSWORD);
  });

  it('HTML: the connection row shows the session and its statements; the finding evidence shows the statement it cites', async () => {
    const m = await model(false);
    const html = renderHtml(m);
    expect(html).not.toContain(PASSWORD);
    expect(html).not.toContain(REDIS_PASSWORD);
    const i = m.flows.findIndex((x) => x.server.port === 3306);
    const row = html.slice(html.indexOf(`<tr id="flow-${i}"`), html.indexOf('</tr>', html.indexOf(`<tr id="flow-${i}"`)));
    expect(row).toContain('user bank, db ledger');
    expect(row).toContain('ALTER USER &#39;bank&#39;@&#39;%&#39; IDENTIFIED BY &#39;[redacted]&#39;');
    expect(row).toContain(`${REPORT_STATEMENTS_PER_FLOW - 5} more`);
    expect(row).toContain(`${QUERIES + 2 - REPORT_STATEMENTS_PER_FLOW} more statement(s) counted, not kept`);
    const fi = m.findings.findIndex((x) => x.id === 'plaintext-flow' && x.summary.includes('port 3306'));
    const finding = html.slice(html.indexOf(`id="finding-${fi}"`), html.indexOf('</details>', html.indexOf(`id="finding-${fi}"`)));
    expect(finding).toMatch(new RegExp(`front\\.pcap#\\d+</span> <a href="#flow-${i}">connection</a>.*?<code class="stmt">ALTER USER`));
  });

  it('wordpress-mtls sample: the front end\'s SQL to MariaDB is in the report and cited by plaintext-flow', async () => {
    const m = await sampleReportModel('wordpress-mtls');
    const sql = m.flows.filter((f) => f.protocol === 'mysql' && f.security === 'plaintext');
    expect(sql.length).toBe(2);
    expect(sql.flatMap((f) => f.app!.statements.map((s) => s.text))).toContain("SELECT option_value FROM wp_options WHERE option_name = 'siteurl' LIMIT 1");
    const f = m.findings.find((x) => x.id === 'plaintext-flow')!;
    const q = sql[0]!.app!.statements.find((s) => s.kind === 'query')!;
    expect(f.evidence).toContainEqual({ file: sql[0]!.file, frame: q.frame });
    const html = renderHtml(m);
    expect(html).toContain('SELECT option_value FROM wp_options WHERE option_name = &#39;siteurl&#39; LIMIT 1');
  });
});
