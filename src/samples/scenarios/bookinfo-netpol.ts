/**
 * bookinfo-netpol — Kubernetes NetworkPolicy beside Istio, as users lock Bookinfo down: the ingress
 * gateway only on its HTTP/HTTPS ports (`istio-ingress-lockdown`), productpage on 9080 only from the
 * ingress gateway pods (`product-page-ingress`). Those two leave details, reviews and ratings open: a
 * compromised ingress gateway pod reads ratings and details directly. Then each backend is restricted
 * to its one caller, and the same attempts get no answer (the SYN is dropped at the node).
 */
import type { Call, HttpCall, PodDef, Scenario, ServiceDef } from '../bundle.js';
import { BROWSER_UA, CURL_UA, PY_UA, stages } from './common.js';

const pods: PodDef[] = [
  { name: 'istio-ingressgateway-7b5d9c6f4-qm2lz', namespace: 'istio-system', app: 'istio-ingressgateway', serviceAccount: 'istio-ingressgateway-service-account', ip: '10.244.1.20', node: 'kind-worker', hostIP: '172.18.0.3', sidecar: true, image: 'docker.io/istio/proxyv2:1.19.3', containerPorts: [8080, 8443], gateway: true },
  { name: 'productpage-v1-7c8b6f9d4d-x4wq8', namespace: 'default', app: 'productpage', version: 'v1', serviceAccount: 'bookinfo-productpage', ip: '10.244.1.21', node: 'kind-worker', hostIP: '172.18.0.3', sidecar: true, image: 'docker.io/istio/examples-bookinfo-productpage-v1:1.18.0', containerPorts: [9080] },
  { name: 'details-v1-5f4d584748-vb7kd', namespace: 'default', app: 'details', version: 'v1', serviceAccount: 'bookinfo-details', ip: '10.244.2.22', node: 'kind-worker2', hostIP: '172.18.0.4', sidecar: true, image: 'docker.io/istio/examples-bookinfo-details-v1:1.18.0', containerPorts: [9080] },
  { name: 'reviews-v3-7d99fd7978-c8t2n', namespace: 'default', app: 'reviews', version: 'v3', serviceAccount: 'bookinfo-reviews', ip: '10.244.2.23', node: 'kind-worker2', hostIP: '172.18.0.4', sidecar: true, image: 'docker.io/istio/examples-bookinfo-reviews-v3:1.18.0', containerPorts: [9080] },
  { name: 'ratings-v1-85c74b6cb4-j6r5p', namespace: 'default', app: 'ratings', version: 'v1', serviceAccount: 'bookinfo-ratings', ip: '10.244.1.24', node: 'kind-worker', hostIP: '172.18.0.3', sidecar: true, image: 'docker.io/istio/examples-bookinfo-ratings-v1:1.18.0', containerPorts: [9080] },
];
const [GW, PP, DT, RV, RT] = pods.map((p) => p.name) as [string, string, string, string, string];

const http = (name: string, ip: string): ServiceDef => ({ name, namespace: 'default', clusterIP: ip, app: name, ports: [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'HTTP' }] });
const services: ServiceDef[] = [
  http('productpage', '10.96.141.40'),
  http('details', '10.96.36.41'),
  http('reviews', '10.96.201.42'),
  http('ratings', '10.96.88.43'),
  { name: 'istio-ingressgateway', namespace: 'istio-system', clusterIP: '10.96.0.80', app: 'istio-ingressgateway', ports: [{ name: 'http2', port: 80, targetPort: 8080, protocol: 'HTTP' }] },
];

/** `<name>` in `default` accepts 9080 only from pods labelled app=<from>. */
const backend = (name: string, from: string): string => `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ${name}-from-${from}
  namespace: default
spec:
  podSelector:
    matchLabels:
      app: ${name}
  policyTypes: ["Ingress"]
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: ${from}
    ports:
    - port: 9080
      protocol: TCP
`;

