import type { SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';
import { type ErrorCode, OrchestratorError } from '../errors/index.ts';

/**
 * Turns the ways an SDK attempt can end badly into typed errors with a retry verdict.
 * Transient: rate limits, overload, server errors, network faults, a dying process and our own
 * timeout. Permanent: invalid requests, authentication, max turns, budgets, schema failures,
 * and an interrupt the user asked for.
 */
export function classifyResultError(result: SDKResultMessage, stderrTail: string): OrchestratorError {
  const details = { subtype: result.subtype, turns: result.num_turns, stopReason: result.stop_reason };
  switch (result.subtype) {
    case 'error_max_turns':
      return new OrchestratorError('AGENT_MAX_TURNS', `the agent used all of its ${result.num_turns} turns`, {
        details,
      });
    case 'error_max_budget_usd':
      return new OrchestratorError(
        'BUDGET_EXHAUSTED',
        `the agent reached its budget (spent $${result.total_cost_usd.toFixed(4)})`,
        { details: { ...details, costUsd: result.total_cost_usd } },
      );
    case 'error_max_structured_output_retries':
      return new OrchestratorError('AGENT_OUTPUT_INVALID', 'the agent never produced output matching the schema', {
        details,
      });
    case 'error_during_execution': {
      const reason = (result as { terminal_reason?: string }).terminal_reason;
      if (reason?.startsWith('aborted')) {
        return new OrchestratorError('AGENT_INTERRUPTED', 'the agent was interrupted', {
          details: { ...details, reason },
        });
      }
      const errors = result.errors.join('; ');
      return new OrchestratorError('AGENT_FAILED', errors || stderrTail || 'the agent failed during execution', {
        details: { ...details, reason },
      });
    }
    case 'success': {
      const status = (result as { api_error_status?: number | null }).api_error_status ?? null;
      const text = typeof result.result === 'string' ? result.result : '';
      return fromApiStatus(status, text || 'the model API returned an error');
    }
  }
}

/** The typed error for an HTTP status the model API kept returning after Claude Code's retries. */
export function fromApiStatus(status: number | null, message: string): OrchestratorError {
  let code: ErrorCode;
  if (status === 429) code = 'AGENT_RATE_LIMITED';
  else if (status === 529) code = 'AGENT_OVERLOADED';
  else if (status === 401 || status === 403) code = 'AGENT_AUTH_FAILED';
  else if (status !== null && status >= 400 && status < 500) code = 'AGENT_INVALID_REQUEST';
  else if (status !== null && status >= 500) code = 'AGENT_API_ERROR';
  else code = 'AGENT_NETWORK';
  return new OrchestratorError(code, `model API error${status ? ` ${status}` : ''}: ${message}`, {
    details: { status },
  });
}

/** Classifies an exception thrown by the SDK's iterator when no result explained it. */
export function classifyThrown(
  error: unknown,
  context: { exitCode: number | null; stderrTail: string },
): OrchestratorError {
  if (error instanceof OrchestratorError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && error.name === 'AbortError') {
    return new OrchestratorError('AGENT_INTERRUPTED', 'the agent was aborted', { cause: error });
  }
  const tail = context.stderrTail ? ` (stderr: ${context.stderrTail})` : '';
  return new OrchestratorError('AGENT_PROCESS_DIED', `the agent process failed: ${message}${tail}`, {
    cause: error,
    details: { exitCode: context.exitCode },
  });
}
