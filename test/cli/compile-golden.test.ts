/**
 * `meshsleuth compile` output, byte for byte, on the compile scenarios and the samples' policies, in every output
 * shape (filters YAML/JSON, table, --config-dump, --ambient): pins that writing the output piece by piece (so memory
 * does not grow with the number of policies) prints exactly what serialising the whole document printed.
 * Update after an intended change:  UPDATE_GOLDEN=1 npx vitest run test/cli/compile-golden.test.ts
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { REPO, runCli } from '../helpers/cli.js';

const S = 'test/istio/compile/scenarios/';
const GOLDEN = join(REPO, 'test/cli/golden/compile.golden.json');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const inv = (sample: string) => ['--inventory', `samples/${sample}/inventory.json`];
const pol = (sample: string) => `samples/${sample}/policies.yaml`;
const formats = (name: string, args: string[], fmts = ['yaml', 'json']): [string, string[]][] => fmts.map((f) => [`${name} -o ${f}`, [...args, '-o', f]]);

const CASES: [string, string[]][] = [
  ...formats('scenario bookinfo details-v1', ['compile', `${S}bookinfo.yaml`, '--workload', 'default/details-v1', '--inventory', `${S}bookinfo-workloads.yaml`], ['yaml', 'json', 'table']),
  ...formats('scenario bookinfo productpage-v1 config-dump', ['compile', `${S}bookinfo.yaml`, '--workload', 'default/productpage-v1', '--labels', 'app=productpage,version=v1', '--ports', '9080/http', '--config-dump']),
  ...formats('scenario tcp-echo methods + peerauthn', ['compile', `${S}tcp-echo-methods.yaml`, `${S}peerauthn.yaml`, '--workload', 'foo/tcp-echo', '--labels', 'app=tcp-echo', '--ports', '9000/tcp,9001/tcp,9002/tcp']),
  ...formats('scenario tcp-echo deny-methods-port config-dump', ['compile', `${S}tcp-echo-deny-methods-port.yaml`, `${S}peerauthn.yaml`, '--workload', 'foo/tcp-echo', '--labels', 'app=tcp-echo', '--ports', '9000/tcp,9001/tcp,9002/tcp', '--ip', '10.0.0.9', '--config-dump']),
  ...formats('scenario httpbin + invalid', ['compile', `${S}httpbin-istioio.yaml`, `${S}invalid.yaml`, '--workload', 'foo/httpbin', '--labels', 'app=httpbin,version=v1', '--ports', '8000/http', '--istio-version', '1.22']),
  ...formats('scenario deny-all-details config-dump', ['compile', `${S}deny-all-details.yaml`, '--workload', 'default/details-v1', '--inventory', `${S}bookinfo-workloads.yaml`, '--ip', '10.244.0.21', '--config-dump']),
  ...formats('sample details-path details', ['compile', pol('details-path'), '--workload', 'default/details-v1-5f4d584748-vn4cx', ...inv('details-path')]),
  ...formats('sample bookinfo-authz productpage config-dump', ['compile', pol('bookinfo-authz'), '--workload', 'default/productpage-v1-7c8b6f9d4d-m9qzv', ...inv('bookinfo-authz'), '--config-dump']),
  ...formats('sample bank-breach account-summary', ['compile', pol('bank-breach'), '--workload', 'bank/account-summary-77c9f5d4b-m2x8k', ...inv('bank-breach')], ['yaml', 'json', 'table']),
  ...formats('sample bank-breach database config-dump', ['compile', pol('bank-breach'), '--workload', 'bank/database-0', ...inv('bank-breach'), '--config-dump']),
  ...formats('sample legacy-plaintext httpbin', ['compile', pol('legacy-plaintext'), '--workload', 'foo/httpbin-65975d7dd7-p8x6m', ...inv('legacy-plaintext')]),
  ...formats('sample tcp-echo config-dump', ['compile', pol('tcp-echo'), '--workload', 'foo/tcp-echo-7f8c7b8d5-xq2lr', ...inv('tcp-echo'), '--config-dump']),
  ...formats('sample wordpress-mtls mariadb', ['compile', pol('wordpress-mtls'), '--workload', 'wordpress-app/mariadb-0', ...inv('wordpress-mtls')]),
  ...formats('sample ambient-bookinfo --ambient', ['compile', pol('ambient-bookinfo'), '--ambient', '--workload', 'bookinfo/details-v1-6b9d7c5f8-r7p2q', ...inv('ambient-bookinfo')], ['yaml', 'json', 'table']),
  ...formats('sample ambient-bookinfo waypoint config-dump', ['compile', pol('ambient-bookinfo'), '--ambient', '--waypoint', 'bookinfo/waypoint', ...inv('ambient-bookinfo'), '--config-dump']),
];

const digest = (s: string): string => `${Buffer.byteLength(s)} ${createHash('sha256').update(s).digest('hex')}`;

describe('compile output is byte-identical to the golden outputs', { timeout: 300_000 }, () => {
  it(`${CASES.length} invocations on the compile scenarios and the samples print the golden stdout, stderr and exit code`, async () => {
        const got: Record<string, string> = {};
    // four at a time: each is a fresh process
    for (let i = 0; i < CASES.length; i += 4) {
      const batch = CASES.slice(i, i + 4);
      const rs = await Promise.all(batch.map(([, args]) => runCli(args)));
      batch.forEach(([name], k) => {
        const r = rs[k]!;
        expect(r.stdout.length, `${name}: ${r.stderr.slice(-500)}`).toBeGreaterThan(0);
        got[name] = `exit ${r.code}; stdout ${digest(r.stdout)}; stderr ${digest(r.stderr)}`;
      });
    }
    if (UPDATE || !existsSync(GOLDEN)) {
      writeFileSync(GOLDEN, JSON.stringify(got, null, 2) + '\n');
      return;
    }
    expect(got).toEqual(JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<string, string>);
  });
});
