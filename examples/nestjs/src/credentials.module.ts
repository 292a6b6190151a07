import { type CredentialSource, createCredentialSource } from '@dbcreds/core';
import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';

/** Injection token of the app's one CredentialSource (shared by the DataSource and GET /health). */
export const CREDENTIAL_SOURCE = 'DBCREDS_CREDENTIAL_SOURCE';

/** Region, endpoint and AWS credentials come from the standard AWS environment / config chain. */
@Global()
@Module({
  providers: [
    {
      provide: CREDENTIAL_SOURCE,
      useFactory: (): CredentialSource => {
        const secretId = process.env.DBCREDS_SECRET_ID;
        if (!secretId) throw new Error('set DBCREDS_SECRET_ID (and AWS_REGION) or pass --local');
        return createCredentialSource({ secretId });
      },
    },
  ],
  exports: [CREDENTIAL_SOURCE],
})
export class CredentialsModule implements OnApplicationShutdown {
  constructor(@Inject(CREDENTIAL_SOURCE) private readonly source: CredentialSource) {}

  /** After TypeORM's DataSource is destroyed: the source was passed in, so the pool does not close it. */
  onApplicationShutdown(): void {
    this.source.close();
  }
}
