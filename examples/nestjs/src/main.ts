import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { type LocalStack, startLocalStack } from 'dbcreds/testing';
import { AppModule } from './app.module';

/**
 * - Against AWS: DBCREDS_SECRET_ID (+ AWS_REGION and the usual credential chain), PORT (default 3000).
 * - `--local`: first starts the local stack (embedded PostgreSQL, or MariaDB with DBCREDS_ENGINE=mysql;
 *   local Secrets Manager; secret; rotation functions) and schedules single-user rotation every
 *   DBCREDS_ROTATE_EVERY seconds (default 3600: use `dbcreds rotate` to rotate now).
 */
async function main(): Promise<void> {
  let stack: LocalStack | undefined;
  if (process.argv.includes('--local')) {
    const engine = process.env.DBCREDS_ENGINE === 'mysql' ? 'mysql' : 'postgres';
    stack = await startLocalStack({ engine, name: 'dbcreds_example' });
    Object.assign(process.env, stack.env);
    const every = Number(process.env.DBCREDS_ROTATE_EVERY ?? 3600);
    await stack.schedule('single-user', every);
    console.log(`secret ${stack.secretId} on ${stack.endpoint}; single-user rotation every ${every}s. Rotate now:`);
    console.log(`  npm run dbcreds -- rotate --secret-id ${stack.secretId} --endpoint ${stack.endpoint}`);
  }
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: ['error', 'warn'] });
  // JSON bodies with or without a content type (curl -d sends form encoding, fetch text/plain).
  app.useBodyParser('json', { type: () => true });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      // app.close() runs the shutdown hooks: TypeORM destroys its DataSource, then the source closes.
      app
        .close()
        .then(() => stack?.close())
        .then(
          () => process.exit(0),
          () => process.exit(1),
        );
    });
  }
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  console.log(`@dbcreds/typeorm loaded from ${require.resolve('@dbcreds/typeorm')}`);
  console.log(`nestjs notes service on ${url} (GET /health, GET /notes, POST /notes)`);
  console.log(`  curl -s ${url}/health; curl -s -XPOST ${url}/notes -d '{"author":"me","body":"hi"}'`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