const st = stages([
  {
    id: 'lockdown',
    title: 'The lockdown as published: the ingress gateway on its HTTP/HTTPS ports, productpage only from the ingress gateway',
    start: '2026-11-24T09:00:00.000Z',
    // NetworkPolicy matches the pod's port: the gateway's Service maps 80/443 to the container's 8080/8443.
    apply: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: istio-ingress-lockdown
  namespace: istio-system
spec:
  podSelector:
    matchLabels:
      app: istio-ingressgateway
  policyTypes: ["Ingress"]
  ingress:
  - ports:
    - port: 8080
      protocol: TCP
    - port: 8443
      protocol: TCP
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: product-page-ingress
  namespace: default
spec:
  podSelector:
    matchLabels:
      app: productpage
  policyTypes: ["Ingress"]
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: istio-system
      podSelector:
        matchLabels:
          app: istio-ingressgateway
    ports:
    - port: 9080
      protocol: TCP
`,
  },
  {
    id: 'backends',
    title: 'Each backend accepts 9080 only from its one caller: details and reviews from productpage, ratings from reviews',
    start: '2026-11-24T09:30:00.000Z',
    apply: [backend('details', 'productpage'), backend('reviews', 'productpage'), backend('ratings', 'reviews')].map((y) => y.replace(/^\n/, '')).join('---\n'),
  },
]);

const DETAILS_JSON = '{"id":0,"author":"William Shakespeare","year":1595,"type":"paperback","pages":200,"publisher":"PublisherA","language":"English","ISBN-10":"1234567890","ISBN-13":"123-1234567890"}';
const RATINGS_JSON = '{"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}';
const REVIEWS_JSON = '{"id":"0","podname":"reviews-v3-7d99fd7978-c8t2n","clustername":"null","reviews":[{"reviewer":"Reviewer1","text":"An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!","rating":{"stars":5,"color":"red"}}]}';
const PAGE = '<!DOCTYPE html>\n<html><head><title>Simple Bookstore App</title></head><body>\n<h3 class="text-center text-primary">The Comedy of Errors</h3>\n</body></html>\n';

/** One page load through the mesh: every hop is allowed by both layers at every stage. */
function pageLoad(stage: string, at: number, rid: string): Call[] {
  const base = { stage, kind: 'http', method: 'GET', userAgent: PY_UA, requestLabel: rid } as const;
  return [
    { ...base, at, appMs: 31, from: GW, to: { service: 'productpage.default', port: 9080 }, path: '/productpage', authority: 'bookinfo.example.com', userAgent: BROWSER_UA, outcome: { status: 200, body: PAGE, contentType: 'text/html; charset=utf-8' } },
    { ...base, at: at + 6, from: PP, to: { service: 'details.default', port: 9080 }, path: '/details/0', authority: 'details:9080', outcome: { status: 200, body: DETAILS_JSON } },
    { ...base, at: at + 12, appMs: 14, from: PP, to: { service: 'reviews.default', port: 9080 }, path: '/reviews/0', authority: 'reviews:9080', outcome: { status: 200, body: REVIEWS_JSON } },
    { ...base, at: at + 16, from: RV, to: { service: 'ratings.default', port: 9080 }, path: '/ratings/0', authority: 'ratings:9080', userAgent: 'Apache-CXF/3.1.18', outcome: { status: 200, body: RATINGS_JSON } },
  ];
}

/** A shell in the compromised ingress gateway pod calls a backend directly: plaintext from the pod's IP (a gateway pod has no traffic redirect). */
const probe = (stage: string, at: number, service: string, path: string, outcome: HttpCall['outcome']): Call => ({
  kind: 'http',
  stage,
  at,
  from: GW,
  to: { service: `${service}.default`, port: 9080 },
  method: 'GET',
  path,
  authority: `${service}.default.svc.cluster.local:9080`,
  userAgent: CURL_UA,
  direct: true,
  outcome,
});

export const bookinfoNetpol: Scenario = {
  name: 'bookinfo-netpol',
  seed: 'meshsleuth-sample/bookinfo-netpol/v1',
  pods,
  services,
  stages: st,
  calls: [
    ...pageLoad('lockdown', 40_118, 'q0'),
    probe('lockdown', 611_402, 'ratings', '/ratings/0', { status: 200, body: RATINGS_JSON }),
    probe('lockdown', 634_977, 'details', '/details/0', { status: 200, body: DETAILS_JSON }),
    ...pageLoad('backends', 52_730, 'q1'),
    probe('backends', 410_255, 'ratings', '/ratings/0', { dropped: 'NetworkPolicy default/ratings-from-reviews' }),
    probe('backends', 447_806, 'details', '/details/0', { dropped: 'NetworkPolicy default/details-from-productpage' }),
  ],
  captured: [GW, RT, DT],
  sidecars: [GW, PP, DT, RV, RT],
  dumps: [PP, DT, RV, RT],
};
