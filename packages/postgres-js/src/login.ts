// One login on a socket this package opened, watched from the server's side of the protocol: postgres.js
// reads the socket as usual, while the login's outcome (ReadyForQuery or an ErrorResponse) settles a
// promise, and an auth refusal to be retried is kept from postgres.js, which then reconnects.
import type { Socket } from 'node:net';
import type postgres from 'postgres';

/** What a login's ErrorResponse becomes, as postgres.js builds it (fields by their protocol letter). */
const FIELDS: Record<string, string> = {
  S: 'severity_local',
  V: 'severity',
  C: 'code',
  M: 'message',
  D: 'detail',
  H: 'hint',
  R: 'routine',
};

export function loginError(PostgresError: typeof postgres.PostgresError, msg: Buffer): postgres.PostgresError {
  const fields: Record<string, string> = {};
  for (let i = 5; i < msg.length - 1 && msg[i] !== 0; ) {
    const end = msg.indexOf(0, i + 1);
    const name = FIELDS[String.fromCharCode(msg[i]!)];
    if (name) fields[name] = msg.toString('utf8', i + 1, end);
    i = end + 1;
  }
  return new PostgresError(fields as never);
}

export interface LoginWatch {
  /** Runs around each delivery of login messages to postgres.js (its password callback runs inside). */
  deliver(send: () => void): void;
  /** A refusal that is retried: true keeps it from postgres.js (the socket is destroyed instead). */
  retry(err: postgres.PostgresError): boolean;
  PostgresError: typeof postgres.PostgresError;
}

/**
 * Watches `socket` until the login's outcome: resolves at the first ReadyForQuery, rejects with the ErrorResponse
 * (or a close before either). Only the login's messages are parsed; after the outcome the socket's own
 * `emit` is restored, so queries never pass through here.
 */
export function watchLogin(socket: Socket, w: LoginWatch): Promise<void> {
  const emit = socket.emit as (event: string | symbol, ...args: unknown[]) => boolean;
  let pending = Buffer.alloc(0);
  let withheld = false;
  return new Promise<void>((resolve, reject) => {
    const done = () => Reflect.deleteProperty(socket, 'emit');
    const send = (chunk: Buffer) => w.deliver(() => emit.call(socket, 'data', chunk));
    socket.emit = (event: string | symbol, ...args: unknown[]): boolean => {
      if (event === 'close') {
        done();
        reject(new Error('the connection closed during the login'));
        return emit.call(socket, event, ...args);
      }
      if (withheld) return false; // a withheld refusal: nothing but the close reaches postgres.js, which reconnects
      if (event !== 'data') return emit.call(socket, event, ...args);
      pending = Buffer.concat([pending, args[0] as Buffer]);
      while (pending.length >= 5) {
        const end = pending.readUInt32BE(1) + 1;
        if (pending.length < end) break;
        const msg = pending.subarray(0, end);
        pending = pending.subarray(end);
        // 'Z' ReadyForQuery or 'E' ErrorResponse ends the login (the server may refuse a role, e.g. NOLOGIN
        // with 28000, after AuthenticationOk); anything else is part of it.
        const ok = msg[0] === 0x5a;
        if (!ok && msg[0] !== 0x45) {
          send(msg);
          continue;
        }
        const err = ok ? undefined : loginError(w.PostgresError, msg);
        if (err && w.retry(err)) {
          withheld = true;
          reject(err);
          socket.destroy();
          return true;
        }
        done();
        if (err) reject(err);
        else resolve();
        send(Buffer.concat([msg, pending]));
        return true;
      }
      return true;
    };
  });
}
