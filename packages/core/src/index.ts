export { authErrorCode, isAuthError } from './classify.js';
export { applyCredentials, endpointFieldsFromSecret, type SecretEndpointFields } from './connection.js';
export { Credentials, engineFamily, parseDbSecret, sameVersion } from './credentials.js';
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
export { isRetryableFetchError } from './fetch.js';
export { isCredentialSource, resolveCredentialSource } from './resolve.js';
export { createCredentialSource } from './source.js';
export type * from './types.js';
