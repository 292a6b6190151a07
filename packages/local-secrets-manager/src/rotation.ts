import { randomUUID } from 'node:crypto';
import { invalidRequest, ServiceError } from './errors.js';
import { parseRotationRules, type Schedule } from './schedule.js';
import { checkToken, type SecretsService, tokenInUse } from './service.js';
import {
  AWSCURRENT,
  AWSPENDING,
  findVersion,
  type RotationRecord,
  type RotationRulesInput,
  removeStage,
  type SecretRecord,
  versionWithStage,
} from './store.js';
import type {
  DueRotationResult,
  RotationFailure,
  RotationHandler,
  RotationMode,
  RotationStats,
  RotationStep,
} from './types.js';
import { bool, type Input, str } from './validate.js';

export interface RotationEngineOptions {
  allowShortRotationIntervals: boolean;
  mode: RotationMode;
  stepTimeoutMs: number;
}

const ALL_STEPS: RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];
const MISSING_TOKEN = 'You must provide a ClientRequestToken value. We recommend a UUID-type value.';
const PREVIOUS_NOT_COMPLETE = "A previous rotation isn't complete. That rotation will be reattempted.";
const MAX_RETRY_DELAY_MS = 3_600_000;

interface Run {
  versionId: string;
  promise: Promise<RotationFailure | undefined>;
  cancelled: boolean;
}

/**
 * RotateSecret, CancelRotateSecret and the scheduler. Rotations call in-process rotators registered by
 * Lambda ARN with the Lambda event `{Step, SecretId: ARN, ClientRequestToken, RotationToken}`.
 */
export class RotationEngine {
  private readonly rotators = new Map<string, RotationHandler>();
  private readonly running = new Map<string, Run>();
  private readonly failures = new Map<string, RotationFailure>();
  private readonly counts: RotationStats = {
    started: 0,
    succeeded: 0,
    failed: 0,
    steps: { createSecret: 0, setSecret: 0, testSecret: 0, finishSecret: 0 },
  };
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<DueRotationResult[]> | undefined;

  constructor(
    private readonly service: SecretsService,
    private readonly options: RotationEngineOptions,
  ) {
    const s = 'string' as const;
    service.define(
      'RotateSecret',
      {
        SecretId: [s, true],
        ClientRequestToken: [s, false],
        RotationLambdaARN: [s, false],
        RotationRules: ['structure', false],
        RotateImmediately: ['boolean', false],
        ExternalSecretRotationMetadata: ['list', false],
        ExternalSecretRotationRoleArn: [s, false],
      },
      (x) => this.rotateSecret(x),
    );
    service.define('CancelRotateSecret', { SecretId: [s, true] }, (x) => this.cancelRotateSecret(x));
    service.hooks = { currentChanged: (secret) => this.reschedule(secret) };
  }

  register(lambdaArn: string, handler: RotationHandler): void {
    if (typeof lambdaArn !== 'string' || lambdaArn.length === 0 || lambdaArn.length > 2048) {
      throw new TypeError('registerRotator: lambdaArn must be a non-empty string (at most 2048 characters)');
    }
    if (typeof handler !== 'function') throw new TypeError('registerRotator: handler must be a function');
    this.rotators.set(lambdaArn, handler);
  }

  /**
   * AWS's wording for a Lambda it cannot invoke, then what is wrong locally: the ARN, the ARNs that
   * are registered, and how to register one.
   */
  private noRotatorMessage(lambdaArn: string): string {
    const known = [...this.rotators.keys()];
    return (
      'Secrets Manager cannot invoke the specified Lambda function. ' +
      `Local Secrets Manager: no rotator is registered for RotationLambdaARN ${lambdaArn}. ` +
      (known.length > 0
        ? `Registered: ${known.join(', ')}. `
        : 'This server has no rotators registered (the plain dbcreds-local-sm command registers none). ') +
      'Register one with registerRotator(arn, handler) on startLocalSecretsManager(), or run `dbcreds local-sm`, ' +
      'which registers the @dbcreds/rotation functions and prints their ARNs.'
    );
  }

  stats(): RotationStats {
    return { ...this.counts, steps: { ...this.counts.steps } };
  }

