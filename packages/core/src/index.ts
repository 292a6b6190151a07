// `@dbcreds/core`: what applications call. The adapter plumbing (applying credentials to a driver
// config, adopting a source, option checks, engine families) is on the `@dbcreds/core/adapter` subpath.
export {
  changedSecretIds,
  invalidateOnSecretEvent,
  SECRET_CHANGE_EVENT_NAMES,
  SECRET_CHANGE_EVENT_PATTERN,
} from './change-events.js';
export { authErrorCode, isAuthError } from './classify.js';
export { parseDbSecret } from './credentials.js';
export {
  ConfigurationError,
  DbCredsError,
  SecretFetchError,
  SecretFormatError,
  SecretNotFoundError,
  SourceClosedError,
} from './errors.js';
export { DEFAULTS } from './options.js';
export { getRefreshError, withAuthRetry } from './auth-retry.js';
export { isCredentialSource, resolveCredentialSource } from './resolve.js';
export { createCredentialSource } from './source.js';
export type * from './types.js';
