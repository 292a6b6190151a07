import type { CredentialSource } from '@dbcreds/core';
import { withRotatingCredentials } from '@dbcreds/typeorm';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CREDENTIAL_SOURCE, CredentialsModule } from './credentials.module';
import { HealthController, NotesController } from './notes.controller';
import { Note } from './note.entity';

@Module({
  imports: [
    CredentialsModule,
    // The whole dbcreds setup: TypeORM's options wrapped by withRotatingCredentials. Every new pooled
    // connection takes user and password from the secret (re-read once after an auth failure).
    TypeOrmModule.forRootAsync({
      inject: [CREDENTIAL_SOURCE],
      useFactory: async (source: CredentialSource) => {
        // host, port and database come from the secret unless given here; `type` follows its engine
        const { engine = 'postgres' } = await source.get();
        const type = engine.includes('postgres') ? 'postgres' : 'mysql';
        return withRotatingCredentials({ type, entities: [Note], poolSize: 10 }, source);
      },
    }),
    TypeOrmModule.forFeature([Note]),
  ],
  controllers: [NotesController, HealthController],
})
export class AppModule {}
