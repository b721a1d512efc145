/** The default `report` output for people: a summary, the findings table, and skipped inputs. */
import type { ReportModel } from '../analysis/report-model.js';
import { formatRef } from '../analysis/report-model.js';
import { renderTable } from './table.js';

/** Shortens from the middle so the end (line, frame or JSON path tail) stays visible. */
function truncMiddle(s: string, n: number): string {
  if (s.length <= n) return s;
  const tail = Math.min(40, Math.floor(n / 2));
  return `${s.slice(0, n - tail - 1)}…${s.slice(-tail)}`;
}

/** `6 left the pod: 4 between workloads, 2 unattributed; 5 loopback, 3 sidecar-local` (analysis/scope.ts). */
export function plaintextScopes(f: ReportModel['summary']['flows']): string {
  const left = [f.plaintextBetweenWorkloads ? `${f.plaintextBetweenWorkloads} between workloads` : '', f.plaintextUnattributed ? `${f.plaintextUnattributed} unattributed` : ''].filter(Boolean);
  const stayed = [f.plaintextLoopback ? `${f.plaintextLoopback} loopback` : '', f.plaintextSidecarLocal ? `${f.plaintextSidecarLocal} sidecar-local` : ''].filter(Boolean);
  return `${f.plaintextLeftPod} left the pod${left.length ? `: ${left.join(', ')}` : ''}${stayed.length ? `; ${stayed.join(', ')}` : ''}`;
}

/**
 * The cleartext statements the plaintext findings cite (SQL, Redis, MongoDB commands, redacted by the
 * model as `flows` redacts them), one row each; '' when none.
 */
function cleartextStatements(m: ReportModel): string {
  const rows: string[][] = [];
  let seen = 0;
  for (const f of m.findings) {
    const list = f.details?.statements;
    if (!Array.isArray(list)) continue;
    if (typeof f.details?.statementsSeen === 'number') seen += f.details.statementsSeen;
    for (const x of list) {
      if (x === null || typeof x !== 'object' || Array.isArray(x)) continue;
      const text = String(x.text ?? '').replace(/\s+/g, ' ');
      rows.push([String(x.evidence ?? ''), String(x.protocol ?? ''), String(x.kind ?? ''), text.length > 120 ? `${text.slice(0, 119)}…` : text]);
    }
  }
  if (rows.length === 0) return '';
  const more = seen > rows.length ? `; ${seen - rows.length} more seen, each connection's in -o report.json/.html (flows[].app)` : '';
  return `Cleartext statements cited by the plaintext findings (redacted${more}):\n${renderTable({ headers: ['EVIDENCE', 'PROTOCOL', 'KIND', 'STATEMENT'], rows }).trimEnd()}`;
}

export function renderReportTable(m: ReportModel): string {
  const s = m.summary;
  const lines: string[] = [];
  const range = m.manifest.timeRange.start ? `${m.manifest.timeRange.start} .. ${m.manifest.timeRange.end}` : 'no timed events';
  lines.push(`meshsleuth ${m.manifest.tool.version} report: ${m.manifest.inputs.length} input(s) (${Object.entries(s.inputs).map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}), ${s.skipped} skipped`);
  lines.push(`time range: ${range} (clock-skew window ±${m.manifest.skewMs} ms)`);
  lines.push(`flows: ${s.flows.total} (mTLS ${s.flows.mtls}, TLS ${s.flows.tls}, plaintext ${s.flows.plaintext} (${plaintextScopes(s.flows)}), unknown ${s.flows.unknown}; sidecar-local ${s.flows.sidecarLocal}${s.flows.capturedTwice ? `; ${s.flows.capturedTwice} more captured at both ends` : ''})   records: ${s.records.total} (${s.records.requests} requests, denied ${s.records.denied}, NR ${s.records.rejected}, matched to captures ${s.records.correlatedWithCapture})   replayed: ${s.explanations.agrees} agree, ${s.explanations.disagrees} disagree, ${s.explanations.undecidable} undecidable${s.explanations.notFromThisProxy ? `, ${s.explanations.notFromThisProxy} not from their dump's proxy` : ''}`);
  lines.push('');
  if (m.findings.length === 0) lines.push('No findings.');
  else {
    lines.push(
      renderTable({
        headers: ['SEVERITY', 'FINDING', 'COUNT', 'EVIDENCE', 'SUMMARY'],
        rows: m.findings.map((f) => {
          const more = f.evidence.length > 1 ? ` (+${f.evidence.length - 1})` : '';
          const first = f.evidence.length === 0 ? '' : formatRef(f.evidence[0]!);
          return [
            f.severity.toUpperCase(),
            f.id,
            typeof f.details?.occurrences === 'number' ? f.details.occurrences : f.evidence.length,
            `${truncMiddle(first, 72 - more.length)}${more}`,
            f.summary,
          ];
        }),
      }).trimEnd(),
    );
  }
  const stmts = cleartextStatements(m);
  if (stmts) lines.push('', stmts);
  if (m.manifest.skipped.length > 0) {
    lines.push('');
    lines.push('Skipped inputs:');
    for (const k of m.manifest.skipped) lines.push(`  ${k.path}: ${k.reason}`);
  }
  const problems = m.diagnostics.length;
  if (problems > 0) lines.push('', `${problems} input problem(s) (see -o report.json "diagnostics" for each).`);
  return lines.join('\n') + '\n';
}
