/**
 * IP ownership has a time, on the bank-breach sample: the attacker's address 10.244.1.66 belongs to pod
 * ops/toolbox in the inventory. With the inventory as collected (the pod created at 08:00, never deleted) every
 * use of the stolen identity is CRITICAL; when the pod is recorded as created after the first attack (13:08),
 * those connections are not CRITICAL and say that who owned the address then is unverified, while the later
 * ones (13:36, 13:37) stay CRITICAL.
 */
import { describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, runCli } from '../helpers/cli.js';
import { readInventory, WorkloadIndex } from '../../src/readers/inventory.js';

const SAMPLE = join(REPO, 'samples/bank-breach');
const STOLEN = 'spiffe://cluster.local/ns/bank/sa/account-summary';

interface Finding { id: string; severity: string; summary: string; evidence: { file: string; frame?: number; line?: number }[]; details: { ownership: { verified: boolean; from: string | null; until: string | null; unverifiedBecause?: string }; firstSeen: string; lastSeen: string } }

async function report(dir: string): Promise<Finding[]> {
  const out = join(mkdtempSync(join(tmpdir(), 'meshsleuth-idtime-')), 'r.json');
  const r = await runCli(['report', dir, '--out', out]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(readFileSync(out, 'utf8')) as { findings: Finding[] }).findings.filter((f) => f.id === 'identity-address-mismatch');
}

describe.skipIf(!existsSync(SAMPLE))('identity-address-mismatch and the owning pod\'s lifetime (needs samples/bank-breach)', () => {
  it('the inventory reader keeps creation/start/deletion times and the inventory\'s own time', async () => {
    const inv = await readInventory(join(SAMPLE, 'inventory.json'));
    const toolbox = inv.pods.find((p) => p.name.startsWith('toolbox'))!;
    expect(toolbox.createdMs).toBe(Date.parse('2026-11-22T08:00:00Z'));
    expect(toolbox.deletedMs).toBeUndefined();
    expect(inv.asOfMs).toBe(Date.parse('2026-11-22T08:00:00Z'));
    const idx = new WorkloadIndex(inv);
    expect(idx.ownerAt('10.244.1.66', Date.parse('2026-11-22T13:08:32Z'))).toMatchObject({ ownership: 'inside', pod: { name: toolbox.name } });
    expect(idx.ownerAt('10.244.1.66', Date.parse('2026-11-22T07:59:00Z'))!.ownership).toBe('before');
  });

  it('as collected: every use of the stolen identity falls inside the toolbox pod\'s lifetime: CRITICAL', async () => {
    const fs = await report(SAMPLE);
    expect(fs).toHaveLength(1);
    expect(fs[0]!.severity).toBe('critical');
    expect(fs[0]!.details.ownership).toMatchObject({ verified: true, from: '2026-11-22T08:00:00.000Z', until: null });
  });

  it('a pod created after the first attack owned the address only for the later ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-bank-'));
    cpSync(SAMPLE, dir, { recursive: true });
    const invFile = join(dir, 'inventory.json');
    const inv = JSON.parse(readFileSync(invFile, 'utf8')) as { items: { kind: string; metadata: { name: string; creationTimestamp?: string } }[] };
    inv.items.find((i) => i.kind === 'Pod' && i.metadata.name.startsWith('toolbox'))!.metadata.creationTimestamp = '2026-11-22T13:30:00Z';
    writeFileSync(invFile, JSON.stringify(inv, null, 2));
    const fs = await report(dir);
    const critical = fs.filter((f) => f.severity === 'critical');
    const unverified = fs.filter((f) => f.severity !== 'critical');
    expect(critical).toHaveLength(1);
    expect(unverified).toHaveLength(1);
    expect(unverified[0]!.severity).toBe('high');
    expect(unverified[0]!.summary).toContain(`Identity ${STOLEN} was presented from 10.244.1.66 at 2026-11-22T13:08`);
    expect(unverified[0]!.summary).toContain('who owned that address then is unverified');
    expect(unverified[0]!.details.ownership.unverifiedBecause).toContain('started only at 2026-11-22T13:30:00.000Z, after the event');
    expect(unverified[0]!.details.lastSeen < '2026-11-22T13:30').toBe(true);
    expect(critical[0]!.details.firstSeen > '2026-11-22T13:30').toBe(true);
  });
});
