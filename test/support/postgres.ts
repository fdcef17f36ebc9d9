import { userInfo } from 'node:os';
import pg from 'pg';

/** The PostgreSQL the integration tests use: `DATABASE_URL`, else the machine's loopback server. */
export const TEST_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test';

/** A plain client for setup and sabotage, with the OS user when the URL names none (as libpq). */
export function postgresClient(url = TEST_DATABASE_URL): pg.Client {
  const target = new URL(url);
  if (target.username === '') target.username = process.env.PGUSER || process.env.USER || userInfo().username;
  const client = new pg.Client({ connectionString: target.toString(), connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  return client;
}

/** Why PostgreSQL cannot be reached, or undefined when it answers. */
export async function postgresProblem(url = TEST_DATABASE_URL): Promise<string | undefined> {
  const client = postgresClient(url);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}
