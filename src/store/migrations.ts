import { OrchestratorError } from '../errors/index.ts';

/**
 * A versioned schema change. Each backend keeps an ordered list of these in code; opening a
 * store applies, in one transaction, those whose version the database has not recorded yet.
 * Shipped migrations are never edited: a change is a new version.
 */
export interface Migration<Db, Result = void> {
  /** Positive, strictly increasing along the list. */
  readonly version: number;
  /** Short description stored in `schema_migrations.name`. */
  readonly name: string;
  /** Applies the change inside the migration transaction. */
  readonly up: (db: Db) => Result;
}

/**
 * The migrations still to apply, in order, given the versions a database has recorded.
 * @throws OrchestratorError `STORE_NEWER_SCHEMA` when the database records a version newer
 * than the newest this code knows: an older orchestrator must not write to a newer schema.
 */
export function pendingMigrations<M extends { readonly version: number }>(
  migrations: readonly M[],
  applied: readonly number[],
  where: string,
): M[] {
  const latest = migrations.at(-1)?.version ?? 0;
  const newest = applied.reduce((max, version) => Math.max(max, version), 0);
  if (newest > latest) {
    throw new OrchestratorError(
      'STORE_NEWER_SCHEMA',
      `${where} has schema version ${newest}, newer than this orchestrator knows (${latest}); upgrade the orchestrator`,
      { details: { databaseVersion: newest, knownVersion: latest } },
    );
  }
  const done = new Set(applied);
  return migrations.filter((migration) => !done.has(migration.version));
}

/** Wraps a failure while migrating, unless it is already a store verdict such as `STORE_NEWER_SCHEMA`. */
export function migrationFailed(error: unknown, where: string, migration: string | undefined): OrchestratorError {
  if (error instanceof OrchestratorError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  const step = migration === undefined ? 'preparing migrations' : `migration ${migration}`;
  return new OrchestratorError('STORE_MIGRATION_FAILED', `${where}: ${step} failed: ${reason}`, {
    cause: error,
    details: { migration: migration ?? null },
  });
}
