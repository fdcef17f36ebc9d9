import path from 'node:path';
import type { Command } from 'commander';
import { OrchestratorError } from '../../errors/index.ts';
import type { SessionManager, VersionDiff } from '../../sessions/index.ts';
import { collect, parsePositiveInt } from '../args.ts';
import { createCliContext, type GlobalOptions } from '../context.ts';
import { formatTable, money } from '../format.ts';

const kib = (bytes: number) => (bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`);

/**
 * `sessions versions | version | diff | fork | export | import`: the session verbs that need
 * no model.
 */
export function registerVersionCommands(sessions: Command): void {
  sessions
    .command('versions')
    .argument('<sessionId>', 'the session')
    .description('list the versions (verified snapshots) of a session, oldest first')
    .option('--json', 'print JSON lines')
    .action(async (sessionId: string, options: { json?: boolean }, command: Command) => {
      const { versionRows } = await import('../../reports/index.ts');
      await withSessions(command, async (manager) => {
        const versions = await versionRows(manager, sessionId);
        if (options.json) {
          for (const row of versions) process.stdout.write(`${JSON.stringify(row)}\n`);
          return;
        }
        if (versions.length === 0) {
          process.stdout.write(`session ${sessionId} has no versions yet\n`);
          return;
        }
        process.stdout.write(
          formatTable(
            ['VERSION', 'SEQ', 'CREATED', 'STORED', 'FILES', 'LABEL'],
            versions.map((v) => [
              String(v.version),
              String(v.seq),
              v.createdAt,
              kib(v.newBytes),
              v.workspaceCommit?.slice(0, 10) ?? '-',
              v.label ?? '',
            ]),
          ),
        );
      });
    });

  sessions
    .command('version')
    .argument('<sessionId>', 'the session')
    .description('take a version of a session now (as its log stands)')
    .option('-l, --label <label>', 'a name for the version')
    .option('--json', 'print JSON')
    .action(async (sessionId: string, options: { label?: string; json?: boolean }, command: Command) => {
      await withSessions(command, async (manager) => {
        const record = await manager.takeVersion(sessionId, options.label);
        const line = { sessionId, version: record.version, seq: record.seq, label: record.label };
        process.stdout.write(
          options.json
            ? `${JSON.stringify(line)}\n`
            : `version ${record.version} of ${sessionId} at seq ${record.seq}${record.label ? ` (${record.label})` : ''}\n`,
        );
      });
    });

  sessions
    .command('diff')
    .argument('<sessionId>', 'the session')
    .argument('<from>', 'version to compare from')
    .argument('[to]', 'version to compare to (default: the session now)')
    .description('what changed between two versions: a summary, or the JSON Patch with --json')
    .option('--json', 'print { from, to, summary, patch } (RFC 6902 patch)')
    .action(async (sessionId: string, from: string, to: string | undefined, options: { json?: boolean }, command) => {
      await withSessions(command as Command, async (manager) => {
        const diff = await manager.diff(
          sessionId,
          parsePositiveInt(from, 'FROM'),
          to === undefined ? undefined : parsePositiveInt(to, 'TO'),
        );
        process.stdout.write(options.json ? `${JSON.stringify(diff)}\n` : formatDiff(diff));
      });
    });

  sessions
    .command('fork')
    .argument('<sessionId>', 'the session to fork')
    .description('a new session from a version of another, with its own log and the files of that version')
    .option('--version <n>', 'fork from this version (default: the latest state)')
    .option('--seq <n>', 'fork from this sequence number of the log instead')
    .option('--as <sessionId>', 'id of the new session')
    .option('--json', 'print JSON')
    .action(
      async (
        sessionId: string,
        options: { version?: string; seq?: string; as?: string; json?: boolean },
        command: Command,
      ) => {
        await checkAs(options.as);
        await withSessions(command, async (manager) => {
          if (options.version !== undefined && options.seq !== undefined) {
            throw new OrchestratorError('INVALID_ARGUMENT', 'give --version or --seq, not both');
          }
          const point =
            options.version !== undefined
              ? { version: parsePositiveInt(options.version, '--version') }
              : options.seq !== undefined
                ? { seq: parsePositiveInt(options.seq, '--seq') }
                : { latest: true as const };
          const fork = await manager.fork(sessionId, point, { as: options.as });
          if (options.json) {
            process.stdout.write(`${JSON.stringify(fork)}\n`);
          } else {
            const from = fork.fromVersion === undefined ? `seq ${fork.fromSeq}` : `version ${fork.fromVersion}`;
            process.stdout.write(
              `forked ${fork.fromSessionId} at ${from} as ${fork.sessionId}\n  workspace: ${fork.workspace}${fork.filesRestored ? '' : ' (no files were recorded with it)'}\n  carry on:  orchestrator sessions resume ${fork.sessionId}\n`,
            );
          }
        });
      },
    );

  sessions
    .command('export')
    .argument('<sessionId>', 'the session')
    .description(
      'write a session to one file that any store can import: its log, its versions with their blobs, ' +
        "its agents' transcripts and its workspace history",
    )
    .option('-o, --output <file>', 'the file to write', '')
    .option('--json', 'print JSON')
    .action(async (sessionId: string, options: { output: string; json?: boolean }, command: Command) => {
      await withSessions(command, async (manager) => {
        const file = path.resolve(options.output || `${sessionId}.session.jsonl`);
        const result = await manager.export(sessionId, file);
        if (options.json) {
          process.stdout.write(`${JSON.stringify(result)}\n`);
          return;
        }
        const skipped = result.skippedVersions.length;
        process.stdout.write(
          `exported ${result.events} events of ${sessionId} to ${file}\n` +
            `  ${result.versions} versions (${result.blobs} blobs), ${result.transcripts} transcripts, ` +
            (result.payloads > 0 ? `${result.payloads} stored payloads, ` : '') +
            `workspace history ${kib(result.historyBytes)}; ${kib(result.bytes)} in all\n` +
            (skipped > 0
              ? `  left out ${skipped} damaged version(s): ${result.skippedVersions.join(', ')} (the log rebuilds them)\n`
              : '') +
            (result.skippedPayloads.length > 0
              ? `  left out ${result.skippedPayloads.length} damaged payload(s) (the transcripts hold their values)\n`
              : ''),
        );
      });
    });

  sessions
    .command('import')
    .argument('<file>', 'an export written by `sessions export`')
    .description(
      'read an exported session into this store and data directory (never overwrites one): its log, versions, ' +
        "agents' transcripts (re-keyed to the new workspace) and workspace history, with the files as they were at the export",
    )
    .option('--as <sessionId>', 'import under another session id')
    .option(
      '--workspace-root <dir>',
      "allow the session's own workspace (a folder chosen where it was exported) under this folder (repeatable)",
      collect,
      [] as string[],
    )
    .option('--trust-mcp', 'accept workflow definitions whose agents start MCP servers by command')
    .option('--json', 'print JSON')
    .action(
      async (
        file: string,
        options: { as?: string; workspaceRoot: string[]; trustMcp?: boolean; json?: boolean },
        command: Command,
      ) => {
        await checkAs(options.as);
        await withSessions(command, async (manager) => {
          const result = await manager.import(path.resolve(file), {
            as: options.as,
            workspaceRoots: options.workspaceRoot.map((dir) => path.resolve(dir)),
            trustMcp: options.trustMcp === true,
          });
          if (options.json) {
            process.stdout.write(`${JSON.stringify(result)}\n`);
            return;
          }
          const lines = [`imported ${result.events} events as session ${result.sessionId}`];
          if (result.formatVersion === 1) {
            lines.push('  (a format 1 export: the log only, no versions, transcripts or files)');
          } else {
            lines.push(
              `  ${result.versions} versions, ${result.transcripts} transcripts${result.payloads > 0 ? `, ${result.payloads} stored payloads` : ''}`,
            );
            lines.push(
              `  workspace: ${result.workspace}${result.filesRestored ? ' (the files as they were at the export)' : ' (left as it was)'}`,
            );
            for (const { from, to } of result.renumberedVersions) lines.push(`  version ${from} is version ${to} here`);
          }
          process.stdout.write(`${lines.join('\n')}\n`);
        });
      },
    );
}

/** `--as ID` names folders and branches: refused before anything is read or created. */
async function checkAs(as: string | undefined): Promise<void> {
  if (as === undefined) return;
  const { checkSafeName } = await import('../../security/index.ts');
  checkSafeName(as, '--as');
}

async function withSessions(command: Command, task: (manager: SessionManager) => Promise<void>): Promise<void> {
  const context = await createCliContext(command.optsWithGlobals<GlobalOptions>());
  try {
    await task(await context.openSessions());
  } finally {
    await context.close();
  }
}

/** The readable form of a diff. */
export function formatDiff(diff: VersionDiff): string {
  const { summary } = diff;
  const lines = [
    `session ${diff.sessionId}: version ${diff.from.version} (seq ${diff.from.seq}) -> ${diff.to.version === 'current' ? 'now' : `version ${diff.to.version}`} (seq ${diff.to.seq})`,
    `  events: ${summary.eventsAdded}, agent messages: ${summary.messagesAdded}, cost added: ${money(summary.costAddedUsd)} (SDK estimate ${money(summary.sdkCostAddedUsd)})`,
  ];
  if (summary.nodes.length > 0) {
    lines.push('  nodes:');
    for (const n of summary.nodes) lines.push(`    ${n.nodeId}: ${n.from ?? '(new)'} -> ${n.to ?? '(gone)'}`);
  }
  const { added, removed, changed } = summary.memory;
  if (added.length + removed.length + changed.length > 0) {
    lines.push(
      `  memory: ${[...added.map((k) => `+${k}`), ...changed.map((k) => `~${k}`), ...removed.map((k) => `-${k}`)].join(' ')}`,
    );
  }
  if (summary.files) lines.push(`  files: ${summary.files.length === 0 ? 'none changed' : summary.files.join(', ')}`);
  lines.push(`  patch: ${diff.patch.length} operations (--json prints them)`);
  return `${lines.join('\n')}\n`;
}
