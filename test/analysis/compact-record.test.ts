/**
 * Golden: the report of every bundled sample is the same whether `report` keeps its records as parsed (the
 * previous path) or compact (analysis/compact-record.ts, the fields it shows re-read from the logs).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';
import { fillElidedFields, gatherEvidence } from '../../src/analysis/evidence.js';
import { buildReportModel } from '../../src/analysis/report-model.js';
import { analysisField, RecordCompactor } from '../../src/analysis/compact-record.js';
import type { AccessRecord } from '../../src/model/records.js';

const SAMPLES = readdirSync(join(REPO, 'samples')).filter((s) => !s.startsWith('_') && statSync(join(REPO, 'samples', s)).isDirectory());

async function reportJson(sample: string, compact: boolean): Promise<{ json: string; filled: number; elided: number }> {
  const ev = await gatherEvidence([join(REPO, 'samples', sample)], { compactRecords: compact });
  const model = buildReportModel(ev, { skewMs: 2000, showSecrets: false, generatedAt: '2026-01-01T00:00:00Z' });
  const filled = await fillElidedFields(model, false);
  return { json: JSON.stringify(model), filled, elided: ev.records.filter((r) => r.fieldsElided).length };
}

describe('compact records in report (golden)', () => {
  it('lists every bundled sample', () => {
    expect(SAMPLES.length).toBeGreaterThanOrEqual(8);
  });
  for (const sample of SAMPLES) {
    it(`${sample}: the report JSON is identical with compact records`, async () => {
      const full = await reportJson(sample, false);
      const compact = await reportJson(sample, true);
      expect(full.elided).toBe(0);
      expect(full.filled).toBe(0);
      expect(compact.elided).toBeGreaterThan(0);
      // every request shown with its fields got them back from the log
      expect(compact.filled).toBe((full.json.match(/"fields":\{/g) ?? []).length);
      expect(compact.json).toBe(full.json);
    }, 60_000);
  }
});

describe('RecordCompactor', () => {
  const record = (port: number): AccessRecord => ({
    ref: { file: 'a.log', line: port },
    time: '2026-11-22T10:00:00.717Z',
    timeMs: 1795341600717,
    kind: 'http',
    attrs: {
      source: { address: '10.244.2.6', port },
      remote: { address: '10.244.2.6', port },
      directRemote: { address: '10.244.2.7', port },
      destination: { address: '10.244.1.8', port: 9080 },
      http: { method: 'GET', path: '/ratings/0', headers: { 'x-request-id': [`rid-${port}`], 'user-agent': ['curl/8'] } },
    },
    unknown: ['tls', 'metadata'],
    requestId: `rid-${port}`,
    fields: { 'REQ(:METHOD)': 'GET', Upstream_Host: '10.244.1.8:9080', DOWNSTREAM_REMOTE_ADDRESS: `10.244.2.6:${port}`, istio_dry_run_allow_shadow_engine_result: 'denied', BYTES_SENT: 19 },
  });

  it('keeps every value the analysis reads, shares repeated ones, and keeps only the fields the analysis reads', () => {
    const c = new RecordCompactor();
    const a = c.compact(record(50001));
    const b = c.compact(record(50002));
    const plain = record(50001);
    expect({ ...a, fields: undefined, fieldsElided: undefined }).toEqual({ ...plain, fields: undefined, fieldsElided: undefined });
    expect(a.fieldsElided).toBe(true);
    // DOWNSTREAM_REMOTE_ADDRESS is read only when the record has no source address
    expect(a.fields).toEqual({ Upstream_Host: '10.244.1.8:9080', istio_dry_run_allow_shadow_engine_result: 'denied' });
    expect(a.unknown).toBe(b.unknown);
    expect(a.attrs.remote).toBe(a.attrs.source);
    expect(a.attrs.directRemote).not.toBe(a.attrs.source);
    expect(a.attrs.http!.headers['user-agent']).toBe(b.attrs.http!.headers['user-agent']);
  });

  it('shares a list or an endpoint only with equal ones, and keeps every object\'s keys in order', () => {
    const c = new RecordCompactor();
    const a = record(50001);
    a.unknown = ['a\u0000b'];
    a.attrs.destination = { address: '10.244.1.8' };
    a.attrs.http!.headers = { b: ['1'], a: ['2'], '7': ['x'] };
    const b = record(50002);
    b.unknown = ['a', 'b'];
    b.attrs.destination = { address: '10.244.1.8', port: undefined };
    b.attrs.http!.headers = { a: ['2'], b: ['1'] };
    const ca = c.compact(a);
    const cb = c.compact(b);
    expect(ca.unknown).toEqual(['a\u0000b']);
    expect(cb.unknown).toEqual(['a', 'b']);
    expect(Object.keys(ca.attrs.destination!)).toEqual(['address']);
    expect(Object.keys(cb.attrs.destination!)).toEqual(['address', 'port']);
    expect(Object.keys(ca.attrs.http!.headers)).toEqual(['7', 'b', 'a']);
    expect(Object.keys(cb.attrs.http!.headers)).toEqual(['a', 'b']);
    expect(cb.attrs.http!.headers.a).toBe(ca.attrs.http!.headers.a);
    expect(Object.keys(ca.attrs)).toEqual(Object.keys(record(50001).attrs));
  });

  it('compactShared keeps the values compact keeps (objects not yet rebuilt), and settle finishes it as compact does', () => {
    const c = new RecordCompactor();
    const shared = c.compactShared(record(50001));
    const full = c.compact(record(50001));
    expect(shared).toStrictEqual(full);
    expect(Object.keys(shared.attrs)).toEqual(Object.keys(full.attrs));
    expect(shared.unknown).toBe(full.unknown);
    const attrs = shared.attrs;
    const settled = c.settle(shared);
    expect(settled).toBe(shared);
    expect(settled.attrs).not.toBe(attrs);
    expect(settled).toStrictEqual(full);
  });

  it('names the fields correlation and findings read, under any spelling', () => {
    expect(analysisField('upstream_local_address')).toBe(true);
    expect(analysisField('UPSTREAM_CLUSTER_RAW')).toBe(true);
    expect(analysisField('REQ(X-ENVOY-ORIGINAL-PATH?:PATH)')).toBe(true);
    expect(analysisField('istio_dry_run_deny_shadow_effective_policy_id')).toBe(true);
    expect(analysisField('REQ(USER-AGENT)')).toBe(false);
    expect(analysisField('BYTES_SENT')).toBe(false);
  });
});
