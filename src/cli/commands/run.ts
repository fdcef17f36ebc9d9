import { type Command, Option } from 'commander';
import { OrchestratorError } from '../../errors/index.ts';
import type { CompiledWorkflow } from '../../workflow/index.ts';
import { addBudgetOptions, type BudgetFlags, collect, parsePairs } from '../args.ts';
import type { GlobalOptions } from '../context.ts';

interface RunFlags extends BudgetFlags {
  input: string[];
  answer: string[];
  json?: boolean;
  /** False with `--no-live`. */
  live?: boolean;
  yes?: boolean;
  modelServer?: string;
  modelLog?: string;
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
    .option('--no-live', 'plain progress lines even on a terminal (no live block at the bottom)')
    .addOption(new Option('--model-server <scenario>', 'use the offline scripted model with this scenario file'))
    .option(
      '--model-log <file>',
      "append the scripted model's requests to this file as JSON lines (env ORCHESTRATOR_MODEL_LOG)",
    )
    .option('--workspace <dir>', 'existing folder the agents work in (default: a new folder under the data dir)')
    .option('--session <id>', 'session id to use (default: a new one)');
  addBudgetOptions(run).action(async (file: string, flags: RunFlags, command: Command) => {
    const [{ checkSafeName }, { loadWorkflowFile, resolveInputs }, { runConfig }, { driveRun }, { scenarioBeside }] =
      await Promise.all([
        import('../../security/index.ts'),
        import('../../workflow/index.ts'),
        import('../run-config.ts'),
        import('../drive.ts'),
        import('../scenario-choice.ts'),
      ]);
    const globals = command.optsWithGlobals<GlobalOptions>();
    // A session id names folders and branches: refused before anything is read or created.
    if (flags.session !== undefined) checkSafeName(flags.session, '--session');
    const workflow = await loadWorkflowFile(file);
    // Inputs are checked before anything starts, so a typo costs nothing.
    const inputs = resolveInputs(workflow, parsePairs(flags.input, '--input'), { fromStrings: true });
    checkAnswerNodes(workflow, parsePairs(flags.answer, '--answer'));
    const config = runConfig(globals, flags);
    await driveRun({
      config,
      scenario: flags.modelServer ?? (config.anthropicApiKey ? undefined : scenarioBeside(file)),
      json: flags.json === true,
      live: flags.live !== false,
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

/**
 * `--answer NODE=VALUE` names human or approval nodes of the workflow: another name is a typo
 * (or a node that never asks), refused before anything starts.
 * @throws OrchestratorError `INVALID_ARGUMENT` naming the node and the ones that ask
 */
function checkAnswerNodes(workflow: CompiledWorkflow, answers: Readonly<Record<string, string>>): void {
  const asking = (workflow.definition.nodes ?? [])
    .filter((node) => node.kind === 'human' || node.kind === 'approval')
    .map((node) => node.id);
  for (const nodeId of Object.keys(answers)) {
    if (asking.includes(nodeId)) continue;
    const known = asking.length > 0 ? `; the nodes that ask are: ${asking.join(', ')}` : '; no node of it asks';
    throw new OrchestratorError(
      'INVALID_ARGUMENT',
      `--answer ${nodeId}=...: the workflow has no human or approval node "${nodeId}"${known}`,
      {
        details: { field: '--answer', nodeId, asking },
      },
    );
  }
}

function failureSummary(state: {
  nodes: Record<string, { id: string; status: string; error?: { code: string; message: string } }>;
}): string {
  const failed = Object.values(state.nodes).filter((n) => n.status === 'failed');
  return ['failed nodes:', ...failed.map((n) => `  ${n.id}: [${n.error?.code}] ${n.error?.message}`)].join('\n');
}
