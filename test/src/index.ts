export type { Admin, CreateUserOptions, ExpectRejectedOptions, UserCreds } from './admin.js';
export { createAdmin, randomPassword, uniqueName } from './admin.js';
export type {
  CatalogTuning,
  ConformanceContext,
  ConformanceSuiteOptions,
  Mount,
  MountedBackend,
} from './conformance.js';
export { catalogOptions, fromCatalog, runConformanceSuite, SCENARIOS } from './conformance.js';
export { type CsiMountOptions, csiMount } from './csi-mount.js';
export { CsiReconciler, type CsiReconcilerOptions } from './csi-reconciler.js';
export { KubeletWriter, type KubeletWriterOptions } from './kubelet-writer.js';
export type { FaultMode, FaultProxy, FaultProxyOptions, ProxiedRequest } from './fault-proxy.js';
export { HTTP_ONLY_MODES, SESSION_SQL, startFaultProxy } from './fault-proxy.js';
export { type ConnectionWitness, startConnectionWitness } from './witness.js';
export { describeExampleSmoke, type ExampleSmokeOptions } from './example-smoke.js';
export type { DbSecretValue, SecretShape, StartTestSecretsManagerOptions, TestSecretsManager } from './secrets.js';
export {
  dbSecretFor,
  rdsManagedSecretName,
  SECRET_SHAPE_KEYS,
  secretStringFor,
  moveCurrent,
  newSecretsManagerClient,
  putDbSecret,
  startTestSecretsManager,
  uniqueSecretName,
  versionWithStage,
} from './secrets.js';
export type { EngineName, ServerInfo, TestbedFacts } from './servers.js';
export { ENGINES, serverFor, testbedFacts } from './servers.js';
