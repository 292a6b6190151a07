/**
 * The conformance suite's mounted backend: a volume in a temp directory that a CSI-driver stand-in
 * (csi-reconciler.ts) keeps in sync with the local Secrets Manager, read with `createCredentialSource({ file })`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createCredentialSource } from '@dbcreds/core';
import type { MountedBackend } from './conformance.js';
import { CsiReconciler } from './csi-reconciler.js';

export interface CsiMountOptions {
  /** Delay from a change in Secrets Manager to the mount's write, in ms. */
  lagMs: number;
  /** Also mount AWSPENDING as `db-pending.json` (default true). */
  pending?: boolean;
  /** The file backend's change poll, in ms (default its own, 1_000). */
  pollMs?: number;
}

export function csiMount(o: CsiMountOptions): MountedBackend {
  const pending = o.pending ?? true;
  return {
    name: `a CSI-style mount (lag ${o.lagMs} ms${pending ? ', AWSPENDING mounted' : ''})`,
    async mount(sm, secretId) {
      const dir = await mkdtemp(join(tmpdir(), 'dbcreds-csi-'));
      const mountDir = join(dir, 'secrets-store');
      const reconciler = new CsiReconciler({
        client: sm.client,
        secretId,
        dir: mountDir,
        lagMs: o.lagMs,
        ...(pending ? { pendingFile: 'db-pending.json' } : {}),
      });
      await reconciler.start();
      let probes = 0;
      return {
        options: {
          file: {
            path: join(mountDir, 'db.json'),
            ...(pending ? { pendingFile: join(mountDir, 'db-pending.json') } : {}),
            ...(o.pollMs === undefined ? {} : { pollMs: o.pollMs }),
          },
        },
        writes: () => reconciler.writer.writes,
        async versionIdOf(smVersionId, secretKeys) {
          // The same content read by a file source: its versionId (a keyed hash of the content).
          const out = await sm.client.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: smVersionId }));
          const probeDir = join(dir, `probe-${++probes}`);
          await mkdir(probeDir);
          await writeFile(join(probeDir, 'db.json'), out.SecretString!);
          const probe = createCredentialSource({
            file: { path: join(probeDir, 'db.json'), watch: false, pollMs: 0 },
            ...(secretKeys ? { secretKeys } : {}),
          });
          try {
            return (await probe.get()).versionId;
          } finally {
            probe.close();
            await rm(probeDir, { recursive: true, force: true });
          }
        },
        async close() {
          await reconciler.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  };
}
