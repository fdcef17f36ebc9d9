import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** Prepares each named SQL text on `db` once: the SQLite stores' parts keep theirs by name. */
export function prepareStatements<const T extends Record<string, string>>(
  db: DatabaseSync,
  texts: T,
): Record<keyof T, StatementSync> {
  return Object.fromEntries(Object.entries(texts).map(([name, text]) => [name, db.prepare(text)])) as Record<
    keyof T,
    StatementSync
  >;
}
