import { ttlExpiry } from '../entry.js';
import type { ResolvedOptions } from '../options.js';
import { AgentBackend } from './agent.js';
import { ClientBackend } from './client.js';
import { FileBackend } from './file.js';
import { RegionsBackend } from './regions.js';
import { SdkClient } from './sdk-client.js';
import type { BackendContext, SourceBackend } from './types.js';

/**
 * The backend `createCredentialSource` options select: a mounted file, the user's client, the agent, several
 * regions, or an SDK client core owns.
 */
export function createBackend(o: ResolvedOptions, ctx: BackendContext): SourceBackend {
  const expiry = ttlExpiry(o.ttlMs, o.maxStaleMs);
  if (o.file) return new FileBackend(ctx, o.file, expiry, o.secretKeys);
  if (o.client) return new ClientBackend(ctx, o.client, { expiry });
  if (o.agent) return new AgentBackend(ctx, o.agent, expiry);
  if (o.regions) return new RegionsBackend(o, ctx, expiry);
  const client = new SdkClient(o.clientConfig);
  return new ClientBackend(ctx, client, { expiry, owned: client });
}
