/**
 * Leak audit of the conformance suite: every password the test bed generates in this run is
 * remembered (`randomPassword`), and each scenario captures everything dbcreds lets out — log lines
 * (the source's `logger`), event payloads, every error an adapter threw (with its `cause` chain and
 * `dbcredsRefreshError`, as `inspect` with hidden fields shows it, plus `message`, `String` and JSON),
 * and `inspect(…, { showHidden: true, depth: 10 })` of the source and of what the adapter's client
 * exposes (`LibraryClient.inspectables`). `assertClean` fails if any password of the run appears.
 */
import { inspect } from 'node:util';
import type { CredentialSource, Logger } from '@dbcreds/core';

const RUN_PASSWORDS = new Set<string>();

/** Called by randomPassword(): every password of the run is a needle. */
export function rememberPassword(password: string): string {
  RUN_PASSWORDS.add(password);
  return password;
}

const deep = (v: unknown): string => {
  try {
    return inspect(v, { showHidden: true, depth: 10, getters: false, maxArrayLength: 50, maxStringLength: 10_000 });
  } catch (err) {
    return `<inspect threw ${String(err)}>`;
  }
};

function errorTexts(err: unknown): string[] {
  const out = [deep(err)];
  try {
    out.push(String(err), (err as Error)?.message ?? '', JSON.stringify(err) ?? '');
  } catch {
    // a cyclic error: inspect covered it
  }
  return out;
}

export class LeakAudit {
  private readonly texts: Array<[where: string, text: string]> = [];
  lines = 0;

  readonly logger: Logger = {
    debug: (m, meta) => this.add('log', [m, meta]),
    info: (m, meta) => this.add('log', [m, meta]),
    warn: (m, meta) => this.add('log', [m, meta]),
    error: (m, meta) => this.add('log', [m, meta]),
  };

  watch(source: CredentialSource): void {
    for (const event of ['refreshed', 'rotated', 'fallback', 'error'] as const) {
      source.on(event, (payload) => this.add(`event:${event}`, payload));
    }
  }

  add(where: string, value: unknown): void {
    this.lines++;
    this.texts.push([where, deep(value)]);
  }

  error(err: unknown): void {
    this.lines++;
    for (const t of errorTexts(err)) this.texts.push(['error', t]);
  }

  /** Throws naming where a password of the run appeared (never the password itself). */
  assertClean(): void {
    const hits: string[] = [];
    for (const [where, text] of this.texts) {
      for (const pw of RUN_PASSWORDS) {
        const at = text.indexOf(pw);
        if (at < 0) continue;
        hits.push(where);
        // DBCREDS_LEAK_CONTEXT=1: print what precedes it (every password of the run masked) to find the holder.
        if (process.env.DBCREDS_LEAK_CONTEXT) console.error(mask(text.slice(Math.max(0, at - 400), at + 40)));
      }
    }
    if (hits.length > 0) {
      throw new Error(
        `leak audit: a password of this run appears in ${[...new Set(hits)].join(', ')} (${hits.length}×)`,
      );
    }
  }

  get passwords(): number {
    return RUN_PASSWORDS.size;
  }
}

/** The audit of the scenario running now (scenarios of a file run one after the other). */
export let currentAudit: LeakAudit | undefined;
export function setCurrentAudit(audit: LeakAudit | undefined): void {
  currentAudit = audit;
}

function mask(text: string): string {
  let out = text;
  for (const pw of RUN_PASSWORDS) out = out.replaceAll(pw, '***');
  return out;
}
