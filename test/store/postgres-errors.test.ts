import { describe, expect, it } from 'vitest';
import { postgresError } from '../../src/store/postgres-errors.ts';

/** An error shaped as `pg` reports a server error: a message and the SQLSTATE as `code`. */
function serverError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

const URL = 'postgres://orch:secret@127.0.0.1:5432/test';

describe('PostgreSQL errors as the store reports them', () => {
  it.each([
    ['25P03', 'terminating connection due to idle-in-transaction timeout'],
    ['57P05', 'terminating connection due to idle-session timeout'],
    ['57P01', 'terminating connection due to administrator command'],
    ['08006', 'connection failure'],
  ])(
    '%s (the server ended the connection) is STORE_UNAVAILABLE and retryable, so the write is retried',
    (code, message) => {
      const error = postgresError(serverError(code, message), URL, 'append', 'ses_a');
      expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true, details: { pgCode: code } });
      expect(error.message).not.toContain('secret');
    },
  );

  it('a constraint the write broke is not a lost connection', () => {
    const error = postgresError(serverError('23514', 'new row violates check constraint'), URL, 'append');
    expect(error).toMatchObject({ code: 'INTERNAL', retryable: false });
  });
});
