import { userInfo } from 'node:os';

/** Drops a benchmark's PostgreSQL schema, connecting as the OS user when the URL names none (as libpq). */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const { default: pg } = await import('pg');
  const target = new URL(url);
  if (target.username === '') target.username = process.env.PGUSER || process.env.USER || userInfo().username;
  const client = new pg.Client({ connectionString: target.toString() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
