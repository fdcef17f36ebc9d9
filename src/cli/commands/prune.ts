import type { Command } from 'commander';
import type { PruneOptions, PruneResult, SessionStatus } from '../../sessions/index.ts';
import { createCliContext, type GlobalOptions } from '../context.ts';
import { formatTable } from '../format.ts';

/**
 * The statuses `--status` takes, as its help lists them: the sessions area's
 * `SESSION_STATUSES`, spelled out here so that `--help` loads nothing (a test keeps them equal).
 */
export const PRUNE_STATUSES: readonly SessionStatus[] = [
  'completed',
  'failed',
  'cancelled',
  'running',
  'paused',
  'awaiting_input',
  'rolling_back',
  'empty',
];

interface PruneFlags {
  olderThan?: string;
  status?: string;
  keepVersions?: string;
  includeLabelled?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

const FLAG_NAMES = { olderThan: '--older-than', status: '--status', keepVersions: '--keep-versions' } as const;

/** The prune options a command line asks for; every bad flag is reported at once, by its name. */
export async function pruneOptionsOf(flags: PruneFlags): Promise<PruneOptions> {
  const { compilePruneOptions } = await import('../../sessions/index.ts');
  const options: PruneOptions = {
    ...(flags.olderThan !== undefined && { olderThan: flags.olderThan }),
    ...(flags.status !== undefined && {
      status: flags.status
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    }),
    // A count that is not digits goes through as the text it is, so the one error names it.
    ...(flags.keepVersions !== undefined && {
      keepVersions: (/^\d+$/.test(flags.keepVersions) ? Number(flags.keepVersions) : flags.keepVersions) as number,
    }),
    ...(flags.includeLabelled && { includeLabelled: true }),
    ...(flags.dryRun && { dryRun: true }),
  };
  compilePruneOptions(options, FLAG_NAMES);
  return options;
}

/** `orchestrator sessions prune`: retention by age, status and versions kept. */
export function registerPruneCommand(sessions: Command): void {
  sessions
    .command('prune')
    .description('delete old sessions and old versions, then compact storage (--dry-run shows the plan)')
    .option('--older-than <duration>', "delete sessions whose last event is older, e.g. '30d', '12h'")
    .option(
      '--status <list>',
      `with --older-than, only sessions in these states (comma-separated: ${PRUNE_STATUSES.join(', ')})`,
    )
    .option('--keep-versions <n>', 'keep only the newest N versions of every remaining session')
    .option('--include-labelled', 'let --keep-versions delete labelled versions too')
    .option('--dry-run', 'print what would be deleted; change nothing')
    .option('--json', 'print the plan and figures as JSON')
    .addHelpText(
      'after',
      '\nWith --older-than, only completed, failed and cancelled sessions are deleted unless --status says otherwise.\nA deleted session takes its events, versions, agent transcripts, workspace history and worktrees along,\nand its workspace folder when that is under the data directory (a --workspace folder of yours stays).',
    )
    .action(async (flags: PruneFlags, command: Command) => {
      const options = await pruneOptionsOf(flags);
      const context = await createCliContext(command.optsWithGlobals<GlobalOptions>());
      try {
        const manager = await context.openSessions();
        const result = await manager.prune(options);
        process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : formatPrune(result));
        // Some sessions could not be pruned (reported above): the operation did not fully succeed.
        if (result.failed.length > 0) process.exitCode = 1;
      } finally {
        await context.close();
      }
    });
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The readable account of a prune: what went (or would go), what stayed and why. */
export function formatPrune(result: PruneResult): string {
  const { plan, totals, dryRun } = result;
  const verb = dryRun ? 'would delete' : 'deleted';
  let text = dryRun ? 'dry run: nothing was changed\n' : '';
  text += `${verb} ${plural(totals.sessions, 'session')}`;
  text +=
    totals.sessions === 0
      ? '\n'
      : ` (${plural(totals.events, 'event')}, ${plural(totals.versions, 'version')}, ${plural(totals.transcripts, 'agent transcript')}, ${plural(totals.folders, 'folder')})\n`;
  if (plan.deletions.length > 0) {
    text += formatTable(
      ['SESSION', 'STATUS', 'LAST EVENT', 'EVENTS', 'VERSIONS', 'WHY'],
      plan.deletions.map((d) => [
        d.sessionId,
        d.status,
        d.lastEventAt,
        String(d.events),
        String(d.versions.length),
        d.reason,
      ]),
    ).replace(/^(?=.)/gm, '  ');
    for (const d of plan.deletions) for (const note of d.notes) text += `  ${d.sessionId}: ${note}\n`;
  }
  if (plan.trims.length > 0) {
    text += `${verb} ${plural(totals.trimmedVersions, 'older version')} of ${plural(plan.trims.length, 'remaining session')}\n`;
    for (const trim of plan.trims) {
      const labelled = trim.labelledKept.length > 0 ? ` (labelled, kept: ${trim.labelledKept.join(', ')})` : '';
      text += `  ${trim.sessionId}: ${trim.versions.length === 0 ? 'none' : trim.versions.join(', ')}${labelled}\n`;
    }
  }
  if (plan.kept.length > 0) {
    const counts = new Map<string, number>();
    for (const k of plan.kept) counts.set(KEPT[k.why], (counts.get(KEPT[k.why]) ?? 0) + 1);
    const why = [...counts].map(([w, n]) => `${n} ${w}`).join(', ');
    text += `kept ${plural(plan.kept.length, 'session')} whole (${why}; --json gives each one's reason)\n`;
  }
  text += dryRun
    ? 'compaction of unreferenced blobs runs when applied\n'
    : `compaction deleted ${plural(totals.blobs ?? 0, 'unreferenced blob')}\n`;
  for (const failure of result.failed) text += `not pruned: ${failure.sessionId}: ${failure.reason}\n`;
  return text;
}

const KEPT = {
  recent: 'recent',
  status: 'in a status not deleted',
  unreadable: 'unreadable',
  'no-age': 'without --older-than',
} as const;
