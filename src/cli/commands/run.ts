import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { checkSafeName } from '../../security/index.ts';
import { loadWorkflowFile, resolveInputs } from '../../workflow/index.ts';
import type { GlobalOptions } from '../context.ts';
import { driveRun } from '../drive.ts';
import { parsePairs } from '../follow.ts';
import { addBudgetOptions, type BudgetFlags, runConfig } from '../run-config.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

interface RunFlags extends BudgetFlags {
  input: string[];
  answer: string[];
  json?: boolean;
  yes?: boolean;
  modelServer?: string;
  workspace?: string;
  session?: string;
}

/** `orchestrator run FILE`: the main job. */
export function registerRunCommand(program: Command): void {
  const run = program
    .command('run')
    .argument('<file>', 'workflow file (YAML)')
    .description('run a workflow with live progress; exits 0 when it completes')
    .option('-i, --input <name=value>', 'a workflow input (repeatable)', collect, [])
    .option('-a, --answer <node=value>', 'answer for a human or approval node (repeatable)', collect, [])
    .option('-y, --yes', 'approve approvals without asking')
    .option('--json', 'print events as JSON lines instead of progress')
    .addOption(new Option('--model-server <scenario>', 'use the offline scripted model with this scenario file'))
    .option('--workspace <dir>', 'existing folder the agents work in (default: a new folder under the data dir)')
    .option('--session <id>', 'session id to use (default: a new one)');
  addBudgetOptions(run).action(async (file: string, flags: RunFlags, command: Command) => {
    const globals = command.optsWithGlobals<GlobalOptions>();
    // A session id names folders and branches: refused before anything is read or created.
    if (flags.session !== undefined) checkSafeName(flags.session, '--session');
    const workflow = await loadWorkflowFile(file);
    // Inputs are checked before anything starts, so a typo costs nothing.
    const inputs = resolveInputs(workflow, parsePairs(flags.input, '--input'), { fromStrings: true });
    const config = runConfig(globals, flags);
    await driveRun({
      config,
      scenario: flags.modelServer ?? (config.anthropicApiKey ? undefined : scenarioBeside(file)),
      json: flags.json === true,
      yes: flags.yes === true,
      answers: flags.answer,
      async start(orchestrator, say) {
        const handle = await orchestrator.startWorkflow(workflow, {
          inputs,
          ...(flags.workspace && { workspace: flags.workspace }),
          ...(flags.session && { sessionId: flags.session }),
        });
        say(`workspace: ${handle.workspace}`);
        return handle;
      },
      onUnfinished(handle, status, say) {
        if (status === 'failed') say(failureSummary(handle.state));
        say(`resume or inspect with: orchestrator sessions show ${handle.sessionId}`);
      },
    });
  });
}

/** The offline scenario that belongs to a workflow file: `NAME.scenario.yaml` or `scenario.yaml` beside it. */
export function scenarioBeside(file: string): string | undefined {
  const dir = path.dirname(file);
  const base = path.basename(file).replace(/\.ya?ml$/, '');
  for (const candidate of [path.join(dir, `${base}.scenario.yaml`), path.join(dir, 'scenario.yaml')]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function failureSummary(state: {
  nodes: Record<string, { id: string; status: string; error?: { code: string; message: string } }>;
}): string {
  const failed = Object.values(state.nodes).filter((n) => n.status === 'failed');
  return ['failed nodes:', ...failed.map((n) => `  ${n.id}: [${n.error?.code}] ${n.error?.message}`)].join('\n');
}
