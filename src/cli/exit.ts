/**
 * Exit codes of the CLI: 0 success, 1 a run or operation failed, 2 bad input (an unknown
 * session included), 3 the store or the configuration cannot be used (unreachable, damaged,
 * a data directory that is not a folder, an invalid setting), 75 a run paused by its budget (EX_TEMPFAIL: resumable once
 * the limit is raised), 130 stopped by SIGINT (Ctrl-C), 143 stopped by SIGTERM (128 + the
 * signal number, as a shell reports a process killed by it; the session stays resumable).
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  setup: 3,
  budgetPaused: 75,
  interrupted: 130,
  terminated: 143,
} as const;

/** The exit code of an error that ended a command. */
export function exitCodeOfError(error: { readonly code: string; readonly status: number }): number {
  if (error.code === 'CONFIG_INVALID' || error.code.startsWith('STORE_')) return EXIT.setup;
  return error.status < 500 ? EXIT.usage : EXIT.failed;
}
