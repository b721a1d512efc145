/**
 * legacy-plaintext — istio.io "Mutual TLS Migration": httpbin + sleep in foo and bar (meshed), sleep in legacy
 * (no sidecar). PERMISSIVE lets legacy's plaintext in (GET /ip in cleartext); STRICT on foo rejects it
 * (filter_chain_not_found, curl exit 56); then mesh-wide STRICT with a PERMISSIVE override for httpbin.
 */
import type { AppResponse, Call, PodDef, Scenario, ServiceDef } from '../bundle.js';
import { CURL_UA, stages } from './common.js';

const pods: PodDef[] = [
  { name: 'httpbin-65975d7dd7-p8x6m', namespace: 'foo', app: 'httpbin', version: 'v1', serviceAccount: 'httpbin', ip: '10.244.1.41', node: 'kind-worker', hostIP: '172.18.0.3', sidecar: true, image: 'docker.io/mccutchen/go-httpbin:v2.15.0', containerPorts: [8080] },
  { name: 'sleep-9454cc476-k4dqs', namespace: 'foo', app: 'sleep', serviceAccount: 'sleep', ip: '10.244.2.42', node: 'kind-worker2', hostIP: '172.18.0.4', sidecar: true, image: 'curlimages/curl:8.5.0', containerPorts: [] },
  { name: 'httpbin-65975d7dd7-9wzjt', namespace: 'bar', app: 'httpbin', version: 'v1', serviceAccount: 'httpbin', ip: '10.244.2.43', node: 'kind-worker2', hostIP: '172.18.0.4', sidecar: true, image: 'docker.io/mccutchen/go-httpbin:v2.15.0', containerPorts: [8080] },
  { name: 'sleep-9454cc476-r7vfc', namespace: 'bar', app: 'sleep', serviceAccount: 'sleep', ip: '10.244.1.44', node: 'kind-worker', hostIP: '172.18.0.3', sidecar: true, image: 'curlimages/curl:8.5.0', containerPorts: [] },
  { name: 'sleep-9454cc476-2mhgx', namespace: 'legacy', app: 'sleep', serviceAccount: 'sleep', ip: '10.244.1.45', node: 'kind-worker', hostIP: '172.18.0.3', sidecar: false, image: 'curlimages/curl:8.5.0', containerPorts: [] },
];
const HB_FOO = pods[0]!.name;
const SLEEP_FOO = pods[1]!.name;
const HB_BAR = pods[2]!.name;
const SLEEP_BAR = pods[3]!.name;
const LEGACY = pods[4]!.name;

const httpbin = (ns: string, ip: string): ServiceDef => ({ name: 'httpbin', namespace: ns, clusterIP: ip, app: 'httpbin', ports: [{ name: 'http', port: 8000, targetPort: 8080, protocol: 'HTTP' }] });
const sleep = (ns: string, ip: string): ServiceDef => ({ name: 'sleep', namespace: ns, clusterIP: ip, app: 'sleep', ports: [{ name: 'http', port: 80, targetPort: 80, protocol: 'HTTP' }] });

const st = stages([
  { id: 'permissive', title: 'Default PERMISSIVE: the legacy client reaches httpbin in plaintext', start: '2026-11-22T12:00:00.000Z' },
  {
    id: 'strict-foo',
    title: 'PeerAuthentication STRICT in foo: plaintext from legacy finds no filter chain (curl exit 56)',
    start: '2026-11-22T12:05:00.000Z',
    apply: `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: foo
spec:
  mtls:
    mode: STRICT
`,
  },
  {
    id: 'mesh-strict-httpbin-permissive',
    title: 'Mesh-wide STRICT, with a workload-level PERMISSIVE override for httpbin in foo and bar',
    start: '2026-11-22T12:10:00.000Z',
    remove: ['PeerAuthentication/foo/default'],
    apply: `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: istio-system
spec:
  mtls:
    mode: STRICT
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: httpbin
  namespace: foo
spec:
  selector:
    matchLabels:
      app: httpbin
  mtls:
    mode: PERMISSIVE
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: httpbin
  namespace: bar
spec:
  selector:
    matchLabels:
      app: httpbin
  mtls:
    mode: PERMISSIVE
`,
  },
]);

const ip: AppResponse = { status: 200, body: '{\n  "origin": "127.0.0.6"\n}\n' };
function get(stage: string, at: number, from: string, ns: 'foo' | 'bar', outcome: AppResponse | { noFilterChain: true }): Call {
  return { kind: 'http', stage, at, from, to: { service: `httpbin.${ns}`, port: 8000 }, method: 'GET', path: '/ip', authority: `httpbin.${ns}:8000`, userAgent: CURL_UA, outcome };
}

export const legacyPlaintext: Scenario = {
  name: 'legacy-plaintext',
  seed: 'meshsleuth-sample/legacy-plaintext/v1',
  pods,
  services: [httpbin('foo', '10.96.80.21'), sleep('foo', '10.96.80.22'), httpbin('bar', '10.96.81.21'), sleep('bar', '10.96.81.22'), sleep('legacy', '10.96.82.22')],
  stages: st,
  calls: [
    get('permissive', 12_114, SLEEP_FOO, 'foo', ip),
    get('permissive', 12_631, SLEEP_BAR, 'foo', ip),
    get('permissive', 13_207, LEGACY, 'foo', ip),
    get('permissive', 13_790, LEGACY, 'bar', ip),
    get('strict-foo', 18_402, SLEEP_FOO, 'foo', ip),
    get('strict-foo', 18_955, SLEEP_BAR, 'foo', ip),
    get('strict-foo', 19_538, LEGACY, 'foo', { noFilterChain: true }),
    get('strict-foo', 20_116, LEGACY, 'bar', ip),
    get('mesh-strict-httpbin-permissive', 24_873, SLEEP_FOO, 'foo', ip),
    get('mesh-strict-httpbin-permissive', 25_460, LEGACY, 'foo', ip),
    get('mesh-strict-httpbin-permissive', 26_019, LEGACY, 'bar', ip),
  ],
  captured: [HB_FOO, HB_BAR],
  sidecars: [HB_FOO, HB_BAR, SLEEP_FOO],
};
