/**
 * `npm run bench -- overhead [flags]`: what dbcreds costs on the query path. For each driver pool
 * and ORM, the plain library (fixed user/password) and the same library through dbcreds, same pool
 * settings, on a private scram PostgreSQL and the MariaDB on :3306. 16 concurrent `SELECT 1`,
 * interleaved rounds (ABAB…, alternating which side goes first). `--help` lists the flags.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type LocalSecretsManager, startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { putDbSecret } from '@dbcreds/testbed';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { exitOnSignals, int, parseFlags, writeReport } from './cli.js';
import type { LibraryClient } from 'dbcreds/testing';
import { ALL_CASES, type CaseContext, type Mode, type OverheadCase } from './overhead-cases.js';
import {
  createDrillAdmin,
  type DrillEngine,
  type DrillServer,
  rdsSecretValue,
  type StartedServer,
  startPostgres,
  useMariaDb,
} from './drill-servers.js';

export interface OverheadOptions {
  modes: Mode[];
  /** Measured rounds per side. */
  rounds: number;
  /** Unmeasured rounds per side first (JIT, pool fill). */
  warmup: number;
  /** Concurrent queries. */
  concurrency: number;
  /** steady: queries per worker per round. */
  queries: number;
  /** churn: bursts of `concurrency` queries per round; the pool is emptied between bursts. */
  bursts: number;
}

const DEFAULTS: OverheadOptions = {
  modes: ['steady', 'churn'],
  rounds: 9,
  warmup: 2,
  concurrency: 16,
  queries: 100,
  bursts: 4,
};
const LONG: Partial<OverheadOptions> = { rounds: 25, queries: 300, bursts: 8 };
/**
 * churn: idle connections close after CHURN_IDLE_MS and the bench waits CHURN_GAP_MS between bursts,
 * so each query of a burst logs in anew. mysql2 reaps idle connections only once a second, so on
 * MariaDB the bench also ends the user's idle sessions before that wait (as a failover would).
 */
const CHURN_IDLE_MS = 20;
const CHURN_GAP_MS = 100;
const STEADY_IDLE_MS = 60_000;

const HELP = `Usage: npm run bench -- overhead [flags]

  --cases <list>     ids or prefixes: ${[...new Set(ALL_CASES.map((c) => c.id.split(' ')[0]!.toLowerCase()))].join(',')} (default all; e.g. pg,mysql2)
  --engines <list>   postgres,mysql (default both)
  --modes <list>     steady,churn (default both)
  --rounds <n>       measured rounds per side (default ${DEFAULTS.rounds})
  --warmup <n>       unmeasured rounds per side first (default ${DEFAULTS.warmup})
  --queries <n>      steady: queries per worker per round (default ${DEFAULTS.queries})
  --bursts <n>       churn: bursts of 16 new logins per round (default ${DEFAULTS.bursts})
  --long             preset: --rounds ${LONG.rounds} --queries ${LONG.queries} --bursts ${LONG.bursts}
  --out <file>       JSON output (default bench/results/overhead-<date>.json)
  --no-write         print only
  --help`;

export interface SideStats {
  /** Queries per second, one per measured round. */
  samples: number[];
  min: number;
  median: number;
  max: number;
  /** This process's CPU time (user + system) per query, µs, median over the rounds. */
  cpuUsPerQuery: number;
  /** The same, one per measured round (paired with the other side's round of the same index). */
  cpuSamples: number[];
  /** New logins per round seen by the server (PostgreSQL: its session counter; MariaDB: the global one, so others' too). */
  loginsPerRound: number;
}

export interface PairResult {
  case: string;
  engine: DrillEngine;
  mode: Mode;
  skipped?: string;
  raw?: SideStats;
  dbcreds?: SideStats;
  /** raw median q/s ÷ dbcreds median q/s: 1.00 = no overhead, 1.05 = dbcreds 5 % slower. */
  ratio?: number;
  /** Median over rounds of (raw q/s ÷ dbcreds q/s) of the same round pair: cancels slow drifts of the machine's load. */
  pairedRatio?: number;
  /** dbcreds CPU µs per query ÷ raw's: the client-side cost, least sensitive to other processes. */
  cpuRatio?: number;
  /** Median over rounds of (dbcreds CPU ÷ raw CPU) of the same round pair. */
  pairedCpuRatio?: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface RoundResult {
  qps: number;
  cpuUsPerQuery: number;
  logins: number;
}

export function stats(rounds: RoundResult[]): SideStats {
  const samples = rounds.map((r) => r.qps);
  return {
    samples,
    min: Math.min(...samples),
    median: median(samples),
    max: Math.max(...samples),
    cpuUsPerQuery: median(rounds.map((r) => r.cpuUsPerQuery)),
    cpuSamples: rounds.map((r) => r.cpuUsPerQuery),
    loginsPerRound: median(rounds.map((r) => r.logins)),
  };
}

const cpuUs = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return d.user + d.system;
};

