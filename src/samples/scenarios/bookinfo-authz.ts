/**
 * bookinfo-authz — istio.io "Authorization for HTTP traffic": `allow-nothing` in `default`, then
 * `productpage-viewer`, `details-viewer` + `reviews-viewer`, `ratings-viewer`, each stage visible in the logs.
 */
import type { Call, HttpCall, PodDef, Scenario, ServiceDef } from '../bundle.js';
import { BROWSER_UA, CURL_UA, PY_UA, stages } from './common.js';

const pods: PodDef[] = [
  { name: 'istio-ingressgateway-6d8f9b7c5d-4xk2p', namespace: 'istio-system', app: 'istio-ingressgateway', serviceAccount: 'istio-ingressgateway-service-account', ip: '10.244.1.4', node: 'kind-worker', hostIP: '172.18.0.3', sidecar: true, image: 'docker.io/istio/proxyv2:1.19.3', containerPorts: [8080, 8443], gateway: true },
  { name: 'productpage-v1-7c8b6f9d4d-m9qzv', namespace: 'default', app: 'productpage', version: 'v1', serviceAccount: 'bookinfo-productpage', ip: '10.244.1.7', node: 'kind-worker', hostIP: '172.18.0.3', sidecar: true, image: 'docker.io/istio/examples-bookinfo-productpage-v1:1.18.0', containerPorts: [9080] },
  { name: 'details-v1-5f4d584748-2w7mh', namespace: 'default', app: 'details', version: 'v1', serviceAccount: 'bookinfo-details', ip: '10.244.2.5', node: 'kind-worker2', hostIP: '172.18.0.4', sidecar: true, image: 'docker.io/istio/examples-bookinfo-details-v1:1.18.0', containerPorts: [9080] },
  { name: 'reviews-v3-7d99fd7978-kzp4s', namespace: 'default', app: 'reviews', version: 'v3', serviceAccount: 'bookinfo-reviews', ip: '10.244.2.6', node: 'kind-worker2', hostIP: '172.18.0.4', sidecar: true, image: 'docker.io/istio/examples-bookinfo-reviews-v3:1.18.0', containerPorts: [9080] },
  { name: 'ratings-v1-85c74b6cb4-8nl5t', namespace: 'default', app: 'ratings', version: 'v1', serviceAccount: 'bookinfo-ratings', ip: '10.244.1.8', node: 'kind-worker', hostIP: '172.18.0.3', sidecar: true, image: 'docker.io/istio/examples-bookinfo-ratings-v1:1.18.0', containerPorts: [9080] },
  { name: 'sleep-9454cc476-tb7xv', namespace: 'default', app: 'sleep', serviceAccount: 'sleep', ip: '10.244.2.9', node: 'kind-worker2', hostIP: '172.18.0.4', sidecar: true, image: 'curlimages/curl:8.5.0', containerPorts: [] },
];

const http = (name: string, ip: string): ServiceDef => ({ name, namespace: 'default', clusterIP: ip, app: name, ports: [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'HTTP' }] });
const services: ServiceDef[] = [
  http('productpage', '10.96.141.28'),
  http('details', '10.96.36.110'),
  http('reviews', '10.96.201.7'),
  http('ratings', '10.96.88.51'),
  { name: 'sleep', namespace: 'default', clusterIP: '10.96.17.3', app: 'sleep', ports: [{ name: 'http', port: 80, targetPort: 80, protocol: 'HTTP' }] },
  { name: 'istio-ingressgateway', namespace: 'istio-system', clusterIP: '10.96.0.80', app: 'istio-ingressgateway', ports: [{ name: 'http2', port: 80, targetPort: 8080, protocol: 'HTTP' }] },
];

