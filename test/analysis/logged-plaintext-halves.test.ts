/**
 * Both halves for plaintext known only from the server sidecar's access log (no capture): the client half
 * comes from the client's dump when given (its outbound model decides what the client sidecar sends to
 * that destination), a client without a sidecar is decided from the inventory, and otherwise the client
 * half is UNDECIDABLE naming the missing client dump. Evidence: the wordpress-mtls sample's MariaDB log
 * (stage 00: two plaintext MySQL sessions accepted on PERMISSIVE 3306; stage 01: two refused by STRICT),
 * without the capture.
 */
import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';
import { gatherEvidence } from '../../src/analysis/evidence.js';
import { buildReportModel } from '../../src/analysis/report-model.js';
import { loggedPlaintextHalves } from '../../src/analysis/both-halves.js';
import type { Finding } from '../../src/model/records.js';

const S = join(REPO, 'samples/wordpress-mtls');
const SERVER_LOG = 'logs/mariadb-0.wordpress-app.istio-proxy.log';
const SERVER_DUMP = 'stages/00-plaintext/config_dumps/mariadb-0.wordpress-app.json';
const CLIENT_DUMP_00 = 'stages/00-plaintext/config_dumps/wordpress-6d8f9c7b5-k2x9q.wordpress-app.json';
const CLIENT_DUMP_02 = 'config_dumps/wordpress-6d8f9c7b5-k2x9q.wordpress-app.json';

type ClientHalfData = { source: string | null; explanation: string; paths: { how: string; cluster: string; mode: string }[]; decision?: string; undecidable?: string };

async function findings(files: string[], inventory: (inv: { items: Record<string, unknown>[] }) => void = () => undefined): Promise<Finding[]> {
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-logged-halves-'));
  for (const f of files) copyFileSync(join(S, f), join(dir, f.replace(/\//g, '_')));
  const inv = JSON.parse(readFileSync(join(S, 'inventory.json'), 'utf8')) as { items: Record<string, unknown>[] };
  inventory(inv);
  writeFileSync(join(dir, 'inventory.json'), JSON.stringify(inv));
  const ev = await gatherEvidence([dir]);
  expect(ev.flows).toHaveLength(0);
  return buildReportModel(ev, { skewMs: 2000, showSecrets: false, generatedAt: '2026-01-01T00:00:00Z' }).findings;
}

const logged = (fs: Finding[], id: string): Finding => {
  const f = fs.find((x) => x.id === id && x.details?.source === 'access-log');
  expect(f, id).toBeDefined();
  return f!;
};
const half = (f: Finding): ClientHalfData => f.details!.clientHalf as unknown as ClientHalfData;

describe('log-only plaintext: the client half', () => {
  it('from the client dump: its outbound cluster for the destination sends no TLS, so fix the client first', async () => {
    const fs = await findings([SERVER_LOG, SERVER_DUMP, CLIENT_DUMP_00]);
    for (const id of ['plaintext-flow', 'plaintext-accepted', 'strict-rejected-plaintext']) {
      const f = logged(fs, id);
      const h = half(f);
      expect(h.source).toBe('sidecar~10.244.1.15~wordpress-6d8f9c7b5-k2x9q.wordpress-app~wordpress-app.svc.cluster.local');
      expect(h.decision).toBeUndefined();
      expect(h.paths).toContainEqual(expect.objectContaining({ how: 'service', cluster: 'outbound|3306||mariadb.wordpress-app.svc.cluster.local', mode: 'plaintext' }));
      expect(f.summary).toContain('the client sidecar sent plaintext because cluster outbound|3306||mariadb.wordpress-app.svc.cluster.local has no TLS');
      expect(f.details!.fixFirst).toBe('client');
    }
    expect(logged(fs, 'plaintext-accepted').fix).toMatch(/^Fix the client side first: add a DestinationRule for mariadb\.wordpress-app\.svc\.cluster\.local/);
  });

  it('the outbound model decides per destination: with the DestinationRule in the client dump only a pod-IP dial sends plaintext', async () => {
    const fs = await findings([SERVER_LOG, SERVER_DUMP, CLIENT_DUMP_02]);
    const h = half(logged(fs, 'plaintext-flow'));
    expect(h.paths).toEqual([expect.objectContaining({ how: 'direct', cluster: 'PassthroughCluster', mode: 'passthrough' })]);
    expect(h.explanation).toMatch(/the app dialed the pod IP 10\.244\.2\.20:3306 directly/);
  });

  it('without the client dump (or its outbound log): UNDECIDABLE, naming the missing dump', async () => {
    const fs = await findings([SERVER_LOG, SERVER_DUMP]);
    for (const id of ['plaintext-flow', 'plaintext-accepted', 'strict-rejected-plaintext']) {
      const f = logged(fs, id);
      const h = half(f);
      expect(h.decision).toBe('UNDECIDABLE');
      expect(h.undecidable).toMatch(/^the config dump of wordpress-app\/wordpress's sidecar \(10\.244\.1\.15\)/);
      expect(h.paths).toEqual([]);
      expect(f.summary).toContain("what the client sidecar sent is UNDECIDABLE (missing the config dump of wordpress-app/wordpress's sidecar (10.244.1.15)");
      expect(f.details!.fixFirst).not.toBe('client');
    }
  });

  it('a client the inventory shows without a sidecar is decided: its app sent plaintext itself', async () => {
    const fs = await findings([SERVER_LOG, SERVER_DUMP], (inv) => {
      const pod = inv.items.find((o) => (o.metadata as { name: string }).name.startsWith('wordpress-')) as { metadata: { annotations?: Record<string, string> }; spec: { containers: { name: string }[] } };
      delete pod.metadata.annotations?.['sidecar.istio.io/status'];
      pod.spec.containers = pod.spec.containers.filter((c) => c.name !== 'istio-proxy');
    });
    const f = logged(fs, 'plaintext-flow');
    expect(half(f).decision).toBeUndefined();
    expect(half(f).explanation).toBe('wordpress-app/wordpress has no sidecar (inventory): its app sent plaintext itself, nothing on the client side encrypts');
    expect(f.summary).not.toContain('UNDECIDABLE');
  });

  it('a log that does not carry the destination port: UNDECIDABLE, naming the port', () => {
    const h = loggedPlaintextHalves({ client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '10.0.0.2' } }, { name: 'default/sleep', ip: '10.0.0.1' }, null, null);
    expect(h.client?.undecidable).toMatch(/^the destination port/);
    expect(h.client?.explanation).toBe("what the client sidecar sent to 10.0.0.2 is UNDECIDABLE: missing the destination port (the server's log does not carry it), to select the client sidecar's outbound path");
  });
});
