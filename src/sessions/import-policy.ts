import path from 'node:path';
import { OrchestratorError } from '../errors/index.ts';
import { isWithin } from '../security/index.ts';

/**
 * What an operator trusts of a file it imports. An export is data from elsewhere, and a
 * resumed session acts on it: its agents work in the session's workspace, and the MCP servers
 * its workflow definitions name are started as commands. So an import refuses, before it
 * writes anything, a workspace outside the folders the operator allows and definitions whose
 * agents start commands, unless the operator says otherwise.
 */
export interface ImportTrust {
  /**
   * Folders, besides the data directory, where an imported session's own workspace (a folder
   * the user chose where it was exported) may be (CLI: `--workspace-root DIR`). @default []
   */
  readonly workspaceRoots?: readonly string[] | undefined;
  /** Accept workflow definitions whose agents start MCP servers by command (CLI: `--trust-mcp`). @default false */
  readonly trustMcp?: boolean | undefined;
}

/** The `IMPORT_REFUSED` error: what was refused, where in the file, and how to allow it. */
export function refusedImport(
  file: string,
  why: string,
  allow: string,
  details: Record<string, unknown>,
): OrchestratorError {
  return new OrchestratorError('IMPORT_REFUSED', `${file}: ${why}; nothing was written. ${allow}`, {
    details: { file, ...details },
  });
}

/**
 * Checks that a workspace an import would use lies in the data directory or a folder the
 * operator allows.
 * @throws OrchestratorError `IMPORT_REFUSED`
 */
export function checkImportedWorkspace(file: string, workspace: string, dataDir: string, trust: ImportTrust): void {
  const roots = [dataDir, ...(trust.workspaceRoots ?? [])];
  if (!path.isAbsolute(workspace)) {
    throw refusedImport(file, `the recorded workspace ${JSON.stringify(workspace)} is not an absolute path`, '', {
      workspace,
    });
  }
  if (roots.some((root) => isWithin(root, workspace))) return;
  throw refusedImport(
    file,
    `the session's recorded workspace ${workspace} is outside the data directory (${path.resolve(dataDir)})`,
    'Allow its folder with --workspace-root DIR (workspaceRoots), or import it under another id (--as ID) to give it a workspace in the data directory.',
    { workspace, allowed: roots.map((root) => path.resolve(root)) },
  );
}

/**
 * The MCP servers started by command that a workflow definition's agent types name, as
 * `agents.NAME.mcpServers.SERVER: command args`.
 */
export function mcpCommandsOf(definition: unknown): string[] {
  const found: string[] = [];
  const agents = record(record(definition)?.agents);
  for (const [name, type] of Object.entries(agents ?? {})) {
    for (const [server, config] of Object.entries(record(record(type)?.mcpServers) ?? {})) {
      const command = record(config)?.command;
      if (typeof command !== 'string') continue;
      const args = record(config)?.args;
      const shown = [command, ...(Array.isArray(args) ? args.map(String) : [])].join(' ');
      found.push(`agents.${name}.mcpServers.${server}: ${shown.length > 120 ? `${shown.slice(0, 120)}…` : shown}`);
    }
  }
  return found;
}

/** @throws OrchestratorError `IMPORT_REFUSED` when `commands` is not empty and MCP commands are not trusted */
export function checkMcpCommands(file: string, commands: readonly string[], trust: ImportTrust): void {
  if (commands.length === 0 || trust.trustMcp === true) return;
  const shown = [...new Set(commands)];
  throw refusedImport(
    file,
    `its workflow definitions start ${shown.length} MCP server(s) by command when the session is resumed (${shown.slice(0, 5).join('; ')}${shown.length > 5 ? '; …' : ''})`,
    'Read them, and pass --trust-mcp (trustMcp: true) if you accept to run them.',
    { mcpCommands: shown },
  );
}

/** Collects what an import checks as its events stream by: recorded workspaces and MCP commands. */
export class ImportFindings {
  /** The workspace the log would give the session (the last one an event records). */
  workspace: string | undefined;
  readonly mcpCommands: string[] = [];

  /** Looks at one event of the file. */
  observe(event: { type?: unknown; data?: unknown }): void {
    const data = record(event.data);
    if (!data) return;
    if (event.type === 'session.created' || event.type === 'session.forked' || event.type === 'session.imported') {
      if (typeof data.workspace === 'string') this.workspace = data.workspace;
    }
    if (event.type === 'workflow.started') this.mcpCommands.push(...mcpCommandsOf(data.definition));
  }

  /** Looks at the state of one version (its snapshot carries the workflow definitions too). */
  observeState(state: { workflows?: Record<string, { definition?: unknown }> }): void {
    for (const wf of Object.values(state.workflows ?? {})) this.mcpCommands.push(...mcpCommandsOf(wf.definition));
  }
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
