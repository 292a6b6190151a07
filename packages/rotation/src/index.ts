export {
  DatabaseLoginError,
  DatabaseStatementError,
  RotationConfigurationError,
  RotationError,
  RotationStateError,
  ScrubbedDriverError,
  SecretsManagerCallError,
  SecretValueError,
} from './errors.js';
export { createRotationHandler, type RotationHandler } from './handler.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_EXCLUDE_CHARACTERS,
  DEFAULT_PASSWORD_LENGTH,
  DEFAULT_QUERY_TIMEOUT_MS,
} from './options.js';
export { alternateUsername } from './secret.js';
export type {
  DbSecretValue,
  RotationEngine,
  RotationEvent,
  RotationHandlerOptions,
  RotationLogger,
  RotationStep,
  RotationStrategy,
} from './types.js';
