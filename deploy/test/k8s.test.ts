/**
 * Offline validation of deploy/k8s: every object against the Kubernetes OpenAPI JSON schemas that the
 * `kubernetes-models` package ships (ajv-compiled, no cluster, no network), plus the project's own
 * rules (non-root, limits, probes, PDB/Service selectors, no password in the pod spec). What this
 * does not cover: admission (Pod Security Admission, webhooks), CRDs, and whether the image runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEPLOY_DIR } from '../src/lambda-bundle.js';

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};
const dir = join(DEPLOY_DIR, 'k8s');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const objects = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => ({ file, obj: doc.toJS() as any })),
);
const byKind = (kind: string) => objects.find((o) => o.obj.kind === kind)!.obj;

describe('EKS manifests (deploy/k8s)', () => {
  it('kustomization lists every manifest', () => {
    const k = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]!.toJS();
    expect([...k.resources].sort()).toEqual([...files].sort());
  });

  it.each(objects.map((o) => [`${o.file}: ${o.obj.kind}`, o.obj]))(
    '%s validates against the Kubernetes schema',
    (_n, obj) => {
      const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
      expect(Model, `no model for ${obj.apiVersion}/${obj.kind}`).toBeDefined();
      expect(() => new Model!(obj).validate()).not.toThrow();
    },
  );

  it('the validator rejects a broken Deployment (it is not vacuous)', () => {
    const broken = structuredClone(byKind('Deployment'));
    broken.spec.replicas = 'two';
    expect(() => new Deployment(broken).validate()).toThrow(/replicas/);
    const noImage = structuredClone(byKind('Deployment'));
    noImage.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    expect(() => new Deployment(noImage).validate()).toThrow();
  });

  it('runs as non-root with a read-only root filesystem, no privilege escalation, limits and probes', () => {
    const pod = byKind('Deployment').spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const [c] = pod.containers;
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.resources.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.readinessProbe.httpGet.path).toBe('/health');
    expect(c.livenessProbe.tcpSocket).toBeDefined(); // not tied to the database
    expect(c.startupProbe).toBeDefined();
  });

  it('uses the service account, and Service and PDB select the pods', () => {
    const deployment = byKind('Deployment');
    const labels = deployment.spec.template.metadata.labels;
    expect(deployment.spec.template.spec.serviceAccountName).toBe(byKind('ServiceAccount').metadata.name);
    expect(byKind('Service').spec.selector).toEqual(labels);
    expect(byKind('PodDisruptionBudget').spec.selector.matchLabels).toEqual(labels);
    expect(byKind('PodDisruptionBudget').spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    const namespaces = new Set(objects.filter((o) => o.obj.kind !== 'Namespace').map((o) => o.obj.metadata.namespace));
    expect([...namespaces]).toEqual([byKind('Namespace').metadata.name]);
  });

  it('no password in the pod spec: the secret is named, not injected', () => {
    const pod = byKind('Deployment').spec.template.spec;
    const text = JSON.stringify(pod);
    expect(text).not.toMatch(/secretKeyRef|secretRef|"secret":|password/i);
    const config = byKind('ConfigMap').data;
    expect(config.DBCREDS_SECRET_ID).toMatch(/^arn:aws:secretsmanager:/);
    expect(Object.keys(config).filter((k) => /PASS|PWD/i.test(k))).toEqual([]);
  });

  it('the IAM policy for the pod role reads exactly one secret', () => {
    const policy = JSON.parse(readFileSync(join(dir, 'iam', 'read-app-secret.json'), 'utf8'));
    expect(policy.Statement).toHaveLength(1);
    expect([...policy.Statement[0].Action].sort()).toEqual(['secretsmanager:GetSecretValue']);
    expect(policy.Statement[0].Resource).not.toContain('*');
    const trust = JSON.parse(readFileSync(join(dir, 'iam', 'pod-identity-trust.json'), 'utf8'));
    expect(trust.Statement[0].Principal).toEqual({ Service: 'pods.eks.amazonaws.com' });
  });
});
