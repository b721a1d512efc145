import { describe, expect, it } from 'vitest';
import * as lib from '../../src/index.js';

describe('the library entry point', () => {
  it('exports each layer the CLI is built from', () => {
    for (const name of ['loadConfigDumps', 'decideRequest', 'parseRbacFilter', 'captureFile', 'flowsFromCapture', 'readAccessLogs', 'compileToConfigDump', 'buildReportModel', 'buildReportStreaming', 'RecordSpill', 'renderHtml', 'renderSarif']) {
      expect(typeof (lib as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('decides a request over a bare RBAC filter without any I/O', () => {
    const filter = lib.parseRbacFilter({ rules: { action: 'ALLOW', policies: { 'get-only': { permissions: [{ header: { name: ':method', string_match: { exact: 'GET' } } }], principals: [{ any: true }] } } } }, { kind: 'http' });
    const d = lib.decideWithFilter(filter, { http: { method: 'POST', path: '/', headers: {} } });
    expect(d.decision).toBe('DENY');
    expect(d.responseCodeDetails).toBe('rbac_access_denied_matched_policy[none]');
  });
});
