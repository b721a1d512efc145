/**
 * details-path — `deny-all` (an empty-spec policy, i.e. allow-nothing), then `details-viewer`: principal
 * bookinfo-productpage + GET + paths `/details/*`. `POST /details/0` and `GET /ping` are still denied, each for
 * one failing condition, and so is GET /details/0 from another identity.
 */
import type { Call, PodDef, Scenario, ServiceDef } from '../bundle.js';
import { CURL_UA, PY_UA, stages } from './common.js';

const pods: PodDef[] = [
  { name: 'productpage-v1-7c8b6f9d4d-q5lsn', namespace: 'default', app: 'productpage', version: 'v1', serviceAccount: 'bookinfo-productpage', ip: '10.244.1.71', node: 'kind-worker', hostIP: '172.18.0.3', sidecar: true, image: 'docker.io/istio/examples-bookinfo-productpage-v1:1.18.0', containerPorts: [9080] },
  { name: 'details-v1-5f4d584748-vn4cx', namespace: 'default', app: 'details', version: 'v1', serviceAccount: 'bookinfo-details', ip: '10.244.2.72', node: 'kind-worker2', hostIP: '172.18.0.4', sidecar: true, image: 'docker.io/istio/examples-bookinfo-details-v1:1.18.0', containerPorts: [9080] },
  { name: 'sleep-9454cc476-hq8zp', namespace: 'default', app: 'sleep', serviceAccount: 'sleep', ip: '10.244.2.73', node: 'kind-worker2', hostIP: '172.18.0.4', sidecar: true, image: 'curlimages/curl:8.5.0', containerPorts: [] },
];
const PP = pods[0]!.name;
const DETAILS = pods[1]!.name;
const SLEEP = pods[2]!.name;
const http = (name: string, ip: string, port: number): ServiceDef => ({ name, namespace: 'default', clusterIP: ip, app: name, ports: [{ name: 'http', port, targetPort: port, protocol: 'HTTP' }] });

const st = stages([
  {
    id: 'deny-all',
    title: '`deny-all` (empty spec: an ALLOW policy with no rules) in default',
    start: '2026-11-22T14:00:00.000Z',
    apply: `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-all
  namespace: default
spec:
  {}
`,
  },
  {
    id: 'details-viewer',
    title: '`details-viewer`: principal bookinfo-productpage, GET, paths /details/*',
    start: '2026-11-22T14:05:00.000Z',
    apply: `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: details-viewer
  namespace: default
spec:
  selector:
    matchLabels:
      app: details
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/bookinfo-productpage"]
    to:
    - operation:
        methods: ["GET"]
        paths: ["/details/*"]
`,
  },
]);

const DETAILS_JSON = '{"id":0,"author":"William Shakespeare","year":1595,"type":"paperback","pages":200,"publisher":"PublisherA","language":"English","ISBN-10":"1234567890","ISBN-13":"123-1234567890"}';
const call = (stage: string, at: number, from: string, method: string, path: string, ua: string, ok: boolean, body?: string): Call => ({
  kind: 'http',
  stage,
  at,
  from,
  to: { service: 'details.default', port: 9080 },
  method,
  path,
  authority: 'details:9080',
  userAgent: ua,
  ...(body ? { body, headers: [['Content-Type', 'application/json']] as Array<[string, string]> } : {}),
  outcome: ok ? { status: 200, body: DETAILS_JSON, server: 'WEBrick/1.8.1 (Ruby/3.3.0/2023-12-25)' } : { rbac: 'none' },
});

export const detailsPath: Scenario = {
  name: 'details-path',
  seed: 'meshsleuth-sample/details-path/v1',
  pods,
  services: [http('productpage', '10.96.141.71', 9080), http('details', '10.96.36.72', 9080), http('sleep', '10.96.17.73', 80)],
  stages: st,
  calls: [
    call('deny-all', 20_518, PP, 'GET', '/details/0', PY_UA, false),
    call('details-viewer', 30_044, PP, 'GET', '/details/0', PY_UA, true),
    call('details-viewer', 41_870, PP, 'POST', '/details/0', CURL_UA, false, '{"pages":9999}'),
    call('details-viewer', 52_311, PP, 'GET', '/ping', CURL_UA, false),
    call('details-viewer', 63_905, SLEEP, 'GET', '/details/0', CURL_UA, false),
  ],
  captured: [DETAILS],
  sidecars: [DETAILS, PP, SLEEP],
};
