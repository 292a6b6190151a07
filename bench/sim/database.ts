/**
 * The database model: users and their current passwords. A login with any other password is refused
 * with PostgreSQL's 28P01, the code core classifies as an auth failure. setSecret changes a password at
 * once: the old one is rejected from that instant.
 */
import type { DbCredentials } from '@dbcreds/core';

export class DatabaseModel {
  readonly #passwords = new Map<string, string>();
  logins = 0;
  refused = 0;

  setPassword(user: string, password: string): void {
    this.#passwords.set(user, password);
  }

  login(creds: DbCredentials): Promise<void> {
    this.logins++;
    if (this.#passwords.get(creds.username) === creds.password) return Promise.resolve();
    this.refused++;
    const err = Object.assign(new Error(`password authentication failed for user "${creds.username}"`), {
      code: '28P01',
      severity: 'FATAL',
    });
    return Promise.reject(err);
  }
}
