/**
 * `npm run bench -- sim [flags]`: the discrete-event fleet simulation (bench/sim/): N processes, each
 * running core's real credential source on simulated time, against a Secrets Manager model with the
 * account's quotas and a database that refuses old passwords. Prints one table row per scenario, size
 * and mode. `--quick` finishes in seconds; `--validate` replays the real fleet bench's N = 16 run.
 */
import { int, parseFlags, writeReport } from './cli.js';
import { formatSim } from './sim/report.js';
import { runSim, type Scenario, SIM_DEFAULTS, type SimOptions, type SimResult } from './sim/run.js';

const HELP = `Usage: npm run bench -- sim [flags]

  --sizes <list>            processes (default 1000,10000,100000; --quick: 100,1000)
  --scenarios <list>        steady,single-user,alternating-users (default all)
  --modes <list>            direct,agent (default both): sources call Secrets Manager, or one agent per host
  --per-host <n>            processes per host with the agent (default ${SIM_DEFAULTS.perHost})
  --conn-interval-ms <ms>   mean time between a process's new connections (default ${SIM_DEFAULTS.connIntervalMs}; steady: 60000)
  --ttl-ms <ms>             the sources' TTL (default ${SIM_DEFAULTS.ttlMs})
  --window-ms <ms>          setSecret → finishSecret (default ${SIM_DEFAULTS.windowMs})
  --rotations <n>           rotations per rotation scenario (default ${SIM_DEFAULTS.rotations})
  --startup-ms <ms>         processes start over this span (default ${SIM_DEFAULTS.startupMs})
  --warmup-ms <ms>          first rotation at (default ${SIM_DEFAULTS.warmupMs})
  --interval-ms <ms>        between rotations and after the last (default ${SIM_DEFAULTS.rotationIntervalMs})
  --throttled-tps <n>       also run single-user with this much other GetSecretValue load in the account
  --burst-ms <ms>           token bucket size in ms of the quota (default 1000; AWS documents none)
  --retry-attempts <n>      core retry.maxAttempts for every source (default: core's 3)
  --retry-max-delay-ms <ms> core retry.maxDelayMs (default: core's 2000)
  --spread-ms <ms>          core agent.spreadMs (default: core's 200)
  --seed <n>                PRNG seed (default 1)
  --skip-settled            rotation runs: no connections before the rotation (after the first) nor once a
                            process holds the new version: same Secrets Manager figures, minutes for 100,000
  --quick                   small sizes and short runs (seconds)
  --validate                replay the real fleet bench (16 processes, TTL 6 s, 3 rotations 8 s apart)
  --out <file>              JSON output (default bench/results/sim-<date>.json)
  --no-write                print only
  --help`;

/** The real fleet bench's defaults (fleet-run.ts), for --validate. */
export const FLEET_REPLICA: Partial<SimOptions> = {
  scenario: 'single-user',
  processes: 16,
  ttlMs: 6_000,
  rotations: 3,
  rotationIntervalMs: 8_000,
  warmupMs: 2_000,
  startupMs: 1,
  windowMs: 1_000,
  // pool 4, idle timeout 100 ms, 4 loops with 0–100 ms pauses: a new connection every ~100 ms.
  connIntervalMs: 100,
  reconnectAfterRotation: true,
};