/** One round. steady: `concurrency` workers × `queries`; churn: bursts after an emptied pool (only bursts timed). */
async function round(
  side: LibraryClient,
  mode: Mode,
  o: OverheadOptions,
  reap: () => Promise<void>,
): Promise<Omit<RoundResult, 'logins'>> {
  if (mode === 'steady') {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        for (let i = 0; i < o.queries; i++) await side.query();
      }),
    );
    const n = o.concurrency * o.queries;
    return { qps: (n * 1000) / (performance.now() - t0), cpuUsPerQuery: cpuUs(cpu0) / n };
  }
  let busy = 0;
  let cpu = 0;
  for (let b = 0; b < o.bursts; b++) {
    await reap();
    await sleep(CHURN_GAP_MS); // every idle connection closes: each query of the burst logs in anew
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: o.concurrency }, () => side.query()));
    busy += performance.now() - t0;
    cpu += cpuUs(cpu0);
  }
  const n = o.concurrency * o.bursts;
  return { qps: (n * 1000) / busy, cpuUsPerQuery: cpu / n };
}

/** Logins the server has seen so far (see PairResult.loginsPerRound). */
function loginCounter(server: DrillServer): { read(): Promise<number>; close(): Promise<void> } {
  const admin = { host: server.host, port: server.port, user: server.adminUser, password: server.adminPassword };
  if (server.engine === 'postgres') {
    const client = new pg.Client({ ...admin, database: server.database });
    const ready = client.connect();
    return {
      async read() {
        await ready;
        await client.query('SELECT pg_stat_clear_snapshot()');
        const r = await client.query('SELECT sessions FROM pg_stat_database WHERE datname = $1', [server.database]);
        return Number(r.rows[0]?.sessions ?? 0);
      },
      close: () => client.end(),
    };
  }
  const conn = mysql.createConnection(admin);
  return {
    async read() {
      const [rows] = await (await conn).query("SHOW GLOBAL STATUS LIKE 'Connections'");
      return Number((rows as Array<{ Value: string }>)[0]?.Value ?? 0);
    },
    close: async () => (await conn).end(),
  };
}

