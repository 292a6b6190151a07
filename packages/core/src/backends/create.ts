import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ttlExpiry } from '../entry.js';
import type { ResolvedOptions } from '../options.js';
import { AgentBackend } from './agent.js';
import { ClientBackend } from './client.js';
import type { BackendContext, SourceBackend } from './types.js';

/** The backend `createCredentialSource` options select: the user's client, the agent, or an SDK client core owns. */
export function createBackend(o: ResolvedOptions, ctx: BackendContext): SourceBackend {
  const expiry = ttlExpiry(o.ttlMs, o.maxStaleMs);
  if (o.client) return new ClientBackend(ctx, o.client, { expiry });
  if (o.agent) return new AgentBackend(ctx, o.agent, expiry);
  // Core owns retries (one policy for every client); the SDK's own retries would multiply them.
  const client = new SecretsManagerClient({ maxAttempts: 1, ...o.clientConfig });
  return new ClientBackend(ctx, client, { expiry, owned: client });
}
