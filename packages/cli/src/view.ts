/** What the live view shows; the demo updates it, the view reads it on every frame. */
export interface DemoSnapshot {
  title: string;
  phase: string;
  elapsedMs: number;
  durationMs: number;
  ok: number;
  failed: number;
  rotationsDone: number;
  rotationsPlanned: number;
  /** AWSCURRENT of the secret, as the rotation function left it. */
  secretVersion: string;
  secretUser: string;
  /** The version and user the app's credential source holds. */
  appVersion: string;
  appUser: string;
  /** GetSecretValue calls made by the app (its own client) and by everyone (local SM counter). */
  appGetSecretValue: number;
  totalGetSecretValue: number;
}

export interface Output {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface View {
  /** A line that stays in the log (rotation done, proof, error). */
  event(line: string): void;
  /** Starts periodic rendering of `snapshot()`. */
  start(snapshot: () => DemoSnapshot): void;
  /** Stops rendering (last frame stays on screen). */
  stop(): void;
}

const short = (v: string) => (v.length > 8 ? v.slice(0, 8) : v);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

function bar(done: number, total: number, width = 24): string {
  const n = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}]`;
}

/** The multi-line frame of the TTY view. Exported for tests. */
export function renderFrame(s: DemoSnapshot): string[] {
  const failed = s.failed === 0 ? '0' : `\x1b[31m${s.failed}\x1b[0m`;
  return [
    `\x1b[1m${s.title}\x1b[0m  ${s.phase}`,
    `  time       ${bar(s.elapsedMs, s.durationMs)} ${secs(s.elapsedMs)} / ${secs(s.durationMs)}`,
    `  queries    ok ${s.ok}   failed ${failed}`,
    `  rotations  ${bar(s.rotationsDone, s.rotationsPlanned)} ${s.rotationsDone} / ${s.rotationsPlanned}`,
    `  secret     AWSCURRENT ${short(s.secretVersion)}  user ${s.secretUser}`,
    `  app        using ${short(s.appVersion)}  user ${s.appUser}   GetSecretValue app ${s.appGetSecretValue} / all ${s.totalGetSecretValue}`,
  ];
}

/** The one-line progress of the plain view. Exported for tests. */
export function renderLine(s: DemoSnapshot): string {
  return (
    `[${secs(s.elapsedMs).padStart(6)}] ok=${s.ok} failed=${s.failed} rotations=${s.rotationsDone}/${s.rotationsPlanned}` +
    ` secret=${short(s.secretVersion)}(${s.secretUser}) app=${short(s.appVersion)}(${s.appUser})` +
    ` GetSecretValue app=${s.appGetSecretValue} all=${s.totalGetSecretValue}`
  );
}

/**
 * A live, redrawn block on a terminal; plain progress lines (every `plainEveryMs`) otherwise, so
 * logs and CI output stay readable.
 */
export function createView(out: Output, opts: { plain?: boolean; frameMs?: number; plainEveryMs?: number } = {}): View {
  const live = out.isTTY === true && !opts.plain;
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  let snap: (() => DemoSnapshot) | undefined;
  const clear = () => {
    if (drawn > 0) out.write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const draw = () => {
    if (!snap) return;
    const cols = Math.max(80, out.columns || 120);
    const lines = renderFrame(snap()).map((l) => (l.length > cols + 12 ? l.slice(0, cols + 12) : l));
    clear();
    out.write(`${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  return {
    event(line) {
      if (live) {
        clear();
        out.write(`${line}\n`);
        draw();
      } else {
        out.write(`${line}\n`);
      }
    },
    start(snapshot) {
      snap = snapshot;
      if (live) {
        draw();
        timer = setInterval(draw, opts.frameMs ?? 200);
      } else {
        timer = setInterval(() => out.write(`${renderLine(snapshot())}\n`), opts.plainEveryMs ?? 2000);
      }
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (live) draw();
      else if (snap) out.write(`${renderLine(snap())}\n`);
      snap = undefined;
    },
  };
}

/** A plain text table (first row is the header). */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join('\n');
}