  lastError(secretId: string): RotationFailure | undefined {
    const arn = this.service.store.find(secretId)?.arn ?? secretId;
    const failure = this.failures.get(arn);
    return failure ? { ...failure } : undefined;
  }

  async idle(): Promise<void> {
    while (this.running.size > 0 || this.ticking) {
      await Promise.all([...this.running.values()].map((r) => r.promise));
      if (this.ticking) await this.ticking;
    }
  }

  // ---- RotateSecret ----------------------------------------------------------------------------

  private schedule(rules: RotationRulesInput | undefined): Schedule | undefined {
    return rules ? parseRotationRules(rules, this.options) : undefined;
  }

  private async rotateSecret(x: Input): Promise<unknown> {
    const token = str(x, 'ClientRequestToken');
    if (token === undefined) throw invalidRequest(MISSING_TOKEN);
    checkToken(token);
    const lambdaArnInput = str(x, 'RotationLambdaARN');
    if (lambdaArnInput !== undefined && (lambdaArnInput.length < 1 || lambdaArnInput.length > 2048)) {
      throw new ServiceError('ValidationException', 'RotationLambdaARN must be 1-2048 characters long.');
    }
    const rulesInput = readRules(x.RotationRules);
    const rotateImmediately = bool(x, 'RotateImmediately') ?? true;
    const secret = this.service.liveSecret(str(x, 'SecretId')!);
    if (rulesInput) this.schedule(rulesInput); // validate before changing anything
    const lambdaArn = lambdaArnInput ?? secret.rotation?.lambdaArn;
    if (lambdaArn === undefined)
      throw invalidRequest('No Lambda rotation function ARN is associated with this secret.');
    if (!this.rotators.has(lambdaArn)) {
      throw new ServiceError('AccessDeniedException', this.noRotatorMessage(lambdaArn));
    }

    const inFlight = this.running.get(secret.arn);
    if (inFlight && inFlight.versionId !== token) throw invalidRequest(PREVIOUS_NOT_COMPLETE);

    // Configure first: the rotator's entry guard reads RotationEnabled through DescribeSecret.
    const now = this.service.clock();
    const rotation: RotationRecord = secret.rotation ?? { enabled: true };
    rotation.enabled = true;
    rotation.lambdaArn = lambdaArn;
    if (rulesInput) rotation.rules = rulesInput;
    rotation.scheduledFrom = now;
    delete rotation.retryAfter;
    secret.rotation = rotation;
    this.reschedule(secret);
    secret.lastChangedDate = now;
    this.service.store.save();

    if (inFlight) {
      // Same token while its rotation runs: idempotent.
      if (this.options.mode === 'sync') await inFlight.promise;
      return { ARN: secret.arn, Name: secret.name, VersionId: token };
    }

    const current = versionWithStage(secret, AWSCURRENT);
    const pending = versionWithStage(secret, AWSPENDING);
    const existing = findVersion(secret, token);
    let resumed = false;
    if (existing) {
      if (existing.stages.includes(AWSCURRENT)) {
        return { ARN: secret.arn, Name: secret.name, VersionId: token }; // finished earlier: nothing to do
      }
      if (!existing.stages.includes(AWSPENDING)) throw tokenInUse(token, secret.arn);
      resumed = true;
    } else if (pending && pending !== current) {
      // AWSPENDING on another version: a previous rotation is unfinished (§1.8). AWS reattempts it (its
      // own token, all steps) and answers this call with an error whatever the outcome; 'sync' answers
      // once the reattempt ran.
      const reattempt = this.start(secret, pending.versionId, ALL_STEPS, { fullRotation: true });
      if (this.options.mode === 'sync') await reattempt.promise;
      throw invalidRequest(PREVIOUS_NOT_COMPLETE);
    }

    if (!rotateImmediately) {
      // AWS: "creates an AWSPENDING version … and then removes it", running only testSecret; the pending
      // value equals the current one.
      if (pending) removeStage(pending, AWSPENDING);
      const copy =
        current?.secretString !== undefined
          ? { secretString: current.secretString }
          : current?.secretBinary !== undefined
            ? { secretBinary: current.secretBinary }
            : {};
      secret.versions.push({ versionId: token, ...copy, stages: [AWSPENDING], createdDate: now });
      this.service.store.save();
      const run = this.start(secret, token, ['testSecret'], { fullRotation: false });
      if (this.options.mode === 'sync') await run.promise;
      return { ARN: secret.arn, Name: secret.name, VersionId: token };
    }

    if (!resumed) {
      if (pending) removeStage(pending, AWSPENDING); // the finished state: AWSPENDING on AWSCURRENT's version
      secret.versions.push({ versionId: token, stages: [AWSPENDING], createdDate: now });
      this.service.store.save();
    }
    const run = this.start(secret, token, ALL_STEPS, { fullRotation: true });
    if (this.options.mode === 'sync') await run.promise;
    return { ARN: secret.arn, Name: secret.name, VersionId: token };
  }

