import type { Command } from 'commander';
import { toOrchestratorError } from '../../errors/index.ts';
import { EXIT } from '../exit.ts';

/** `orchestrator validate FILE...` and `orchestrator schema`. */
export function registerValidateCommands(program: Command): void {
  program
    .command('validate')
    .argument('<files...>', 'workflow files')
    .description('check workflow files without running them; problems name file, line and field')
    .option('--json', 'one JSON line per file: { file, ok, workflow?, nodes?, agentTypes?, error? }')
    .action(async (files: string[], flags: { json?: boolean }) => {
      const { loadWorkflowFile } = await import('../../workflow/index.ts');
      let failed = 0;
      for (const file of files) {
        try {
          const workflow = await loadWorkflowFile(file);
          const nodes = workflow.nodeIds.length;
          const agentTypes = Object.keys(workflow.agents).length;
          process.stdout.write(
            flags.json
              ? `${JSON.stringify({ file, ok: true, workflow: workflow.name, nodes, agentTypes })}\n`
              : `${file}: ok (workflow ${workflow.name}, ${nodes} node${nodes === 1 ? '' : 's'}, ${agentTypes} agent types)\n`,
          );
        } catch (error) {
          failed++;
          const failure = toOrchestratorError(error);
          if (flags.json) {
            const line = {
              file,
              ok: false,
              error: { code: failure.code, message: failure.message, details: failure.details },
            };
            process.stdout.write(`${JSON.stringify(line)}\n`);
          } else process.stderr.write(`${failure.message}\n`);
        }
      }
      if (failed > 0) process.exitCode = EXIT.usage;
    });

  program
    .command('schema')
    .description('print the JSON Schema of workflow files (for editor validation and completion)')
    .action(async () => {
      const { workflowJsonSchema } = await import('../../workflow/index.ts');
      process.stdout.write(`${JSON.stringify(workflowJsonSchema(), null, 2)}\n`);
    });
}
