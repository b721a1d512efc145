import { describe, expect, it } from 'vitest';
import { FlowLayerEvaluator, networkLayerFindings } from '../../src/analysis/network-layers.js';
import { addressesInDetails } from '../../src/analysis/report-model.js';
import { parseK8sObjects } from '../../src/readers/k8s.js';
import { flow } from './report-fixtures.js';

// A pod whose egress a NetworkPolicy denies entirely, talking to addresses no pod owns.
const OBJECTS = `
apiVersion: v1
kind: Pod
metadata: { name: client, namespace: default, labels: { app: client } }
status: { podIP: fd00::10, podIPs: [{ ip: fd00::10 }] }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: deny-egress, namespace: default }
spec: { podSelector: {}, policyTypes: [Egress] }
`;

describe('network-layer findings name their destination as an endpoint', () => {
  const objects = parseK8sObjects(OBJECTS, 'objects.yaml').objects;

  it('an unresolved IPv6 destination is written [v6]:port, so it names its address exactly (and attaches to its node)', () => {
    const f = flow({ client: '10.0.0.1:40000', server: '10.0.0.2:443', bytes: { clientToServer: 100, serverToClient: 0 } });
    f.client = { ip: 'fd00::10', port: 40000 };
    f.server = { ip: 'fd00::99', port: 443 };
    const [finding, ...rest] = networkLayerFindings([f], objects);
    expect(rest).toEqual([]);
    expect(finding!.id).toBe('network-policy-explains-unanswered');
    expect(finding!.details).toMatchObject({ destination: '[fd00::99]:443' });
    expect(finding!.summary).toContain('→ [fd00::99]:443 got no answer');
    expect([...addressesInDetails(finding!.details!)]).toContain('fd00::99');
  });

  it('an IPv4 destination keeps ip:port', () => {
    const f = flow({ client: '10.0.0.1:40000', server: '10.0.0.2:443', bytes: { clientToServer: 100, serverToClient: 0 } });
    f.client = { ip: 'fd00::10', port: 40000 };
    const [finding] = networkLayerFindings([f], objects);
    expect(finding!.details).toMatchObject({ destination: '10.0.0.2:443' });
  });

  it('an evaluator exists for these objects (the test is not vacuous)', () => {
    expect(FlowLayerEvaluator.fromObjects(objects)).not.toBeNull();
  });
});
