/**
 * A stand-in for the Secrets Store CSI driver with the AWS provider (ASCP): it polls Secrets Manager (the
 * driver's rotation reconciler, `--rotation-poll-interval`), and when a mounted version changed it writes
 * the volume with the kubelet's atomic writer `lagMs` after it first saw the change. `pendingFile`
 * mirrors AWSPENDING (`objectVersionLabel: AWSPENDING`); while no version carries that label the file is
 * left out (the real driver instead fails the whole volume's mount or rotation: see the core README).
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KubeletWriter } from './kubelet-writer.js';

export interface CsiReconcilerOptions {
  client: SecretsManagerClient;
  secretId: string;
  /** The volume's directory (the pod's mountPath). */
  dir: string;
  /** File of the AWSCURRENT version (the object's alias), default 'db.json'. */
  file?: string;
  /** File of the AWSPENDING version, if mirrored. */
  pendingFile?: string;
  /** Delay from seeing a change to writing it, in ms. */
  lagMs: number;
  /** Secrets Manager poll interval, in ms (default 100). */
  pollMs?: number;
  /** Extra pause between the atomic writer's steps, in ms. */
  stepDelayMs?: number;
}

export class CsiReconciler {
  /** GetSecretValue calls the reconciler made (the app's own calls are the rest). */
  calls = 0;
  readonly writer: KubeletWriter;
  readonly #o: Required<Omit<CsiReconcilerOptions, 'pendingFile' | 'stepDelayMs'>> & { pendingFile?: string };
  #mounted = '';
  /** The payload seen but not written yet, and since when. */
  #seen: { key: string; payload: Record<string, string>; at: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(o: CsiReconcilerOptions) {
    this.#o = { file: 'db.json', pollMs: 100, ...o };
    this.writer = new KubeletWriter(o.dir, o.stepDelayMs === undefined ? {} : { stepDelayMs: o.stepDelayMs });
  }

  /** The first mount: written at once (the pod starts only once it is). Then the reconcile loop. */
  async start(): Promise<void> {
    const payload = await this.#fetch();
    await this.writer.write(payload);
    this.#mounted = JSON.stringify(payload);
    this.#timer = setInterval(() => {
      this.#running = this.#running.then(() => this.#reconcile()).catch(() => {});
    }, this.#o.pollMs);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
  }

  async #reconcile(): Promise<void> {
    if (this.#closed) return;
    let payload: Record<string, string>;
    try {
      payload = await this.#fetch();
    } catch {
      return; // Secrets Manager unreachable: the driver logs and keeps the files
    }
    const key = JSON.stringify(payload);
    if (key === this.#mounted) {
      this.#seen = undefined;
      return;
    }
    if (this.#seen?.key !== key) this.#seen = { key, payload, at: Date.now() };
    if (Date.now() - this.#seen.at < this.#o.lagMs || this.#closed) return;
    await this.writer.write(payload);
    this.#mounted = key;
    this.#seen = undefined;
  }

  async #fetch(): Promise<Record<string, string>> {
    const payload: Record<string, string> = { [this.#o.file]: (await this.#get('AWSCURRENT'))! };
    if (this.#o.pendingFile !== undefined) {
      const pending = await this.#get('AWSPENDING');
      if (pending !== undefined) payload[this.#o.pendingFile] = pending;
    }
    return payload;
  }

  async #get(stage: 'AWSCURRENT' | 'AWSPENDING'): Promise<string | undefined> {
    this.calls++;
    try {
      const out = await this.#o.client.send(
        new GetSecretValueCommand({ SecretId: this.#o.secretId, VersionStage: stage }),
      );
      return out.SecretString;
    } catch (err) {
      if (stage === 'AWSPENDING' && (err as { name?: string }).name === 'ResourceNotFoundException') return undefined;
      throw err;
    }
  }
}
