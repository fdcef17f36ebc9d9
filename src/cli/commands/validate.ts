import type { Command } from 'commander';
import { loadWorkflowFile, workflowJsonSchema } from '../../workflow/index.ts';

/** `orchestrator validate FILE...` and `orchestrator schema`. */
export function registerValidateCommands(program: Command): void {
  program
    .command('validate')
    .argument('<files...>', 'workflow files')
    .description('check workflow files without running them; problems name file, line and field')
    .action(async (files: string[]) => {
      let failed = 0;
      for (const file of files) {
        try {
          const workflow = await loadWorkflowFile(file);
          const nodes = workflow.nodeIds.length;
          process.stdout.write(
            `${file}: ok (workflow ${workflow.name}, ${nodes} node${nodes === 1 ? '' : 's'}, ${Object.keys(workflow.agents).length} agent types)\n`,
          );
        } catch (error) {
          failed++;
          process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
        }
      }
      if (failed > 0) process.exitCode = 2;
    });

  program
    .command('schema')
    .description('print the JSON Schema of workflow files (for editor validation and completion)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(workflowJsonSchema(), null, 2)}\n`);
    });
}