const st = stages([
  { id: 'no-policy', title: 'No authorization policy: the page works', start: '2026-11-22T10:00:00.000Z' },
  {
    id: 'allow-nothing',
    title: '`allow-nothing` in `default`: every request to every workload is denied',
    start: '2026-11-22T10:05:00.000Z',
    apply: `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: allow-nothing
  namespace: default
spec:
  {}
`,
  },
  {
    id: 'productpage-viewer',
    title: '`productpage-viewer`: GET on productpage from anyone; details and reviews still have no ALLOW',
    start: '2026-11-22T10:10:00.000Z',
    apply: `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: productpage-viewer
  namespace: default
spec:
  selector:
    matchLabels:
      app: productpage
  action: ALLOW
  rules:
  - to:
    - operation:
        methods: ["GET"]
`,
  },
  {
    id: 'details-reviews-viewer',
    title: '`details-viewer` and `reviews-viewer`: GET from the productpage identity; ratings still closed',
    start: '2026-11-22T10:15:00.000Z',
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
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: reviews-viewer
  namespace: default
spec:
  selector:
    matchLabels:
      app: reviews
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/bookinfo-productpage"]
    to:
    - operation:
        methods: ["GET"]
`,
  },
  {
    id: 'ratings-viewer',
    title: '`ratings-viewer`: GET from the reviews identity; the whole page works again',
    start: '2026-11-22T10:20:00.000Z',
    apply: `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ratings-viewer
  namespace: default
spec:
  selector:
    matchLabels:
      app: ratings
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/bookinfo-reviews"]
    to:
    - operation:
        methods: ["GET"]
`,
  },
]);

const GW = pods[0]!.name;
const PP = pods[1]!.name;
const RV = pods[3]!.name;
const SLEEP = pods[5]!.name;

const DETAILS_JSON = '{"id":0,"author":"William Shakespeare","year":1595,"type":"paperback","pages":200,"publisher":"PublisherA","language":"English","ISBN-10":"1234567890","ISBN-13":"123-1234567890"}';
const RATINGS_JSON = '{"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}';
const reviewsJson = (ratings: boolean): string =>
  ratings
    ? '{"id":"0","podname":"reviews-v3-7d99fd7978-kzp4s","clustername":"null","reviews":[{"reviewer":"Reviewer1","text":"An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!","rating":{"stars":5,"color":"red"}},{"reviewer":"Reviewer2","text":"Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.","rating":{"stars":4,"color":"red"}}]}'
    : '{"id":"0","podname":"reviews-v3-7d99fd7978-kzp4s","clustername":"null","reviews":[{"reviewer":"Reviewer1","text":"An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!","rating":{"error":"Ratings service is currently unavailable"}},{"reviewer":"Reviewer2","text":"Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.","rating":{"error":"Ratings service is currently unavailable"}}]}';

function page(details: boolean, reviews: 'ok' | 'no-ratings' | 'error'): string {
  const d = details
    ? '<h4 class="text-center text-primary">Book Details</h4><dl><dt>Type:</dt>paperback<dt>Pages:</dt>200<dt>Publisher:</dt>PublisherA<dt>Language:</dt>English<dt>ISBN-10:</dt>1234567890</dl>'
    : '<h4 class="text-center text-primary">Error fetching product details!</h4><p>Sorry, product details are currently unavailable for this book.</p>';
  const r =
    reviews === 'error'
      ? '<h4 class="text-center text-primary">Error fetching product reviews!</h4><p>Sorry, product reviews are currently unavailable for this book.</p>'
      : reviews === 'no-ratings'
        ? '<blockquote><p>An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!</p><small>Reviewer1</small><font color="red">Ratings service is currently unavailable</font></blockquote>'
        : '<blockquote><p>An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!</p><small>Reviewer1</small><font color="red"><span class="glyphicon glyphicon-star"></span>x5</font></blockquote>';
  return `<!DOCTYPE html>\n<html><head><title>Simple Bookstore App</title></head><body>\n<h3 class="text-center text-primary">The Comedy of Errors</h3>\n<div class="col-md-6">${d}</div>\n<div class="col-md-6">${r}</div>\n</body></html>\n`;
}

/** One page load: ingress → productpage, which calls details and reviews; reviews calls ratings. */
function pageLoad(stage: string, at: number, rid: string, outcome: {
  productpage: 'deny' | 'ok';
  details: 'deny' | 'ok';
  reviews: 'deny' | 'ok';
  ratings: 'deny' | 'ok';
}): Call[] {
  const calls: HttpCall[] = [];
  const base = { stage, method: 'GET', userAgent: PY_UA, requestLabel: rid } as const;
  if (outcome.productpage === 'deny') {
    calls.push({ ...base, kind: 'http', at, from: GW, to: { service: 'productpage.default', port: 9080 }, path: '/productpage', authority: 'bookinfo.example.com', userAgent: BROWSER_UA, outcome: { rbac: 'none' } });
    return calls;
  }
  calls.push({ ...base, kind: 'http', at: at + 6, from: PP, to: { service: 'details.default', port: 9080 }, path: '/details/0', authority: 'details:9080', outcome: outcome.details === 'ok' ? { status: 200, body: DETAILS_JSON } : { rbac: 'none' } });
  if (outcome.reviews === 'ok') {
    calls.push({ ...base, kind: 'http', at: at + 16, from: RV, to: { service: 'ratings.default', port: 9080 }, path: '/ratings/0', authority: 'ratings:9080', userAgent: 'Apache-CXF/3.1.18', outcome: outcome.ratings === 'ok' ? { status: 200, body: RATINGS_JSON } : { rbac: 'none' } });
  }
  calls.push({
    ...base,
    kind: 'http',
    at: at + 12,
    appMs: 14,
    from: PP,
    to: { service: 'reviews.default', port: 9080 },
    path: '/reviews/0',
    authority: 'reviews:9080',
    outcome: outcome.reviews === 'ok' ? { status: 200, body: reviewsJson(outcome.ratings === 'ok') } : { rbac: 'none' },
  });
  const reviews = outcome.reviews === 'deny' ? 'error' : outcome.ratings === 'ok' ? 'ok' : 'no-ratings';
  calls.push({ ...base, kind: 'http', at, appMs: 38, from: GW, to: { service: 'productpage.default', port: 9080 }, path: '/productpage', authority: 'bookinfo.example.com', userAgent: BROWSER_UA, outcome: { status: 200, body: page(outcome.details === 'ok', reviews), contentType: 'text/html; charset=utf-8' } });
  return calls;
}

export const bookinfoAuthz: Scenario = {
  name: 'bookinfo-authz',
  seed: 'meshsleuth-sample/bookinfo-authz/v1',
  pods,
  services,
  stages: st,
  calls: [
    ...pageLoad('no-policy', 31_204, 'p0', { productpage: 'ok', details: 'ok', reviews: 'ok', ratings: 'ok' }),
    ...pageLoad('allow-nothing', 42_517, 'p1', { productpage: 'deny', details: 'deny', reviews: 'deny', ratings: 'deny' }),
    ...pageLoad('productpage-viewer', 37_880, 'p2', { productpage: 'ok', details: 'deny', reviews: 'deny', ratings: 'deny' }),
    ...pageLoad('details-reviews-viewer', 29_031, 'p3', { productpage: 'ok', details: 'ok', reviews: 'ok', ratings: 'deny' }),
    ...pageLoad('ratings-viewer', 33_642, 'p4', { productpage: 'ok', details: 'ok', reviews: 'ok', ratings: 'ok' }),
    // someone else in the namespace tries details directly: the final state denies it
    { kind: 'http', stage: 'ratings-viewer', at: 95_410, from: SLEEP, to: { service: 'details.default', port: 9080 }, method: 'GET', path: '/details/0', authority: 'details:9080', userAgent: CURL_UA, outcome: { rbac: 'none' } },
  ],
  captured: [PP, pods[2]!.name, RV, pods[4]!.name],
  sidecars: [PP, pods[2]!.name, RV, pods[4]!.name, SLEEP],
  dumps: [PP, pods[2]!.name, RV, pods[4]!.name],
};
