// `@dbcreds/core/adapter`: the kit every adapter is a short mapping onto. Not for application code:
// apps use `@dbcreds/core` (createCredentialSource, errors, isAuthError) and the adapter packages.
export { isLoginRefused } from '../classify.js';
export {
  applyCredentials,
  endpointFieldsFromSecret,
  endpointFromSecret,
  hideConnectionPassword,
  hidePassword,
  type SecretEndpointFields,
} from '../connection.js';
export {
  Credentials,
  ENGINE_NAMES,
  type EngineFamily,
  engineFamily,
  normalizeEngine,
  parsePort,
  sameVersion,
} from '../credentials.js';
export { isRetryableFetchError } from '../fetch.js';
export { iamSourceInfo, type IamSourceInfo } from '../iam-marker.js';
export {
  type AdoptedSource,
  adoptReplicaSources,
  adoptSource,
  closeWith,
  type ReplicaSources,
  shareReplicaSources,
} from './adopt.js';
export { iamDriverRequirements, RDS_CA_BUNDLE_URL } from './iam.js';
export { checkOptions, forbidKeys, type OptionRules, presentKeys } from './options.js';
export { loadPeer, type PeerRequire } from './peer.js';
