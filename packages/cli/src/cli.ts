import { DEMO_HELP, MAIN_HELP, parseDemoArgs, parseRotateArgs, ROTATE_HELP, UsageError } from './args.js';
import { runDemo } from './demo/run.js';
import { EXEC_HELP, parseExecArgs, parseUrlArgs, runExec, runUrl, URL_HELP } from './exec.js';
import { runLocalSm } from './local-sm.js';
import { runRotate } from './rotate.js';
import type { Output } from './view.js';

export interface CliIo {
  stdout: Output;
  stderr: Output;
  /** Aborted on SIGINT/SIGTERM by the bin; `demo` then stops cleanly. */
  signal?: AbortSignal;
}

const COMMANDS = ['demo', 'local-sm', 'rotate'] as const;

const defaultIo: CliIo = { stdout: process.stdout, stderr: process.stderr };

function help(io: CliIo, text: string): number {
  io.stdout.write(`${text}\n`);
  return 0;
}

/** Runs `dbcreds <argv>`; resolves with the exit status (2 for a bad command line). */
export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  const line = (o: Output) => (s: string) => o.write(`${s}\n`);
  try {
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout.write(`${MAIN_HELP}\n`);
        return command === undefined ? 2 : 0;
      case 'demo': {
        const args = parseDemoArgs(rest);
        if (args === 'help') return help(io, DEMO_HELP);
        return await runDemo(args, { out: io.stdout, signal: io.signal });
      }
      case 'rotate': {
        const args = parseRotateArgs(rest);
        if (args === 'help') return help(io, ROTATE_HELP);
        return await runRotate(args, { out: line(io.stdout), err: line(io.stderr) });
      }
      case 'exec': {
        const args = parseExecArgs(rest);
        if (args === 'help') return help(io, EXEC_HELP);
        return await runExec(args, io);
      }
      case 'url': {
        const args = parseUrlArgs(rest);
        if (args === 'help') return help(io, URL_HELP);
        return await runUrl(args, io);
      }
      case 'local-sm': {
        const signal = io.signal;
        const code = await runLocalSm(rest, {
          stdout: line(io.stdout),
          stderr: line(io.stderr),
          // The bin turns SIGINT/SIGTERM into this abort; without a signal the command listens itself.
          ...(signal
            ? {
                waitForStop: () =>
                  signal.aborted
                    ? Promise.resolve()
                    : new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true })),
              }
            : {}),
        });
        return code === 0 || code === 1 ? code : 2;
      }
      default:
        io.stderr.write(
          `dbcreds: unknown command '${command}' (commands: ${COMMANDS.join(', ')})\nRun 'dbcreds --help' for usage.\n`,
        );
        return 2;
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`dbcreds: ${err.message}\nRun 'dbcreds ${command} --help' for usage.\n`);
    return 2;
  }
}
