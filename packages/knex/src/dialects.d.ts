// knex ships no exports map and no typings for its dialect modules; these deep imports resolve
// through the same `knex` copy the application imports (knex is a peer dependency).
declare module 'knex/lib/dialects/postgres/index.js' {
  import type { Knex } from 'knex';
  const Client_PG: typeof Knex.Client;
  export default Client_PG;
}
declare module 'knex/lib/dialects/mysql2/index.js' {
  import type { Knex } from 'knex';
  const Client_MySQL2: typeof Knex.Client;
  export default Client_MySQL2;
}