async function main(): Promise<void> {
  const names = [
    'sizes',
    'scenarios',
    'modes',
    'per-host',
    'conn-interval-ms',
    'ttl-ms',
    'window-ms',
    'rotations',
    'startup-ms',
    'warmup-ms',
    'interval-ms',
    'throttled-tps',
    'burst-ms',
    'retry-attempts',
    'retry-max-delay-ms',
    'spread-ms',
    'seed',
    'out',
  ] as const;
  const flags = parseFlags(names, HELP, ['quick', 'validate', 'skip-settled'] as const);
  if (!flags) return;
  const { v, values } = flags;
  const quick = values.quick === true;
  const list = (s: string | undefined, d: string) => (s ?? d).split(',').filter(Boolean);
  const sizes = list(v.sizes, quick ? '100,1000' : '1000,10000,100000').map((s) => int('sizes', s, 1, 1));
  const scenarios = list(v.scenarios, 'steady,single-user,alternating-users') as Scenario[];
  const modes = list(v.modes, 'direct,agent');
  const attempts = v['retry-attempts'];
  const maxDelay = v['retry-max-delay-ms'];
  const tuning: SimOptions['tuning'] = {
    ...(attempts || maxDelay
      ? {
          retry: {
            maxAttempts: int('retry-attempts', attempts, 3, 1),
            maxDelayMs: int('retry-max-delay-ms', maxDelay, 2_000),
          },
        }
      : {}),
    ...(v['spread-ms'] ? { spreadMs: int('spread-ms', v['spread-ms'], 200) } : {}),
  };
  const base: SimOptions = {
    ...SIM_DEFAULTS,
    perHost: int('per-host', v['per-host'], SIM_DEFAULTS.perHost, 1),
    ttlMs: int('ttl-ms', v['ttl-ms'], quick ? 300_000 : SIM_DEFAULTS.ttlMs),
    windowMs: int('window-ms', v['window-ms'], SIM_DEFAULTS.windowMs),
    rotations: int('rotations', v.rotations, SIM_DEFAULTS.rotations, 1),
    seed: int('seed', v.seed, SIM_DEFAULTS.seed),
    tuning,
    skipSettled: values['skip-settled'] === true,
    ...(quick ? { startupMs: 10_000, warmupMs: 15_000, rotationIntervalMs: 60_000, durationMs: 600_000 } : {}),
  };
  if (v['burst-ms']) base.burstMs = int('burst-ms', v['burst-ms'], 1_000, 1);
  if (v['startup-ms']) base.startupMs = int('startup-ms', v['startup-ms'], 0, 1);
  if (v['warmup-ms']) base.warmupMs = int('warmup-ms', v['warmup-ms'], 0, 1);
  if (v['interval-ms']) base.rotationIntervalMs = int('interval-ms', v['interval-ms'], 0, 1);
  const connInterval = (s: Scenario) =>
    int('conn-interval-ms', v['conn-interval-ms'], s === 'steady' ? 60_000 : SIM_DEFAULTS.connIntervalMs, 1);
  const runs: SimOptions[] = [];
  if (values.validate) runs.push({ ...base, ...FLEET_REPLICA } as SimOptions);
  else
    for (const processes of sizes)
      for (const mode of modes) {
        for (const scenario of scenarios)
          runs.push({
            ...base,
            scenario,
            processes,
            agent: mode === 'agent',
            connIntervalMs: connInterval(scenario),
            // Steady: long enough for every source's first TTL expiry and a second half to measure.
            durationMs: scenario === 'steady' ? Math.max(base.durationMs, 2 * base.ttlMs) : base.durationMs,
          });
        const tps = int('throttled-tps', v['throttled-tps'], 0);
        if (tps > 0)
          runs.push({
            ...base,
            scenario: 'single-user',
            processes,
            agent: mode === 'agent',
            connIntervalMs: connInterval('single-user'),
            backgroundGsvTps: tps,
          });
      }
  const started = Date.now();
  const results: SimResult[] = [];
  for (const o of runs) {
    const r = await runSim(o);
    results.push(r);
    console.log(
      `  ${o.scenario} N=${o.processes} ${o.agent ? 'agent' : 'direct'}: ${r.wallMs} ms wall, ${(r.simulatedMs / 1000).toFixed(0)} s simulated, heap ${r.heapMb} MB, failed ${r.failed}`,
    );
    console.log(formatSim([r]).split('\n')[2]);
  }
  console.log(`\n${formatSim(results)}\n`);
  if (values.validate) {
    const r = results[0]!;
    console.log(
      `GetSecretValue per process min/median/max ${r.perProcess.min}/${r.perProcess.median}/${r.perProcess.max}, total ${r.perProcess.total}`,
    );
    console.log(`reads per 1 s: ${r.readsPerSecond.join(' ')}`);
  }
  if (!values['no-write'])
    await writeReport(values.validate ? 'sim-validate' : 'sim', v.out, {
      totalSeconds: Math.round((Date.now() - started) / 1000),
      results: results.map(({ readsPerSecond, ...r }) => ({
        ...r,
        readsPerSecond: r.options.processes <= 100 || values.validate ? readsPerSecond : undefined,
      })),
    });
}

await main();
