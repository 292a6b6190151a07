export {
  type DemoArgs,
  type EngineChoice,
  type EngineName,
  type OrmName,
  parseDemoArgs,
  parseRotateArgs,
  type RotateArgs,
  type StrategyChoice,
  UsageError,
} from './args.js';
export { type CliIo, runCli } from './cli.js';
export { DEMO_EXIT, type DemoIo, demoEngines, probeMysql, rotationPlan, runDemo } from './demo/run.js';
export { runRotate } from './rotate.js';
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
export { type RunExampleOptions, runExample } from './example/run.js';
export { type Note, type NotesServer, type NotesServerOptions, type NotesStore, serveNotes } from './example/serve.js';
export { rotationSmoke, type SmokeReport } from './example/smoke.js';
