import type { OperationContext, OperationRegistry } from '../context.js';
import { registerListingOperations } from './listing.js';
import { registerPasswordOperations } from './passwords.js';
import { registerPolicyOperations } from './policies.js';
import { registerSecretOperations } from './secrets.js';
import { registerTagOperations } from './tags.js';
import { registerValueOperations } from './values.js';
import { registerVersionOperations } from './versions.js';

export { type RotationControl, registerRotationOperations } from './rotation.js';

/** Every API area except rotation, which needs the rotation engine (rotation.ts registers it). */
export function registerOperations(ops: OperationRegistry, ctx: OperationContext): void {
  registerSecretOperations(ops, ctx);
  registerValueOperations(ops, ctx);
  registerVersionOperations(ops, ctx);
  registerListingOperations(ops, ctx);
  registerTagOperations(ops, ctx);
  registerPolicyOperations(ops, ctx);
  registerPasswordOperations(ops);
}
