/**
 * The mark an RDS IAM auth source carries, so adapters (through the kit) can configure TLS and the
 * MySQL clear-text plugin without loading the signer. `Symbol.for`: works across copies of core.
 */
export const IAM_SOURCE = Symbol.for('@dbcreds/core.IamAuthSource');

/** What an adapter needs to know about an IAM source (never the token). */
export interface IamSourceInfo {
  /** The endpoint the tokens are signed for: connections must use exactly this host and port. */
  readonly hostname: string;
  readonly port: number;
  readonly username: string;
}

/** The IAM info of `source`, or undefined when it is not an RDS IAM auth source. */
export function iamSourceInfo(source: unknown): IamSourceInfo | undefined {
  if (source === null || typeof source !== 'object') return undefined;
  const info = (source as { [IAM_SOURCE]?: unknown })[IAM_SOURCE];
  return info !== null && typeof info === 'object' ? (info as IamSourceInfo) : undefined;
}
