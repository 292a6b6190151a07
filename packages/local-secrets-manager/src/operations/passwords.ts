import type { OperationRegistry } from '../context.js';
import { type RandomPasswordOptions, randomPassword } from '../password.js';

const b = 'boolean' as const;

/** GetRandomPassword. */
export function registerPasswordOperations(ops: OperationRegistry): void {
  ops.define(
    'GetRandomPassword',
    {
      PasswordLength: ['integer', false],
      ExcludeCharacters: ['string', false],
      ExcludeNumbers: [b, false],
      ExcludePunctuation: [b, false],
      ExcludeUppercase: [b, false],
      ExcludeLowercase: [b, false],
      IncludeSpace: [b, false],
      RequireEachIncludedType: [b, false],
    },
    (x) => ({ RandomPassword: randomPassword(x as RandomPasswordOptions) }),
  );
}
