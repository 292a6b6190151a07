import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CLI_USAGE,
  type CliIo,
  type CliStarted,
  type LocalSecretsManager,
  runLocalSecretsManagerCli,
} from '@dbcreds/local-secrets-manager';
import { createRotationHandler, type RotationStrategy } from '@dbcreds/rotation';

/** The rotation functions `dbcreds local-sm` registers, in the order they are printed. */
export const LOCAL_ROTATION_STRATEGIES: readonly RotationStrategy[] = ['single-user', 'alternating-users'];

/** `arn:aws:lambda:<region>:<account>:function:dbcreds-rotation-<strategy>`: the RotationLambdaARN to use. */
export function localRotationArn(region: string, accountId: string, strategy: RotationStrategy): string {
  return `arn:aws:lambda:${region}:${accountId}:function:dbcreds-rotation-${strategy}`;
}

export const LOCAL_SM_HELP = `${CLI_USAGE.slice(0, CLI_USAGE.indexOf('RotateSecret needs')).replaceAll('dbcreds-local-sm', 'dbcreds local-sm')}Rotation: the @dbcreds/rotation functions run inside this process, registered under
  arn:aws:lambda:<region>:<account-id>:function:dbcreds-rotation-single-user
  arn:aws:lambda:<region>:<account-id>:function:dbcreds-rotation-alternating-users
(printed after the endpoint). Enable rotation with RotateSecret and RotationLambdaARN <arn> (e.g.
aws secretsmanager rotate-secret --rotation-lambda-arn <arn>), later 'dbcreds rotate --secret-id <id>'. They connect to the database named in the secret
(RDS JSON shape: engine, host, port, username, password, dbname; masterarn for alternating-users).
Rotation failures are printed on stderr.`;

/**
 * Registers one `@dbcreds/rotation` handler per strategy on `sm`, whose Secrets Manager client points
 * back at `sm.endpoint` (dummy credentials: signatures are not verified). Step failures and finished
 * rotations are reported through `log` (messages from @dbcreds/rotation never contain passwords).
 */
export function registerLocalRotators(
  sm: LocalSecretsManager,
  log: { out: (line: string) => void; err: (line: string) => void },
): CliStarted {
  const client = new SecretsManagerClient({
    region: sm.region,
    endpoint: sm.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const lines = ['rotation functions (RotationLambdaARN):'];
  for (const strategy of LOCAL_ROTATION_STRATEGIES) {
    const arn = localRotationArn(sm.region, sm.accountId, strategy);
    const handler = createRotationHandler({ strategy, client });
    sm.registerRotator(arn, async (event) => {
      try {
        await handler(event);
      } catch (err) {
        log.err(`rotation of ${event.SecretId} (${strategy}) failed at ${event.Step}: ${messageOf(err)}`);
        throw err;
      }
      if (event.Step === 'finishSecret') {
        log.out(`rotated ${event.SecretId} (${strategy}): version ${event.ClientRequestToken} is AWSCURRENT`);
      }
    });
    lines.push(`  ${strategy.padEnd(18)} ${arn}`);
  }
  return { lines, close: () => client.destroy() };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * `dbcreds local-sm`: the local Secrets Manager's command (same flags), plus the `@dbcreds/rotation`
 * functions registered in-process. Resolves with the exit code (0 stopped, 1 cannot start, 2 bad flags).
 */
export function runLocalSm(argv: readonly string[], io: CliIo): Promise<number> {
  return runLocalSecretsManagerCli(argv, io, {
    name: 'dbcreds local-sm',
    usage: LOCAL_SM_HELP,
    onStarted: (sm) => registerLocalRotators(sm, { out: io.stdout, err: io.stderr }),
  });
}
