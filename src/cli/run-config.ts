import { loadConfig, type OrchestratorConfig } from '../config/index.ts';
import { OrchestratorError } from '../errors/index.ts';
import type { BudgetFlags } from './args.ts';
import type { GlobalOptions } from './context.ts';

/**
 * The configuration of a run: environment, global flags, the `--budget-*` flags, which
 * override `ORCHESTRATOR_BUDGET_SESSION_USD`, `ORCHESTRATOR_BUDGET_WORKFLOW_USD` and, type by
 * type, `ORCHESTRATOR_BUDGET_AGENT_TYPES`, and `--model-log`, which overrides
 * `ORCHESTRATOR_MODEL_LOG`. Limits written in a workflow file are not changed: the lower of
 * the two applies.
 * @throws OrchestratorError `INVALID_ARGUMENT` naming the flag of a bad amount; `CONFIG_INVALID`.
 */
export function runConfig(
  globals: GlobalOptions,
  flags: BudgetFlags & { readonly modelLog?: string | undefined },
): OrchestratorConfig {
  const base = {
    dataDir: globals.dataDir,
    store: globals.store,
    logLevel: globals.logLevel ?? 'warn',
    modelLog: flags.modelLog,
    budgetSessionUsd: dollars(flags.budgetSession, '--budget-session'),
    budgetWorkflowUsd: dollars(flags.budgetWorkflow, '--budget-workflow'),
  };
  const byType = limitsByType(flags.budgetAgentType ?? []);
  const config = loadConfig(base);
  if (Object.keys(byType).length === 0) return config;
  return loadConfig({ ...base, budgetAgentTypes: { ...config.budgetAgentTypes, ...byType } });
}

function dollars(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const usd = Number(value);
  if (value.trim() === '' || !Number.isFinite(usd) || usd < 0) {
    throw new OrchestratorError('INVALID_ARGUMENT', `${flag} expects an amount of US dollars >= 0, got "${value}"`);
  }
  return usd;
}

function limitsByType(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of values.flatMap((value) => value.split(',')).map((p) => p.trim())) {
    if (part === '') continue;
    const at = part.indexOf('=');
    const name = part.slice(0, at).trim();
    if (at <= 0 || name === '') {
      throw new OrchestratorError('INVALID_ARGUMENT', `--budget-agent-type expects TYPE=USD pairs, got "${part}"`);
    }
    out[name] = dollars(part.slice(at + 1), `--budget-agent-type ${name}`) as number;
  }
  return out;
}
