// `dbcreds`: the CLI's programmatic entry (what `dbcreds demo|rotate|local-sm` run). The local stack
// (embedded PostgreSQL, admin side channel, example server) is on the `dbcreds/testing` subpath.
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
export {
  type ExecArgs,
  type ExecFormat,
  type ExecIo,
  parseExecArgs,
  parseUrlArgs,
  runExec,
  runUrl,
  type SecretArgs,
  type UrlArgs,
} from './exec.js';
export { runRotate } from './rotate.js';
export {
  type Connection,
  connectionEnv,
  connectionUrl,
  type EngineFamily,
  pgpassLine,
  resolveConnection,
} from './url.js';
