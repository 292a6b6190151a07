export type { LocalAgent, LocalAgentOptions } from './agent.js';
export {
  CLI_USAGE,
  type CliHooks,
  type CliIo,
  type CliStarted,
  parseCliArgs,
  runLocalSecretsManagerCli,
} from './cli.js';
export { ServiceError } from './errors.js';
export { randomPassword } from './password.js';
export { parseRotationRules, type Schedule, type ScheduleOptions } from './schedule.js';
export { LAST_ROTATION_ERROR_TARGET, startLocalSecretsManager } from './server.js';
export type { RotationRulesInput } from './store.js';
export type {
  CreatedSecret,
  DueRotationResult,
  LocalSecretsManager,
  LocalSecretsManagerOptions,
  ManagedPasswordChange,
  ManagedRotationOptions,
  RdsManagedSecretOptions,
  RotationEvent,
  RotationFailure,
  RotationHandler,
  RotationMode,
  RotationStats,
  RotationStep,
} from './types.js';
