import type { DatabaseSync } from 'node:sqlite';
import { OrchestratorError } from '../errors/index.ts';

const BUSY = new Set([5, 6]); // SQLITE_BUSY, SQLITE_LOCKED
const CORRUPT = new Set([11, 26]); // SQLITE_CORRUPT, SQLITE_NOTADB
const UNREACHABLE = new Set([3, 8, 10, 13, 14]); // PERM, READONLY, IOERR, FULL, CANTOPEN

/** Maps a `node:sqlite` error to the store's codes, keeping it as the cause. */
export function sqliteError(error: unknown, path: string, operation: string, sessionId?: string): OrchestratorError {
  if (error instanceof OrchestratorError) return error;
  const errcode = (error as { errcode?: unknown }).errcode;
  const primary = typeof errcode === 'number' ? errcode & 0xff : -1;
  const reason = error instanceof Error ? error.message : String(error);
  const details = { path, operation, sqliteCode: errcode ?? null };
  if (primary === 19 && reason.includes('events.id')) {
    return new OrchestratorError(
      'EVENT_DUPLICATE',
      `append${sessionId === undefined ? '' : ` to session "${sessionId}"`}: an event id is already stored or repeated`,
      { cause: error, details: { ...details, sessionId: sessionId ?? null } },
    );
  }
  if (BUSY.has(primary)) {
    return new OrchestratorError(
      'STORE_UNAVAILABLE',
      `SQLite store ${path} stayed locked by another writer: ${reason}`,
      {
        cause: error,
        details,
      },
    );
  }
  if (CORRUPT.has(primary)) {
    return new OrchestratorError('STORE_CORRUPT', `SQLite store ${path} is damaged or not a database: ${reason}`, {
      cause: error,
      details,
    });
  }
  if (UNREACHABLE.has(primary) || operation === 'open') {
    return new OrchestratorError('STORE_UNAVAILABLE', `SQLite store ${path} cannot be used (${operation}): ${reason}`, {
      cause: error,
      details,
      retryable: primary === 10 || primary === 13,
    });
  }
  return new OrchestratorError('INTERNAL', `SQLite store ${path} failed (${operation}): ${reason}`, {
    cause: error,
    details,
  });
}

/** Runs a read, reporting a failure in the store's codes. */
export function sqliteRead<T>(path: string, operation: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw sqliteError(error, path, operation);
  }
}

/**
 * As {@link sqliteWrite}, for a transaction whose COMMIT needs no fsync of its own: it runs
 * with SQLite's `synchronous = NORMAL` when the connection is otherwise FULL (`full`). At
 * COMMIT its frames are written to the WAL all the same, so every process on the machine sees
 * them at once and a killed process loses nothing; only a crash of the machine can lose them
 * before the next FULL commit, whose fsync takes the whole WAL up to it. That suits writes
 * nothing durable relies on before a later FULL commit: a lease (it matters only among live
 * processes, and those of a SQLite file are all on one machine, as WAL mode needs shared
 * memory: a crash of the machine ends every holder with it; a run's first events, committed
 * FULL, make the lease durable too) and blobs no version names yet (the version's own FULL
 * commit makes them durable with it).
 */
export function sqliteWriteUnsynced<T>(
  db: DatabaseSync,
  full: boolean,
  path: string,
  operation: string,
  work: () => T,
  sessionId?: string,
): T {
  if (!full) return sqliteWrite(db, path, operation, work, sessionId);
  // The level cannot change inside a transaction: set around it, and set back whatever happens.
  sqliteRead(path, operation, () => db.exec('PRAGMA synchronous = NORMAL'));
  try {
    return sqliteWrite(db, path, operation, work, sessionId);
  } finally {
    sqliteRead(path, operation, () => db.exec('PRAGMA synchronous = FULL'));
  }
}

/**
 * Runs `work` in one `BEGIN IMMEDIATE` transaction, which takes the file's single write lock:
 * no writer of any process interleaves, and node:sqlite is synchronous, so nothing else of
 * this process does either. Rolled back and reported in the store's codes on failure.
 */
export function sqliteWrite<T>(
  db: DatabaseSync,
  path: string,
  operation: string,
  work: () => T,
  sessionId?: string,
): T {
  try {
    db.exec('BEGIN IMMEDIATE');
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw sqliteError(error, path, operation, sessionId);
  }
}
