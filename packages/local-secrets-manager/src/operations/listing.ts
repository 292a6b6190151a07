import type { OperationContext, OperationRegistry } from '../context.js';
import { summary, versionsToStages } from '../describe.js';
import { validation } from '../errors.js';
import { matchesFilter, readFilters } from '../filters.js';
import { paginate } from '../paginate.js';
import type { SecretRecord } from '../store.js';
import { bool, type Input, int, str } from '../validate.js';

const SORT_KEYS: Record<string, (s: SecretRecord) => number | string> = {
  'created-date': (s) => s.createdDate,
  'last-changed-date': (s) => s.lastChangedDate,
  'last-accessed-date': (s) => s.lastAccessedDate ?? 0,
  name: (s) => s.name,
};

/** ListSecrets. */
export function registerListingOperations(ops: OperationRegistry, ctx: OperationContext): void {
  ops.define(
    'ListSecrets',
    {
      IncludePlannedDeletion: ['boolean', false],
      MaxResults: ['integer', false],
      NextToken: ['string', false],
      Filters: ['list', false],
      SortOrder: ['string', false],
      SortBy: ['string', false],
    },
    (x) => listSecrets(ctx, x),
  );
}

function listSecrets(ctx: OperationContext, x: Input): unknown {
  const includePlanned = bool(x, 'IncludePlannedDeletion') ?? false;
  const filters = readFilters(x);
  const sortOrder = str(x, 'SortOrder') ?? 'asc';
  if (sortOrder !== 'asc' && sortOrder !== 'desc') throw validation("SortOrder must be 'asc' or 'desc'.");
  const key = SORT_KEYS[str(x, 'SortBy') ?? 'created-date'];
  if (!key) throw validation('SortBy must be one of created-date, last-accessed-date, last-changed-date, name.');
  const secrets = [...ctx.store.secrets.values()]
    .filter((s) => includePlanned || s.deletedDate === undefined)
    .filter((s) => filters.every((f) => matchesFilter(s, f)))
    .sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      const c = ka < kb ? -1 : ka > kb ? 1 : 0;
      return sortOrder === 'asc' ? c : -c;
    })
    .map((s) => {
      const item = { ...summary(s), ...ctx.replicationFields(s) };
      const stages = versionsToStages(s);
      if (stages) item.SecretVersionsToStages = stages;
      return item;
    });
  const page = paginate(secrets, int(x, 'MaxResults'), str(x, 'NextToken'));
  const out: Record<string, unknown> = { SecretList: page.items };
  if (page.nextToken) out.NextToken = page.nextToken;
  return out;
}
