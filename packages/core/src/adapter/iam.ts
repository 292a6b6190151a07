import type { EngineFamily } from '../credentials.js';
import { ConfigurationError } from '../errors.js';
import { iamSourceInfo } from '../iam-marker.js';

/** Where to get the CA bundle that verifies RDS / Aurora server certificates (all regions). */
export const RDS_CA_BUNDLE_URL = 'https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem';

const TLS_HINT =
  `ssl: { ca: readFileSync('global-bundle.pem', 'utf8') } (the RDS CA bundle, ${RDS_CA_BUNDLE_URL}); ` +
  'RDS refuses IAM logins without TLS';

/**
 * What a driver config needs for an RDS IAM auth source (`createIamAuthSource`); `{}` for any other
 * source. Both families: TLS (`ssl` set, not false) and the host/port the tokens are signed for
 * (when the config names them). MySQL: the token goes in clear text inside TLS, so the
 * `mysql_clear_password` plugin is enabled (`{ enableCleartextPlugin: true }` is returned unless the
 * config already enables it or brings its own `authPlugins.mysql_clear_password`). Merge the result
 * into the driver config; throws `ConfigurationError('@dbcreds/<pkg>: …')` saying exactly what to set.
 */
export function iamDriverRequirements(
  pkg: string,
  source: unknown,
  family: EngineFamily,
  config: Record<string, unknown> | undefined,
  prefix = '',
): Record<string, unknown> {
  const iam = iamSourceInfo(source);
  if (iam === undefined) return {};
  const c = config ?? {};
  const fail = (keys: string[], what: string): never => {
    throw new ConfigurationError(`@dbcreds/${pkg}: an RDS IAM auth source needs ${what}`, {
      keys: keys.map((k) => prefix + k),
    });
  };
  if (c.ssl === undefined || c.ssl === null || c.ssl === false) fail(['ssl'], `TLS: set ${prefix}${TLS_HINT}`);
  if (c.host !== undefined && c.host !== iam.hostname) {
    fail(['host'], `${prefix}host to be the endpoint the tokens are signed for (${iam.hostname}), or unset`);
  }
  if (c.port !== undefined && Number(c.port) !== iam.port) {
    fail(['port'], `${prefix}port to be the port the tokens are signed for (${iam.port}), or unset`);
  }
  if (family === 'postgres') return {};
  const plugins = c.authPlugins as Record<string, unknown> | undefined;
  if (c.enableCleartextPlugin === true || typeof plugins?.mysql_clear_password === 'function') return {};
  if (c.enableCleartextPlugin === false) {
    fail(
      ['enableCleartextPlugin'],
      `the mysql_clear_password plugin: set ${prefix}enableCleartextPlugin: true or leave it unset`,
    );
  }
  return { enableCleartextPlugin: true };
}