  private cancelRotateSecret(x: Input): unknown {
    const secret = this.service.liveSecret(str(x, 'SecretId')!);
    const rotation = secret.rotation;
    if (!rotation) throw invalidRequest('Rotation is not configured for this secret.');
    rotation.enabled = false;
    delete rotation.nextRotationDate;
    delete rotation.retryAfter;
    const run = this.running.get(secret.arn);
    if (run) run.cancelled = true; // the remaining steps are skipped
    secret.lastChangedDate = this.service.clock();
    this.service.store.save();
    const out: Record<string, unknown> = { ARN: secret.arn, Name: secret.name };
    const pending = versionWithStage(secret, AWSPENDING);
    if (pending && !pending.stages.includes(AWSCURRENT)) out.VersionId = pending.versionId;
    return out;
  }

  // ---- running the steps -----------------------------------------------------------------------

  private start(secret: SecretRecord, versionId: string, steps: RotationStep[], o: { fullRotation: boolean }): Run {
    const run: Run = { versionId, cancelled: false, promise: Promise.resolve(undefined) };
    this.running.set(secret.arn, run);
    this.counts.started++;
    run.promise = this.execute(secret.arn, versionId, steps, o.fullRotation, run).finally(() => {
      if (this.running.get(secret.arn) === run) this.running.delete(secret.arn);
    });
    return run;
  }

  private async execute(
    arn: string,
    versionId: string,
    steps: RotationStep[],
    fullRotation: boolean,
    run: Run,
  ): Promise<RotationFailure | undefined> {
    const rotationToken = randomUUID();
    let failure: RotationFailure | undefined;
    for (const step of steps) {
      if (run.cancelled) {
        failure = this.failure(arn, versionId, step, 'Rotation was cancelled by CancelRotateSecret.');
        break;
      }
      const lambdaArn = this.service.store.secrets.get(arn)?.rotation?.lambdaArn;
      const handler = lambdaArn === undefined ? undefined : this.rotators.get(lambdaArn);
      if (!handler) {
        failure = this.failure(
          arn,
          versionId,
          'invoke',
          lambdaArn === undefined ? 'No rotator is registered for (none).' : this.noRotatorMessage(lambdaArn),
        );
        break;
      }
      try {
        await withTimeout(
          Promise.resolve().then(() =>
            handler({ Step: step, SecretId: arn, ClientRequestToken: versionId, RotationToken: rotationToken }),
          ),
          this.options.stepTimeoutMs,
          step,
        );
        this.counts.steps[step]++;
      } catch (err) {
        failure = this.failure(arn, versionId, step, err instanceof Error ? err.message : String(err));
        break;
      }
    }
    const secret = this.service.store.secrets.get(arn);
    if (!secret) return failure; // deleted meanwhile
    const version = findVersion(secret, versionId);
    if (!failure && fullRotation && !version?.stages.includes(AWSCURRENT)) {
      failure = this.failure(
        arn,
        versionId,
        'finishSecret',
        `finishSecret returned, but AWSCURRENT is not on version ${versionId}.`,
      );
    }
    if (!fullRotation && version) removeStage(version, AWSPENDING); // RotateImmediately=false: test only
    const rotation = secret.rotation;
    const now = this.service.clock();
    if (failure) {
      this.counts.failed++;
      this.failures.set(arn, failure);
      if (rotation?.enabled) {
        const schedule = this.safeSchedule(rotation.rules);
        rotation.retryAfter = now + Math.min(schedule?.intervalMs ?? MAX_RETRY_DELAY_MS, MAX_RETRY_DELAY_MS);
      }
    } else {
      this.counts.succeeded++;
      this.failures.delete(arn);
      if (rotation && fullRotation) {
        rotation.lastRotatedDate = now;
        delete rotation.retryAfter;
        this.reschedule(secret);
      }
    }
    this.service.store.save();
    return failure;
  }

