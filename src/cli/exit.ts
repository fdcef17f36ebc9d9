/**
 * Exit codes of the CLI: 0 success, 1 a run or operation failed, 2 bad input or configuration
 * (an unknown session included), 75 a run paused by its budget (EX_TEMPFAIL: resumable once
 * the limit is raised), 130 stopped by SIGINT (Ctrl-C), 143 stopped by SIGTERM (128 + the
 * signal number, as a shell reports a process killed by it; the session stays resumable).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, budgetPaused: 75, interrupted: 130, terminated: 143 } as const;
