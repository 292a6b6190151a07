/** A checked-out connection that can run one transaction. */
export interface Transactional {
  begin(): Promise<unknown>;
  commit(): Promise<unknown>;
  rollback(): Promise<unknown>;
  release(): void;
}

/** Runs `body` in one transaction on `conn` (rolled back if it throws) and releases the connection. */
export async function inTransaction<T>(conn: Transactional, body: () => Promise<T>): Promise<T> {
  try {
    await conn.begin();
    const result = await body();
    await conn.commit();
    return result;
  } catch (err) {
    await conn.rollback().catch(() => {});
    throw err;
  } finally {
    conn.release();
  }
}

/** A pg client (pool checkout) as `Transactional`. */
export function pgTransactional(client: { query(sql: string): Promise<unknown>; release(): void }): Transactional {
  return {
    begin: () => client.query('BEGIN'),
    commit: () => client.query('COMMIT'),
    rollback: () => client.query('ROLLBACK'),
    release: () => client.release(),
  };
}
