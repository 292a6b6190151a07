// `dbcreds/testing`: the local stack behind `dbcreds demo`, for test beds, benchmarks and examples
// (embedded scram PostgreSQL, admin side channel, local Secrets Manager + rotation, example server), and the
// catalog of libraries: how to build a client of each library under load, for the demo, bench and conformance.
export { type RunExampleOptions, runExample } from './example/run.js';
export { type Note, type NotesServer, type NotesServerOptions, type NotesStore, serveNotes } from './example/serve.js';
export { rotationSmoke, type SmokeReport } from './example/smoke.js';
export * from './libraries/index.js';
export { createDbAdmin } from './stack/admin.js';
export {
  type LocalStack,
  type LocalStackOptions,
  mysqlServerFromEnv,
  RotationFailedError,
  startLocalStack,
} from './stack/local-stack.js';
export {
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
  freePort,
  startEmbeddedPostgres,
} from './stack/postgres.js';
export type { CreateLoginOptions, DbAdmin, Login, ServerInfo, StackEngine } from './stack/types.js';