  private failure(arn: string, versionId: string, step: RotationFailure['step'], message: string): RotationFailure {
    return { secretArn: arn, versionId, step, message, at: this.service.clock() };
  }

  private safeSchedule(rules: RotationRulesInput | undefined): Schedule | undefined {
    try {
      return this.schedule(rules);
    } catch {
      return undefined; // rules stored by an older, laxer configuration (e.g. short intervals now off)
    }
  }

  /** Recomputes NextRotationDate from the last rotation, the last AWSCURRENT change, or the configuration time. */
  private reschedule(secret: SecretRecord): void {
    const rotation = secret.rotation;
    if (!rotation) return;
    const schedule = rotation.enabled ? this.safeSchedule(rotation.rules) : undefined;
    if (!schedule) {
      delete rotation.nextRotationDate;
      return;
    }
    const base = Math.max(rotation.lastRotatedDate ?? 0, secret.currentChangedDate ?? 0, rotation.scheduledFrom ?? 0);
    const next = schedule.next(base);
    if (Number.isFinite(next)) rotation.nextRotationDate = next;
    else delete rotation.nextRotationDate;
  }

  // ---- scheduler ------------------------------------------------------------------------------

  startScheduler(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.runDue().catch(() => {}); // failures are recorded per secret
    }, intervalMs);
    this.timer.unref();
  }

  stopScheduler(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Starts every rotation due at clock() (window start reached, not running, not backing off). */
  runDue(): Promise<DueRotationResult[]> {
    if (this.ticking) return this.ticking;
    this.ticking = this.runDueOnce().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async runDueOnce(): Promise<DueRotationResult[]> {
    const now = this.service.clock();
    if (this.service.store.purgeExpired(now)) this.service.store.save();
    const started: Array<{ arn: string; run: Run }> = [];
    for (const secret of this.service.store.secrets.values()) {
      const r = secret.rotation;
      if (!r?.enabled || r.nextRotationDate === undefined || secret.deletedDate !== undefined) continue;
      if (r.nextRotationDate > now || (r.retryAfter !== undefined && r.retryAfter > now)) continue;
      if (this.running.has(secret.arn)) continue;
      const current = versionWithStage(secret, AWSCURRENT);
      const pending = versionWithStage(secret, AWSPENDING);
      let versionId: string;
      if (pending && pending !== current) {
        versionId = pending.versionId; // resume the unfinished rotation
      } else {
        if (pending) removeStage(pending, AWSPENDING);
        versionId = randomUUID();
        secret.versions.push({ versionId, stages: [AWSPENDING], createdDate: now });
      }
      this.service.store.save();
      started.push({ arn: secret.arn, run: this.start(secret, versionId, ALL_STEPS, { fullRotation: true }) });
    }
    const results: DueRotationResult[] = [];
    for (const { arn, run } of started) {
      const error = await run.promise;
      results.push(
        error
          ? { secretArn: arn, versionId: run.versionId, ok: false, error }
          : { secretArn: arn, versionId: run.versionId, ok: true },
      );
    }
    return results;
  }
}

function readRules(raw: unknown): RotationRulesInput | undefined {
  if (raw === undefined || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const out: RotationRulesInput = {};
  const days = r.AutomaticallyAfterDays;
  if (days !== undefined && days !== null) {
    if (typeof days !== 'number' || !Number.isInteger(days)) {
      throw new ServiceError('SerializationException', 'RotationRules.AutomaticallyAfterDays must be an integer.');
    }
    out.AutomaticallyAfterDays = days;
  }
  for (const key of ['Duration', 'ScheduleExpression'] as const) {
    const v = r[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string')
      throw new ServiceError('SerializationException', `RotationRules.${key} must be a string.`);
    out[key] = v;
  }
  return out;
}

function withTimeout<T>(promise: Promise<T>, ms: number, step: RotationStep): Promise<T> {
  if (ms <= 0) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${step} did not finish within ${ms} ms.`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
