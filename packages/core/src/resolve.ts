/** Adapters accept a CredentialSource or its options; this tells them apart. */
import { createCredentialSource, SOURCE_BRAND } from './source.js';
import type { CredentialSource, CredentialSourceOptions } from './types.js';

/** True for a CredentialSource (ours, another copy of core, or any object with get/refresh/withAuthRetry). */
export function isCredentialSource(x: unknown): x is CredentialSource {
  if (x === null || typeof x !== 'object') return false;
  const s = x as Record<PropertyKey, unknown>;
  if (s[SOURCE_BRAND] === true) return true;
  return typeof s.get === 'function' && typeof s.refresh === 'function' && typeof s.withAuthRetry === 'function';
}

/** Returns `x` if it is a CredentialSource, else `createCredentialSource(x)`. Adapters accept either. */
export function resolveCredentialSource(sourceOrOptions: CredentialSource | CredentialSourceOptions): CredentialSource {
  return isCredentialSource(sourceOrOptions) ? sourceOrOptions : createCredentialSource(sourceOrOptions);
}
