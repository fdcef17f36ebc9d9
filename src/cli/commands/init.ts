import { copyFile, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { OrchestratorError } from '../../errors/index.ts';
import { packagePath } from '../../package-root.ts';

/** The starter (examples/hello): the smallest real workflow and the scenario that scripts it offline. */
const FILES = ['workflow.yaml', 'scenario.yaml'] as const;

/**
 * `orchestrator init [DIR]`: writes a starter workflow and its offline scenario into DIR (the
 * current folder by default), so `orchestrator run DIR/workflow.yaml` works at once, with or
 * without a key. An existing file is never overwritten.
 */
export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .argument('[dir]', 'folder to write the starter into', '.')
    .description('write a starter workflow (workflow.yaml) and its offline scenario (scenario.yaml)')
    .action(async (dir: string) => {
      const target = path.resolve(dir);
      for (const file of FILES) {
        const existing = await stat(path.join(target, file)).catch(() => undefined);
        if (existing) {
          throw new OrchestratorError('INVALID_ARGUMENT', `${path.join(target, file)} exists; nothing was written`, {
            details: { file: path.join(target, file) },
          });
        }
      }
      await mkdir(target, { recursive: true });
      for (const file of FILES) await copyFile(packagePath('examples', 'hello', file), path.join(target, file));
      const workflow = path.relative(process.cwd(), path.join(target, 'workflow.yaml')) || 'workflow.yaml';
      process.stdout.write(
        `wrote ${FILES.join(' and ')} in ${target}\nnext: orchestrator run ${workflow}   (offline: scenario.yaml beside it scripts the model)\n`,
      );
    });
}
