import type { Command } from 'commander';
import { createCliContext, type GlobalOptions } from '../context.ts';

/** `orchestrator config`: prints the resolved configuration with secrets redacted. */
export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description('print the resolved configuration (secrets redacted) and exit')
    .option('--json', 'one line of JSON instead of the indented form')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const { redactConfig } = await import('../../config/index.ts');
      const context = await createCliContext(command.optsWithGlobals<GlobalOptions>());
      // Field names say what is secret; the redactor also catches a known value anywhere else.
      const text = JSON.stringify(redactConfig(context.config), null, flags.json ? undefined : 2);
      process.stdout.write(`${context.redactor.redactText(text)}\n`);
      await context.close();
    });
}
