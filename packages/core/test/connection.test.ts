import { inspect } from 'node:util';
import { applyCredentials, Credentials, endpointFieldsFromSecret } from '@dbcreds/core/adapter';
import { describe, expect, it } from 'vitest';

const creds = new Credentials({
  username: 'app',
  password: 's3cr3t-pw',
  host: 'db.example',
  port: 5433,
  dbname: 'appdb',
  versionId: 'v1',
  stage: 'AWSCURRENT',
});

describe('applyCredentials / endpointFieldsFromSecret', () => {
  it('writes user and a hidden password; fills only the endpoint fields the user left unset', () => {
    const target: Record<string, unknown> = { host: 'explicit.example', max: 10 };
    applyCredentials(target, creds, endpointFieldsFromSecret(target));
    expect(target).toEqual({ host: 'explicit.example', max: 10, user: 'app', port: 5433, database: 'appdb' });
    expect(target.password).toBe('s3cr3t-pw');
    expect(JSON.stringify(target)).not.toContain('s3cr3t-pw');
    expect(inspect(target)).not.toContain('s3cr3t-pw');
    expect(Object.keys(target)).not.toContain('password');
  });

  it('overwrites the previous user/password on the next connection (rotation, alternating users)', () => {
    const target: Record<string, unknown> = {};
    const fill = endpointFieldsFromSecret(target);
    applyCredentials(target, creds, fill);
    const next = new Credentials({
      username: 'app_clone',
      password: 'next-pw',
      host: 'db.example',
      versionId: 'v2',
      stage: 'AWSPENDING',
    });
    applyCredentials(target, next, fill);
    expect(target.user).toBe('app_clone');
    expect(target.password).toBe('next-pw');
    expect(target.port).toBe(5433); // the new version has no port: the previous value stays
  });
});
