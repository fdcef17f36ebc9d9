import { createRequire } from 'node:module';
import type pg from 'pg';
import { postgresError } from './postgres-errors.ts';

/**
 * The `pg` module, loaded when a PostgreSQL store is first opened rather than when the library
 * is imported (issue 15). It is CommonJS, so `require` gives the instance an `import` would.
 */
export const pgModule = (): typeof pg => (loaded ??= createRequire(import.meta.url)('pg') as typeof pg);
let loaded: typeof pg | undefined;

/** A pool and where it points, for the parts of the PostgreSQL store that share it. */
export interface PostgresAccess {
  readonly pool: pg.Pool;
  /** The server URL, for error messages (redacted there). */
  readonly url: string;
  /** The schema name, already quoted. */
  readonly schema: string;
}

/** Rolls back; returns the error when even that fails, so the caller discards the connection. */
export async function rollback(client: pg.PoolClient): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * Runs `work` in one transaction on a connection of the pool; rolls back and maps the error
 * to the store's codes when anything fails (a connection whose rollback fails is discarded).
 */
export async function inTransaction<T>(
  access: PostgresAccess,
  operation: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await access.pool.connect();
  } catch (error) {
    throw postgresError(error, access.url, operation);
  }
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    broken = await rollback(client);
    throw postgresError(error, access.url, operation);
  } finally {
    client.release(broken);
  }
}

/** One statement on the pool, its error mapped to the store's codes. */
export async function queryRows<Row extends pg.QueryResultRow>(
  access: PostgresAccess,
  operation: string,
  config: pg.QueryConfig,
): Promise<Row[]> {
  try {
    return (await access.pool.query<Row>(config)).rows;
  } catch (error) {
    throw postgresError(error, access.url, operation);
  }
}

/**
 * A pool whose connections never crash the process: `pg` emits `error` on an idle client whose
 * server went away, and an unhandled `error` event would throw. The pool drops that client; the
 * next call reconnects or fails with `STORE_UNAVAILABLE`.
 */
export function quietPool(config: pg.PoolConfig): pg.Pool {
  const pool = new (pgModule().Pool)(config);
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}