async function measurePair(
  c: OverheadCase,
  ctx: CaseContext,
  o: OverheadOptions,
  server: DrillServer,
  reap: () => Promise<void>,
): Promise<PairResult> {
  const result: PairResult = { case: c.id, engine: c.engine, mode: ctx.mode };
  const reason = c.skip?.[ctx.mode];
  if (reason) return { ...result, skipped: reason };
  const counter = loginCounter(server);
  const sides: LibraryClient[] = [];
  try {
    const raw = await c.raw(ctx);
    sides.push(raw);
    const dbcreds = await c.dbcreds(ctx);
    sides.push(dbcreds);
    const samples = { raw: [] as RoundResult[], dbcreds: [] as RoundResult[] };
    for (let r = 0; r < o.warmup + o.rounds; r++) {
      // ABAB…, alternating which side goes first.
      const order = r % 2 === 0 ? (['raw', 'dbcreds'] as const) : (['dbcreds', 'raw'] as const);
      for (const name of order) {
        const logins0 = await counter.read();
        const res = await round(name === 'raw' ? raw : dbcreds, ctx.mode, o, reap);
        if (r >= o.warmup) samples[name].push({ ...res, logins: (await counter.read()) - logins0 });
      }
    }
    result.raw = stats(samples.raw);
    result.dbcreds = stats(samples.dbcreds);
    result.ratio = result.raw.median / result.dbcreds.median;
    result.pairedRatio = median(samples.raw.map((x, i) => x.qps / samples.dbcreds[i]!.qps));
    result.cpuRatio = result.dbcreds.cpuUsPerQuery / result.raw.cpuUsPerQuery;
    result.pairedCpuRatio = median(samples.dbcreds.map((x, i) => x.cpuUsPerQuery / samples.raw[i]!.cpuUsPerQuery));
  } finally {
    for (const s of sides) await s.close().catch(() => {});
    await counter.close().catch(() => {});
  }
  return result;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export function formatTable(mode: Mode, results: PairResult[]): string {
  const head = [
    'case',
    'raw q/s median (min–max)',
    'dbcreds q/s median (min–max)',
    'ratio',
    'paired ratio',
    'client CPU µs/query raw → dbcreds',
    'paired CPU ratio',
    'logins/round raw, dbcreds',
  ];
  const side = (s?: SideStats) => (s ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : '–');
  const rows = results.map((r) =>
    r.skipped
      ? [r.case, `skipped: ${r.skipped}`, '', '', '', '', '', '']
      : [
          r.case,
          side(r.raw),
          side(r.dbcreds),
          `${r.ratio!.toFixed(3)}×`,
          `${r.pairedRatio!.toFixed(3)}×`,
          `${r.raw!.cpuUsPerQuery.toFixed(1)} → ${r.dbcreds!.cpuUsPerQuery.toFixed(1)} (${r.cpuRatio!.toFixed(3)}×)`,
          `${r.pairedCpuRatio!.toFixed(3)}×`,
          `${r.engine === 'mysql' ? '≤ ' : ''}${r.raw!.loginsPerRound}, ${r.dbcreds!.loginsPerRound}`,
        ],
  );
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return `${mode}\n${lines.join('\n')}`;
}

function pickCases(list: string | undefined, engines: DrillEngine[]): OverheadCase[] {
  const wanted = list?.split(',').map((s) => s.trim().toLowerCase());
  const picked = ALL_CASES.filter(
    (c) =>
      engines.includes(c.engine) &&
      (!wanted || wanted.some((w) => c.id.toLowerCase() === w || c.id.toLowerCase().startsWith(`${w} `))),
  );
  if (picked.length === 0) throw new Error(`no case matches --cases ${list}`);
  return picked;
}

async function main(): Promise<void> {
  const flags = parseFlags(['cases', 'engines', 'modes', 'rounds', 'warmup', 'queries', 'bursts', 'out'], HELP, [
    'long',
  ]);
  if (!flags) return;
  const { v, values } = flags;
  const base = values.long ? { ...DEFAULTS, ...LONG } : DEFAULTS;
  const modes = (v.modes?.split(',') ?? base.modes) as Mode[];
  for (const m of modes) if (m !== 'steady' && m !== 'churn') throw new Error(`unknown mode ${m}`);
  const o: OverheadOptions = {
    ...base,
    modes,
    rounds: int('rounds', v.rounds, base.rounds, 1),
    warmup: int('warmup', v.warmup, base.warmup, 0),
    queries: int('queries', v.queries, base.queries, 1),
    bursts: int('bursts', v.bursts, base.bursts, 1),
  };
  const engines = (v.engines?.split(',') ?? ['postgres', 'mysql']) as DrillEngine[];
  const cases = pickCases(v.cases, engines);
  exitOnSignals();

  const started = Date.now();
  const load0 = loadavg();
  console.log(
    `overhead: ${o.concurrency} concurrent SELECT 1, ${o.rounds} rounds (+${o.warmup} warm-up) per side, interleaved; ` +
      `steady ${o.queries} queries/worker/round, churn ${o.bursts} bursts/round (idle timeout ${CHURN_IDLE_MS} ms); ` +
      `load average ${load0.map((x) => x.toFixed(2)).join(' ')}`,
  );
  const sm: LocalSecretsManager = await startLocalSecretsManager({ port: 0 });
  const clientConfig = {
    endpoint: sm.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' },
  };
  const smClient = new SecretsManagerClient(clientConfig);
  const results: PairResult[] = [];
  try {
    for (const engine of engines) {
      const engineCases = cases.filter((c) => c.engine === engine);
      if (engineCases.length === 0) continue;
      const server: StartedServer = engine === 'postgres' ? await startPostgres() : await useMariaDb();
      const admin = await createDrillAdmin(server);
      try {
        const login = await admin.createUser('bench_ovh');
        const secretId = `bench/overhead/${engine}`;
        await putDbSecret(smClient, secretId, rdsSecretValue(server, login));
        for (const mode of o.modes) {
          for (const c of engineCases) {
            const ctx: CaseContext = {
              engine,
              server,
              login,
              source: { secretId, clientConfig },
              mode,
              poolMax: o.concurrency,
              idleTimeoutMs: mode === 'churn' ? CHURN_IDLE_MS : STEADY_IDLE_MS,
            };
            const reap = async () => {
              if (engine === 'mysql') await admin.killIdleSessions(login.username);
            };
            const r = await measurePair(c, ctx, o, server, reap);
            results.push(r);
            console.log(
              r.skipped
                ? `  ${mode} ${c.id}: skipped (${r.skipped})`
                : `  ${mode} ${c.id}: raw ${fmt(r.raw!.median)} q/s, dbcreds ${fmt(r.dbcreds!.median)} q/s, ratio ${r.ratio!.toFixed(3)}×`,
            );
          }
        }
        await admin.dropUser(login.username).catch(() => {});
      } finally {
        await admin.close();
        await server.stop();
      }
    }
  } finally {
    smClient.destroy();
    await sm.close();
  }
  const load1 = loadavg();
  console.log('');
  for (const mode of o.modes)
    console.log(
      `${formatTable(
        mode,
        results.filter((r) => r.mode === mode),
      )}\n`,
    );
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`load average at the end ${load1.map((x) => x.toFixed(2)).join(' ')}; total ${seconds} s`);
  if (values['no-write']) return;
  await writeReport('overhead', v.out, {
    machine: { loadAverageStart: load0, loadAverageEnd: load1 },
    totalSeconds: seconds,
    options: o,
    results,
  });
}

await main();
process.exit(0);
