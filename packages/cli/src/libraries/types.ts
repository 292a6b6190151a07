import type { CredentialSource, CredentialSourceOptions } from '@dbcreds/core';

/** The database engines a library can run on: PostgreSQL, and MariaDB/MySQL. */
export type LibraryEngine = 'postgres' | 'mysql';

/** A row of the demo's `notes` table, as the `notes` workload writes it. */
export interface NoteInput {
  author: string;
  body: string;
}

/**
 * What `query()` runs (the same through every library, so results compare across libraries):
 * - `select-1`: `SELECT 1` (the bench's overhead pairs and rotation drill);
 * - `current-user`: resolves to the session's user, `current_user` / `CURRENT_USER()` (the conformance suite);
 * - `notes`: writes the given note and reads the author's 5 latest; inside `transaction`, writes it and
 *   counts the author's notes (the demo's app, on a `notes (id, author, body)` table).
 */
export type LibraryWorkload = 'select-1' | 'current-user' | 'notes';

/** A client of a library under load: what the demo, the bench and the conformance suite drive. */
export interface LibraryClient<Result = unknown> {
  /** One unit of the workload through the library's own query API (`note`: the `notes` workload only). */
  query(note?: NoteInput): Promise<Result>;
  /** Runs `body` inside one transaction (BEGIN … COMMIT) through the library's transaction API. */
  transaction?(body: (query: (note?: NoteInput) => Promise<Result>) => Promise<void>): Promise<void>;
  /** Ends the pool / ORM. Never closes a `source` it was given (the caller owns it). */
  close(): Promise<void>;
  /** The library's objects (pool, ORM instance…) for a leak audit's `inspect`. */
  inspectables?(): unknown[];
}

/** The pool every client gets, whatever the library calls its settings. */
export interface LibraryPool {
  /** Maximum connections. */
  max: number;
  /** Idle connections close after this many ms. */
  idleTimeoutMs: number;
  /** Idle connections kept regardless of `idleTimeoutMs` (mysql2's `maxIdle`). Default 0: every idle one closes. */
  maxIdle?: number;
  /** Connect timeout in ms. Default: the library's. */
  connectTimeoutMs?: number;
  /** How often the pool looks for idle connections, in ms (knex `reapIntervalMillis`, Sequelize `evict`). Default 100. */
  reapIntervalMs?: number;
}

/** What a catalog entry builds a client from. The user and password always come from `source`. */
export interface LibraryClientOptions {
  engine: LibraryEngine;
  /** A source (the caller owns it), or source options (the client builds and owns its source). */
  source: CredentialSource | CredentialSourceOptions;
  /** Undefined means "not set" (then the secret's host is used, or the adapter refuses). */
  host: string | undefined;
  port: number;
  database: string;
  pool: LibraryPool;
  workload: LibraryWorkload;
  /** Listen to the pool's 'error' events, for loads that kill sessions with no adapter in between (the drill). Default false. */
  ignorePoolErrors?: boolean;
}

/** Packages a library needs besides the CLI's own dependencies, on any engine and per engine. */
export interface LibraryPeers {
  any?: readonly string[];
  postgres?: readonly string[];
  mysql?: readonly string[];
}

/** One library of the catalog: how to build a client of it under load, and what it needs. */
export interface LibraryEntry {
  /** The catalog name (`dbcreds demo --orm <name>`). */
  name: string;
  /** The dbcreds packages it runs through (Drizzle and Kysely: the `@dbcreds/pg` and `@dbcreds/mysql2` pools). */
  packages: readonly string[];
  engines: readonly LibraryEngine[];
  /** Optional peers of `dbcreds` the library needs (the demo checks them before it starts). */
  peers: LibraryPeers;
  /** Builds a client for `options.engine`; loads the library lazily. */
  connect(options: LibraryClientOptions): Promise<LibraryClient>;
}
