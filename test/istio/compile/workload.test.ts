import { describe, expect, it } from 'vitest';
import { parseK8sObjects } from '../../../src/readers/k8s.js';
import { deriveWorkload, istioProtocol, parseLabelsFlag, parsePortsFlag } from '../../../src/istio/compile/workload.js';

const objects = parseK8sObjects(`
apiVersion: v1
kind: Pod
metadata: {name: reviews-v1-abc, namespace: default, labels: {app: reviews, version: v1}}
spec:
  serviceAccountName: bookinfo-reviews
  containers:
  - name: reviews
    ports: [{containerPort: 9080, name: web}, {containerPort: 9443}, {containerPort: 5353, protocol: UDP}]
  - name: istio-proxy
    ports: [{containerPort: 15090}]
status: {podIP: 10.244.0.30, podIPs: [{ip: 10.244.0.30}, {ip: "fd00::30"}]}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports:
  - {name: http, port: 80, targetPort: web}
  - {name: https-admin, port: 443, targetPort: 9443}
  - {port: 7000, appProtocol: grpc}
---
apiVersion: v1
kind: Service
metadata: {name: other, namespace: default}
spec:
  selector: {app: other}
  ports: [{name: tcp, port: 9080}]
`, 'inv.yaml').objects;

describe('deriveWorkload', () => {
  it('takes labels, service account, IPs and container ports from a Pod, protocols from the Services selecting it', () => {
    expect(deriveWorkload(objects, 'default', 'reviews-v1-abc')!.spec).toEqual({
      namespace: 'default',
      name: 'reviews-v1-abc',
      labels: { app: 'reviews', version: 'v1' },
      serviceAccount: 'bookinfo-reviews',
      ports: [{ port: 7000, protocol: 'http' }, { port: 9080, protocol: 'http' }, { port: 9443, protocol: 'tcp' }],
      ips: ['10.244.0.30', 'fd00::30'],
    });
    expect(deriveWorkload(objects, 'default', 'nope')).toBeNull();
    expect(deriveWorkload(objects, 'other-ns', 'reviews-v1-abc')).toBeNull();
  });

  it('Istio protocol selection from appProtocol or the port name prefix', () => {
    expect(['http', 'http-web', 'http2', 'grpc', 'grpc-web', 'h2c', 'tcp', 'tls', 'https', 'mongo', 'redis-x', 'mysql', 'web', undefined].map(istioProtocol)).toEqual(['http', 'http', 'http', 'http', 'http', 'http', 'tcp', 'tcp', 'tcp', 'tcp', 'tcp', 'tcp', 'auto', 'auto']);
  });

  it('flag parsers', () => {
    expect(parsePortsFlag('9080/http, 9000/TCP,8080')).toEqual([{ port: 9080, protocol: 'http' }, { port: 9000, protocol: 'tcp' }, { port: 8080, protocol: 'auto' }]);
    expect(() => parsePortsFlag('70000/http')).toThrow(/--ports/);
    expect(parseLabelsFlag('app=reviews,version=v1,empty=')).toEqual({ app: 'reviews', version: 'v1', empty: '' });
    expect(() => parseLabelsFlag('app')).toThrow(/--labels: expected key=value/);
  });
});
