import { userInfo } from 'node:os';
import { OrchestratorError } from '../errors/index.ts';

/**
 * A connection URL safe to show: the password is replaced by `***`. Anything that is not a
 * `postgres://` or `postgresql://` URL is not echoed at all, since it might hold a password in a
 * shape we cannot find.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!/^postgres(ql)?:$/.test(parsed.protocol)) return '<unparseable PostgreSQL URL>';
    if (parsed.password !== '') parsed.password = '***';
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
    return parsed.toString();
  } catch {
    return '<unparseable PostgreSQL URL>';
  }
}

/**
 * Fills in the user name the way libpq does when the URL has none (PGUSER, then the OS user),
 * because `pg` would otherwise rely on `$USER`, which services and containers often lack.
 */
export function withDefaultUser(url: string): string {
  try {
    const parsed = new URL(url);
    if (!/^postgres(ql)?:$/.test(parsed.protocol) || parsed.username !== '' || parsed.hostname === '') return url;
    parsed.username = encodeURIComponent(process.env.PGUSER || process.env.USER || userInfo().username);
    return parsed.toString();
  } catch {
    return url;
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/**
 * Server states that mean "not reachable now": shutdown, starting up, too many connections, or
 * the server ended this connection for sitting idle (in a transaction: 25P03, the timeout we
 * set, which a process frozen mid-append meets; outside one: 57P05). The transaction in flight
 * is then rolled back, and the write is retried as after any lost connection.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '57P05', '25P03', '53300']);
/** Refusals that retrying will not fix: bad credentials, unknown database or role. */
const REFUSED_SQLSTATES = new Set(['28000', '28P01', '3D000']);
const CONNECTION_MESSAGE =
  /connection terminated|timeout exceeded when trying to connect|connection error|not queryable/i;

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const nested = (error as { errors?: unknown } | null)?.errors;
  return Array.isArray(nested) ? codeOf(nested[0]) : undefined;
}

/** Maps a `pg` error to the store's codes, naming the server without its password. */
export function postgresError(error: unknown, url: string, operation: string, sessionId?: string): OrchestratorError {
  if (error instanceof OrchestratorError) return error;
  const code = codeOf(error);
  const reason = error instanceof Error && error.message !== '' ? error.message : String(code ?? error);
  const where = redactUrl(url);
  const details = { url: where, operation, pgCode: code ?? null };
  if (code !== undefined && (NETWORK_CODES.has(code) || code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code))) {
    return unavailable(where, reason, error, details, true);
  }
  if (code !== undefined && REFUSED_SQLSTATES.has(code)) return unavailable(where, reason, error, details, false);
  if (code === undefined && CONNECTION_MESSAGE.test(reason)) return unavailable(where, reason, error, details, true);
  if (code === '23505' && (error as { constraint?: unknown }).constraint === 'events_id_key') {
    return new OrchestratorError(
      'EVENT_DUPLICATE',
      `append${sessionId === undefined ? '' : ` to session "${sessionId}"`}: an event id is already stored or repeated`,
      { cause: error, details: { ...details, sessionId: sessionId ?? null } },
    );
  }
  // Deadlocks and serialization failures are transient: the same write may succeed when retried.
  const transient = code === '40P01' || code === '40001';
  return new OrchestratorError('INTERNAL', `PostgreSQL store at ${where} failed (${operation}): ${reason}`, {
    cause: error,
    details,
    retryable: transient,
  });
}

function unavailable(
  where: string,
  reason: string,
  cause: unknown,
  details: Record<string, unknown>,
  retryable: boolean,
): OrchestratorError {
  return new OrchestratorError('STORE_UNAVAILABLE', `PostgreSQL not reachable at ${where}: ${reason}`, {
    cause,
    details,
    retryable,
  });
}
