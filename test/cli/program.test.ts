import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { PRUNE_STATUSES } from '../../src/cli/commands/prune.ts';
import { LIST_STATUSES } from '../../src/cli/commands/sessions.ts';
import { buildProgram } from '../../src/cli/index.ts';
import { ROW_STATUSES } from '../../src/reports/index.ts';
import { SESSION_STATUSES } from '../../src/sessions/index.ts';

// The command tree registered for `--help` is complete (the README's list of commands and the
// program agree, both ways), and the lists the help texts spell out to stay cheap to load are
// the library's own.

/** Every command path of the program (`sessions list`), leaves and groups with an action. */
function commandPaths(command: Command, prefix: string[] = []): string[] {
  return command.commands.flatMap((sub) => {
    const path = [...prefix, sub.name()];
    return sub.commands.length > 0 ? commandPaths(sub, path) : [path.join(' ')];
  });
}

/** The commands the README's "Command line" block lists: `orchestrator WORDS` up to the first argument or flag. */
function readmeCommands(): string[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Command line'));
  const block = section.slice(section.indexOf('```'), section.indexOf('```', section.indexOf('```') + 3));
  const paths = new Set<string>();
  for (const line of block.split('\n')) {
    const words = /^orchestrator ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)/.exec(line)?.[1]?.split(' ') ?? [];
    // `sessions list`, `keys create`, `run FILE` (an upper-case argument ends the command).
    const group = words[0] === 'sessions' || words[0] === 'keys';
    if (words.length > 0) paths.add(group ? words.join(' ') : (words[0] as string));
  }
  return [...paths].sort();
}

describe('the command line program', () => {
  it('registers every command the README lists, and the README lists every command', () => {
    expect(commandPaths(buildProgram()).sort()).toEqual(readmeCommands());
  });

  it('lists in help texts the statuses the library knows', () => {
    expect(PRUNE_STATUSES).toEqual(SESSION_STATUSES);
    expect(LIST_STATUSES).toEqual(ROW_STATUSES);
    const sessions = buildProgram().commands.find((c) => c.name() === 'sessions');
    const list = sessions?.commands.find((c) => c.name() === 'list');
    expect(list?.options.find((o) => o.long === '--status')?.description).toContain(ROW_STATUSES.join(', '));
  });

  it('gives every list a --json', () => {
    const sessions = buildProgram().commands.find((c) => c.name() === 'sessions') as Command;
    const lists = [
      sessions.commands.find((c) => c.name() === 'list'),
      sessions.commands.find((c) => c.name() === 'versions'),
      buildProgram().commands.find((c) => c.name() === 'stats'),
      buildProgram().commands.find((c) => c.name() === 'events'),
    ];
    for (const command of lists) expect(command?.options.map((o) => o.long)).toContain('--json');
  });
});
