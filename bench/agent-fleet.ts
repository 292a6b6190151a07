/**
 * `npm run bench -- agent-fleet [flags]`: K processes on one host (fleet-worker.ts, each its own pool
 * and source) under load while the secret rotates R times (single-user, with the setSecret →
 * finishSecret window), once with every process calling Secrets Manager directly and once with all
 * of them reading through one Secrets Manager Agent (the local Secrets Manager's agent endpoint:
 * TTL cache, DescribeSecret revalidation, refreshNow, no coalescing of concurrent misses). Reports
 * Secrets Manager calls for the whole host and failed queries, against the goals
 * direct ≤ K × (1 + 2R) and agent ≤ 2 × (1 + 2R), zero failed queries. The sources' TTL is longer
 * than the run, so every call counted is the initial read or a rotation's.
 */
import { loadavg } from 'node:os';
import { startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { exitOnSignals, int, parseFlags, writeReport } from './cli.js';
import { type DrillEngine, startPostgres, useMariaDb } from './drill-servers.js';
import type { FleetResult } from './fleet-report.js';
import { FLEET_DEFAULTS, type FleetOptions, runFleet } from './fleet-run.js';

const HELP = `Usage: npm run bench -- agent-fleet [flags]

  --processes <n>       processes on the host (default 8)
  --rotations <n>       rotations (default 3)
  --engine <e>          postgres | mysql (default postgres)
  --interval-ms <ms>    time between rotations and after the last (default 6000)
  --window-ms <ms>      setSecret→finishSecret gap (default 1000)
  --agent-ttl-s <s>     the agent's ttl_seconds (default 300)
  --sm-latency-ms <ms>  latency of the agent's calls to Secrets Manager (default 20, as in-region)
  --out <file>          JSON output (default bench/results/agent-fleet-<date>.json)
  --no-write            print only
  --help`;

interface Row {
  backend: 'direct' | 'agent';
  processes: number;
  rotations: number;
  secretsManagerCalls: number;
  describeSecret: number;
  goal: number;
  queriesOk: number;
  queriesFailed: number;
  /** Processes that died before reporting (an uncaught error). */
  crashed: number;
  errorSamples: string[];
}

function row(backend: Row['backend'], r: FleetResult, o: FleetOptions): Row {
  const k = r.processes;
  const perHost = 1 + 2 * o.rotations;
  return {
    backend,
    processes: k,
    rotations: o.rotations,
    secretsManagerCalls: backend === 'agent' ? r.agentUpstream!.getSecretValue : r.getSecretValueServer,
    describeSecret: r.agentUpstream?.describeSecret ?? 0,
    goal: backend === 'agent' ? 2 * perHost : k * perHost,
    queriesOk: r.queriesOk,
    queriesFailed: r.queriesFailed,
    crashed: r.crashed,
    errorSamples: r.errorSamples,
  };
}

export function formatAgentFleet(rows: Row[]): string {
  const head = [
    'backend',
    'processes',
    'rotations',
    'GetSecretValue (host)',
    'per rotation',
    'goal',
    'DescribeSecret',
    'ok',
    'failed',
    'crashed',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const ok = r.secretsManagerCalls <= r.goal && r.queriesFailed === 0 && r.crashed === 0 ? '' : ' ✗';
    lines.push(
      `| ${[
        r.backend,
        r.processes,
        r.rotations,
        r.secretsManagerCalls,
        ((r.secretsManagerCalls - (r.backend === 'agent' ? 1 : r.processes)) / r.rotations).toFixed(1),
        `≤ ${r.goal}${ok}`,
        r.describeSecret,
        r.queriesOk,
        r.queriesFailed,
        r.crashed,
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const names = [
    'processes',
    'rotations',
    'engine',
    'interval-ms',
    'window-ms',
    'agent-ttl-s',
    'sm-latency-ms',
    'out',
  ] as const;
  const flags = parseFlags(names, HELP);
  if (!flags) return;
  const { v, values } = flags;
  const engine = (v.engine ?? 'postgres') as DrillEngine;
  if (engine !== 'postgres' && engine !== 'mysql') throw new Error('--engine must be postgres or mysql');
  const k = int('processes', v.processes, 8, 1);
  const o: FleetOptions = {
    ...FLEET_DEFAULTS,
    sizes: [k],
    engine,
    rotations: int('rotations', v.rotations, 3),
    intervalMs: int('interval-ms', v['interval-ms'], 6000),
    windowMs: int('window-ms', v['window-ms'], 1000),
    ttlMs: 3_600_000, // longer than the run: only the initial read and rotations cost calls
  };
  const agentTtlS = int('agent-ttl-s', v['agent-ttl-s'], 300);
  const smLatencyMs = int('sm-latency-ms', v['sm-latency-ms'], 20);
  exitOnSignals();
  console.log(
    `agent-fleet: ${k} processes × ${o.workers} loops (pool ${o.poolMax}, idle timeout ${o.idleTimeoutMs} ms), ${engine}, ` +
      `${o.rotations} single-user rotations (window ${o.windowMs} ms) every ${o.intervalMs} ms; agent TTL ${agentTtlS} s, ` +
      `agent → Secrets Manager ${smLatencyMs} ms; ` +
      `load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
  );
  const started = Date.now();
  const server = engine === 'postgres' ? await startPostgres() : await useMariaDb();
  const rows: Row[] = [];
  try {
    for (const backend of ['direct', 'agent'] as const) {
      // A fresh Secrets Manager (and agent: a cold cache) per backend.
      const sm = await startLocalSecretsManager({
        port: 0,
        agent: { ttlMs: agentTtlS * 1000, upstreamLatencyMs: smLatencyMs },
      });
      try {
        console.log(`  ${backend}`);
        const r = await runFleet(sm, server, o, k, (l) => console.log(l), backend);
        rows.push(row(backend, r, o));
        for (const s of r.errorSamples) console.log(`      ${s}`);
      } finally {
        await sm.close();
      }
    }
  } finally {
    await server.stop();
  }
  console.log(`\n${formatAgentFleet(rows)}\n`);
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`total ${seconds} s`);
  if (values['no-write']) return;
  await writeReport('agent-fleet', v.out, { totalSeconds: seconds, options: { ...o, agentTtlS, smLatencyMs }, rows });
}

await main();
process.exit(0);
