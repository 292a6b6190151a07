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

/**
 * The CSI variant (deploy/k8s/csi): a kustomize overlay of the API variant. Its patches are applied here the
 * way kustomize's strategic merge does for these fields (lists of named items merged by name, null deletes
 * a key), then the results are validated like the base; the SecretProviderClass (a CRD, no model in
 * kubernetes-models) is checked against the driver's CRD shape and ASCP's parameters.
 */
const csiDir = join(dir, 'csi');
const readYaml = (file: string) => parseAllDocuments(readFileSync(join(csiDir, file), 'utf8'))[0]!.toJS() as any;

function strategicMerge(base: any, patch: any): any {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key];
    else if (Array.isArray(value) && value.every((v) => v !== null && typeof v === 'object' && 'name' in v)) {
      base[key] ??= [];
      const list: any[] = base[key];
      for (const item of value) {
        const same = list.find((b) => b.name === (item as { name: string }).name);
        if (same) strategicMerge(same, item);
        else list.push(structuredClone(item));
      }
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      base[key] ??= {};
      strategicMerge(base[key], value);
    } else base[key] = value;
  }
  return base;
}

/** Keys ASCP reads in an `objects` entry (aws/secrets-store-csi-driver-provider-aws, provider/secret_descriptor.go). */
const ASCP_OBJECT_KEYS = ['objectName', 'objectType', 'objectAlias', 'objectVersion', 'objectVersionLabel', 'jmesPath'];

describe('EKS manifests, CSI variant (deploy/k8s/csi)', () => {
  const k = readYaml('kustomization.yaml');
  const spc = readYaml('secretproviderclass.yaml');
  const deployment = strategicMerge(structuredClone(byKind('Deployment')), readYaml('deployment-patch.yaml'));
  const config = strategicMerge(structuredClone(byKind('ConfigMap')), readYaml('configmap-patch.yaml'));
  const objectsOf = (s: any) => parseAllDocuments(s.spec.parameters.objects)[0]!.toJS() as any[];

  it('overlays the API variant: its objects, the SecretProviderClass, two patches', () => {
    expect(k.resources).toEqual(['../', 'secretproviderclass.yaml']);
    expect(k.patches.map((p: { path: string }) => p.path).sort()).toEqual([
      'configmap-patch.yaml',
      'deployment-patch.yaml',
    ]);
    const csiFiles = readdirSync(csiDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect(csiFiles.sort()).toEqual(['configmap-patch.yaml', 'deployment-patch.yaml', 'secretproviderclass.yaml']);
  });

  it('the patched Deployment and ConfigMap validate against the Kubernetes schema', () => {
    expect(() => new Deployment(deployment).validate()).not.toThrow();
    expect(() => new ConfigMap(config).validate()).not.toThrow();
    // Not vacuous: a CSI volume without its driver is refused.
    const broken = structuredClone(deployment);
    delete broken.spec.template.spec.volumes[0].csi.driver;
    expect(() => new Deployment(broken).validate()).toThrow(/driver/);
  });

  it('mounts the CSI volume read-only where the app reads it, from this SecretProviderClass', () => {
    const pod = deployment.spec.template.spec;
    const [volume] = pod.volumes;
    expect(volume.csi).toEqual({
      driver: 'secrets-store.csi.k8s.io',
      readOnly: true,
      volumeAttributes: { secretProviderClass: spc.metadata.name },
    });
    const [c] = pod.containers;
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true); // the API variant's hardening is kept
    const mount = c.volumeMounts.find((m: { name: string }) => m.name === volume.name);
    expect(mount).toMatchObject({ mountPath: '/mnt/secrets-store', readOnly: true });
    expect(config.data.DBCREDS_SECRET_FILE.startsWith(`${mount.mountPath}/`)).toBe(true);
    expect(config.data.DBCREDS_SECRET_PENDING_FILE.startsWith(`${mount.mountPath}/`)).toBe(true);
    expect(config.data.DBCREDS_SECRET_ID).toBeUndefined(); // the app does not call Secrets Manager
    expect(spc.metadata.namespace).toBe(byKind('Namespace').metadata.name);
  });

  it('the SecretProviderClass: the driver CRD shape, ASCP objects, the files the app reads', () => {
    expect(spc.apiVersion).toBe('secrets-store.csi.x-k8s.io/v1');
    expect(spc.kind).toBe('SecretProviderClass');
    expect(spc.spec.provider).toBe('aws');
    // CRD: parameters is a map of strings (a YAML `true` would be refused by the API server).
    for (const v of Object.values(spc.spec.parameters)) expect(typeof v).toBe('string');
    expect(spc.spec.parameters.usePodIdentity).toBe('true');
    const objects = objectsOf(spc);
    const secretArn = byKind('ConfigMap').data.DBCREDS_SECRET_ID;
    for (const o of objects) {
      expect(Object.keys(o).filter((key) => !ASCP_OBJECT_KEYS.includes(key))).toEqual([]);
      expect(o).toMatchObject({ objectName: secretArn, objectType: 'secretsmanager' });
    }
    const alias = (p: string) => p.slice(p.lastIndexOf('/') + 1);
    const current = objects.find((o) => o.objectAlias === alias(config.data.DBCREDS_SECRET_FILE));
    const pending = objects.find((o) => o.objectAlias === alias(config.data.DBCREDS_SECRET_PENDING_FILE));
    expect(current.objectVersionLabel).toBeUndefined(); // AWSCURRENT
    expect(pending.objectVersionLabel).toBe('AWSPENDING');
    // jmesPath field files (the directory layout): each names a path and a file.
    expect(current.jmesPath.map((j: { objectAlias: string }) => j.objectAlias).sort()).toEqual([
      'password',
      'username',
    ]);
    for (const j of current.jmesPath) expect(Object.keys(j).sort()).toEqual(['objectAlias', 'path']);
    // The refused-login wait covers the mount's lag (the driver's rotation poll: 30 s in kustomization.yaml).
    expect(Number(config.data.DBCREDS_AWAIT_ROTATION_MS)).toBeGreaterThan(30_000);
    expect(readFileSync(join(csiDir, 'kustomization.yaml'), 'utf8')).toMatch(
      /enableSecretRotation=true.*rotationPollInterval=30s/s,
    );
  });

  it('no password anywhere in the overlay; the pod role reads and describes exactly one secret', () => {
    for (const f of readdirSync(csiDir).filter((name) => name.endsWith('.yaml')))
      expect(readFileSync(join(csiDir, f), 'utf8')).not.toMatch(/password:\s*\S|secretKeyRef|PASS(WORD)?=/i);
    const policy = JSON.parse(readFileSync(join(csiDir, 'iam', 'read-mounted-secret.json'), 'utf8'));
    expect(policy.Statement).toHaveLength(1);
    // ASCP's rotation reconciler calls DescribeSecret before GetSecretValue (it re-fetches changed versions only).
    expect([...policy.Statement[0].Action].sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    expect(policy.Statement[0].Resource).toBe(byKind('ConfigMap').data.DBCREDS_SECRET_ID);
  });
});
