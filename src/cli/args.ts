import type { Command } from 'commander';
import { OrchestratorError } from '../errors/index.ts';

// The parsers of the CLI's flags and arguments, and the flags several commands share, in one
// place. Cheap to load on purpose: every command's registration may import it, and `--help`
// must not pay for more than Commander (see main.ts).

/** Commander's reducer for a repeatable flag: the values in the order given. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * Parses an integer flag or argument >= 1, naming it in the error.
 * @throws OrchestratorError `INVALID_ARGUMENT` (exit 2) naming `what` and the text given
 */
export function parsePositiveInt(value: string, what: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1) {
    throw new OrchestratorError('INVALID_ARGUMENT', `${what} expects a positive integer, got "${value}"`, {
      details: { field: what, value },
    });
  }
  return n;
}

/**
 * Parses repeated `NAME=VALUE` flags (`--input k=v`, `--answer node=v`) into a record.
 * @throws OrchestratorError `INVALID_ARGUMENT` naming the flag and the malformed value
 */
export function parsePairs(values: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const at = value.indexOf('=');
    if (at <= 0) throw new OrchestratorError('INVALID_ARGUMENT', `${flag} expects NAME=VALUE, got "${value}"`);
    out[value.slice(0, at)] = value.slice(at + 1);
  }
  return out;
}

/** The `--budget-*` flags of `run` and `sessions resume`, as Commander gives them. */
export interface BudgetFlags {
  budgetSession?: string;
  budgetWorkflow?: string;
  budgetAgentType: string[];
}

/** Adds the `--budget-*` flags to a command (`runConfig` in run-config.ts reads them). */
export function addBudgetOptions(command: Command): Command {
  return command
    .option('--budget-session <usd>', 'cost limit of the session in US dollars (env ORCHESTRATOR_BUDGET_SESSION_USD)')
    .option('--budget-workflow <usd>', 'cost limit of a workflow run (env ORCHESTRATOR_BUDGET_WORKFLOW_USD)')
    .option(
      '--budget-agent-type <type=usd,...>',
      'cost limits per agent type over the session (repeatable; env ORCHESTRATOR_BUDGET_AGENT_TYPES, per type)',
      collect,
      [],
    );
}
