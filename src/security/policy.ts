import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { Options } from '@anthropic-ai/claude-agent-sdk';
import { agentFolders } from './agent-env.ts';
import { BUILT_IN_TOOLS, parsePermissionRule } from './rules.ts';

/** Allow, deny and ask rules of an agent type, in Claude Code's rule syntax. */
export interface PermissionRulesSpec {
  /**
   * Calls these rules cover run without asking (Claude Code judges them). With `tools` or
   * these, the type has an allow list: what Claude Code asks about beyond it is denied.
   * @default []
   */
  readonly allow?: readonly string[] | undefined;
  /** Calls these rules cover are refused; deny wins over allow and ask. @default [] */
  readonly deny?: readonly string[] | undefined;
  /** Calls these rules cover wait for a human's answer. @default [] */
  readonly ask?: readonly string[] | undefined;
  /** How long an ask waits for its answer before the call is denied. @default 300000 (5 min) */
  readonly askTimeoutMs?: number | undefined;
}

/** Claude Code's sandbox for the agent's Bash commands. */
export interface SandboxSpec {
  /** @default true: Bash runs in the sandbox, and the agent does not start without one */
  readonly enabled?: boolean | undefined;
  /** Domains sandboxed commands may reach. @default [] (no network) */
  readonly allowedDomains?: readonly string[] | undefined;
}

/** What the file tools (and sandboxed commands) may touch besides writing in the workspace. */
export interface ConfinementSpec {
  /**
   * Reads are confined to the workspace too: file tools outside it are refused and sandboxed
   * commands see only the workspace and the system's own folders. @default false
   */
  readonly reads?: boolean | undefined;
}

/** The security part of an agent type, as the runtime receives it. */
export interface SecuritySpec {
  /**
   * The tools that exist for the agent, as rules: a built-in tool named here exists, and each
   * entry is also an allow rule. `Edit(pattern)` brings the tools that edit files (Write,
   * NotebookEdit), `Read(pattern)` those that read them (Glob, Grep). Absent: every built-in
   * tool exists and there is no allow list. `[]`: no built-in tool exists.
   */
  readonly tools?: readonly string[] | undefined;
  /** Deny rules; bare tool names are also removed from the agent's tools. @default [] */
  readonly disallowedTools?: readonly string[] | undefined;
  readonly permissions?: PermissionRulesSpec | undefined;
  /** `false` (or `enabled: false`) opts out of the sandbox, recorded with every agent. @default enabled */
  readonly sandbox?: SandboxSpec | false | undefined;
  readonly confine?: ConfinementSpec | undefined;
}

/** How long an ask waits for a human unless the agent type says otherwise. */
export const DEFAULT_ASK_TIMEOUT_MS = 5 * 60_000;

/** Folders sandboxed commands may still read when an agent type confines reads. */
const SYSTEM_READ_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/etc', '/dev', '/proc', '/sys'];

/** The security policy of an agent, compiled from its {@link SecuritySpec}. Plain data. */
export interface SecurityPolicy {
  /** Built-in tools that exist; `undefined`: all of them. */
  readonly builtInTools: readonly string[] | undefined;
  /** Allow rules; `undefined`: no allow list (what Claude Code asks about is allowed). */
  readonly allow: readonly string[] | undefined;
  readonly deny: readonly string[];
  readonly ask: readonly string[];
  /** Tools removed outright (bare names of `disallowedTools`). */
  readonly removed: readonly string[];
  readonly askTimeoutMs: number;
  readonly sandbox: {
    /** Bash runs in Claude Code's sandbox (the type did not opt out and Bash exists). */
    readonly active: boolean;
    /** Why not, when not active. */
    readonly off?: 'opted out by the agent type' | 'no Bash tool' | undefined;
    readonly allowedDomains: readonly string[];
    /** Claude Code approves sandboxed Bash commands without asking (the type allows every command). */
    readonly autoAllowBash: boolean;
  };
  readonly confineReads: boolean;
}

/**
 * Compiles an agent's security spec. Pure.
 * @throws Error naming a malformed rule (definitions are validated earlier; this is the backstop
 * for specs built in code)
 */
export function compileSecurityPolicy(spec: SecuritySpec): SecurityPolicy {
  const tools = spec.tools?.map(parsePermissionRule);
  const disallowed = (spec.disallowedTools ?? []).map(parsePermissionRule);
  const permissions = spec.permissions ?? {};
  for (const rule of [...(permissions.allow ?? []), ...(permissions.deny ?? []), ...(permissions.ask ?? [])]) {
    parsePermissionRule(rule);
  }
  let builtInTools: string[] | undefined;
  if (tools) {
    const names = new Set<string>();
    for (const rule of tools) {
      if (rule.tool.startsWith('mcp__')) continue;
      names.add(rule.tool);
      if (rule.tool === 'Agent' || rule.tool === 'Task') names.add('Agent').add('Task');
      if (rule.content !== undefined && rule.tool === 'Edit') names.add('Write').add('NotebookEdit').add('MultiEdit');
      if (rule.content !== undefined && rule.tool === 'Read') names.add('Glob').add('Grep');
    }
    builtInTools = BUILT_IN_TOOLS.filter((name) => names.has(name));
  }
  // An allow list exists when the type lists its tools or allow rules; none allows what
  // Claude Code asks about (see decidePrompt).
  const allow =
    spec.tools === undefined && (permissions.allow ?? []).length === 0
      ? undefined
      : [...(spec.tools ?? []), ...(permissions.allow ?? [])];
  const removed = disallowed.filter((rule) => rule.content === undefined).map((rule) => rule.tool);
  const bashExists =
    (builtInTools === undefined || builtInTools.includes('Bash')) &&
    !removed.includes('Bash') &&
    !(permissions.deny ?? []).includes('Bash');
  const optedOut = spec.sandbox === false || spec.sandbox?.enabled === false;
  const active = !optedOut && bashExists;
  return {
    builtInTools,
    allow,
    deny: [...(spec.disallowedTools ?? []), ...(permissions.deny ?? [])],
    ask: [...(permissions.ask ?? [])],
    removed,
    askTimeoutMs: permissions.askTimeoutMs ?? DEFAULT_ASK_TIMEOUT_MS,
    sandbox: {
      active,
      ...(!active && { off: optedOut ? 'opted out by the agent type' : 'no Bash tool' }),
      allowedDomains: spec.sandbox ? [...(spec.sandbox.allowedDomains ?? [])] : [],
      autoAllowBash: active && (allow === undefined || allow.includes('Bash')),
    },
    confineReads: spec.confine?.reads === true,
  };
}

/** What {@link sdkSecurityOptions} needs besides the policy. */
export interface SdkSecurityContext {
  /** Rules every agent is allowed (the orchestrator's own MCP server). */
  readonly alwaysAllow: readonly string[];
  /** Rules revoked in the session for this agent type before it started: Claude Code denies them. */
  readonly revoked: readonly string[];
  /** The agent's workspace (absolute): needed when reads are confined. */
  readonly workspace?: string | undefined;
  /**
   * Absolute paths no agent reads even where reads are open: the user's credentials
   * ({@link userCredentialPaths}). Each becomes a `Read` deny rule, which Claude Code applies
   * to its file tools and to sandboxed commands alike. @default none
   */
  readonly privateReads?: readonly string[] | undefined;
  /**
   * Folders that hold sessions' files (see {@link sessionFoldersOf}), denied to sandboxed
   * commands where reads are open: Claude Code's sandbox still lets a command read its working
   * directory in them, the agent's own workspace or worktree. @default none
   */
  readonly sessionFolders?: readonly string[] | undefined;
  /**
   * Absolute paths no agent writes in, even where they lie in its working directory (a
   * workspace that holds the data directory): files Claude Code runs outside its sandbox
   * ({@link protectedWritesOf}). Each becomes an `Edit` deny rule for the file tools and a
   * `filesystem.denyWrite` of the sandbox. @default none
   */
  readonly protectedWrites?: readonly string[] | undefined;
}

/**
 * Folders and files under a user's HOME that hold credentials (keys, tokens, cloud and
 * registry logins, Claude Code's own). Agents have a HOME of their own; these are also denied
 * by absolute path, where reads are open, so that `cat /home/me/.aws/credentials` fails too.
 */
export const USER_CREDENTIAL_PATHS: readonly string[] = [
  '.ssh',
  '.aws',
  '.azure',
  '.gnupg',
  '.kube',
  '.docker',
  '.netrc',
  '.git-credentials',
  '.npmrc',
  '.pypirc',
  '.config/gcloud',
  '.config/gh',
  '.claude',
  '.claude.json',
];

/** The credential paths ({@link USER_CREDENTIAL_PATHS}) of a HOME, absolute; none for `/` or no HOME. */
export function userCredentialPaths(home: string | undefined): string[] {
  if (home === undefined || !path.isAbsolute(home) || path.resolve(home) === path.parse(home).root) return [];
  return USER_CREDENTIAL_PATHS.map((entry) => path.join(path.resolve(home), entry));
}

/**
 * The SDK options that put a policy on Claude Code's own machinery: which built-in tools exist
 * (`tools`), which are removed (`disallowedTools`), the allow/deny/ask rules and the
 * confinement of file tools (flag `settings`), and the Bash sandbox (`sandbox`). Pure.
 */
export function sdkSecurityOptions(
  policy: SecurityPolicy,
  context: SdkSecurityContext,
): Pick<Options, 'tools' | 'disallowedTools' | 'settings' | 'sandbox'> {
  const options: Pick<Options, 'tools' | 'disallowedTools' | 'settings' | 'sandbox'> = {
    disallowedTools: [...policy.removed],
    settings: {
      permissions: {
        allow: [...(policy.allow ?? []), ...context.alwaysAllow],
        deny: [
          ...policy.deny,
          ...context.revoked,
          ...privateReadRules(policy, context),
          ...(context.protectedWrites ?? []).flatMap((p) => [`Edit(/${p})`, `Edit(/${p}/**)`]),
        ],
        ask: [...policy.ask],
        // Claude Code judges a path by where its links lead (checked with 2.1.331).
        blockWritesOutsideWorkingDirectories: true,
        blockReadsOutsideWorkingDirectories: policy.confineReads,
      },
    },
  };
  if (policy.builtInTools !== undefined) options.tools = [...policy.builtInTools];
  if (policy.sandbox.active) {
    options.sandbox = {
      enabled: true,
      // The agent does not start without its sandbox: Claude Code ends with an error result.
      failIfUnavailable: true,
      allowUnsandboxedCommands: false,
      autoAllowBashIfSandboxed: policy.sandbox.autoAllowBash,
      // Hosts outside the list are refused without a prompt.
      network: { allowedDomains: [...policy.sandbox.allowedDomains], strictAllowlist: true },
    };
    if (policy.confineReads) {
      if (context.workspace === undefined) throw new Error('confined reads need the agent workspace');
      options.sandbox.filesystem = { denyRead: ['/'], allowRead: [context.workspace, ...SYSTEM_READ_PATHS] };
    } else if (context.sessionFolders !== undefined && context.sessionFolders.length > 0) {
      // Set when the process starts, before a spare knows its folder: the working directory a
      // command runs in is Claude Code's to let through (test/security/sessions-apart.int.test.ts).
      options.sandbox.filesystem = { denyRead: [...context.sessionFolders] };
    }
    const protectedWrites = context.protectedWrites ?? [];
    if (protectedWrites.length > 0) {
      options.sandbox.filesystem = { ...options.sandbox.filesystem, denyWrite: [...protectedWrites] };
    }
  }
  return options;
}

/**
 * What the orchestrator keeps in its data directory that no agent reads, whatever its type: the
 * SQLite log of every session (events, transcripts, payloads, API key hashes), the sessions'
 * workspace histories, and the process attributions. Sessions' own files (workspaces,
 * worktrees, Claude Code's transcripts, TMPDIRs) are {@link sessionFoldersOf}: an agent reads its own.
 */
export const ORCHESTRATOR_PRIVATE_PATHS: readonly string[] = [
  'events.db',
  'events.db-wal',
  'events.db-shm',
  'history',
  'agent-processes',
];

/** The result cache's folder in the data directory (`src/workflow/result-cache.ts`). */
export const RESULT_CACHE_FOLDER = 'cache';

/** The folders among {@link ORCHESTRATOR_PRIVATE_PATHS}. */
const ORCHESTRATOR_PRIVATE_FOLDERS: readonly string[] = ['history', 'agent-processes'];

/**
 * Every absolute path an agent with open reads is denied: the credentials of the orchestrator
 * process's HOME and the orchestrator's own data (read at each process start).
 */
export function privateReadsOf(dataDir: string | undefined): string[] {
  return [...userCredentialPaths(homedir()), ...orchestratorPrivatePaths(dataDir)];
}

/**
 * What no agent writes in, wherever its workspace is: what the orchestrator and Claude Code
 * read or run outside the sandbox. The agents' `bin` (its `npm` runs at every agent's start,
 * src/security/npm-shim.ts), Claude Code's config folder and the agents' HOME (a `.gitconfig`
 * there sets what Claude Code's own git calls run, `core.fsmonitor`), the orchestrator's
 * private data ({@link ORCHESTRATOR_PRIVATE_PATHS}: the log, and the histories it runs git on,
 * their `config` and hooks) and the result cache. Not the sessions' workspaces, worktrees and
 * TMPDIRs: agents work in their own. With the default layout none of it is in an agent's reach
 * anyway; a session whose workspace holds the data directory (`--workspace` on a checkout with
 * the default `.orchestrator`) could otherwise plant a command or a git setting there.
 */
export function protectedWritesOf(dataDir: string | undefined): string[] {
  if (dataDir === undefined || !path.isAbsolute(dataDir)) return [];
  const root = path.resolve(dataDir);
  const { bin, configDir, home } = agentFolders(root);
  return [bin, configDir, home, ...orchestratorPrivatePaths(root), path.join(root, RESULT_CACHE_FOLDER)];
}

/**
 * Creates the folders of {@link protectedWritesOf} that are made on first use (the histories,
 * the result cache, the process attributions): the sandbox protects a path that exists when
 * a process starts, and an agent could otherwise make the folder first (seen: a history
 * `config` written by a sandboxed command before the first version had made `history`).
 */
export async function prepareProtectedFolders(dataDir: string): Promise<void> {
  const root = path.resolve(dataDir);
  await Promise.all(
    [...ORCHESTRATOR_PRIVATE_FOLDERS, RESULT_CACHE_FOLDER].map((entry) =>
      mkdir(path.join(root, entry), { recursive: true }),
    ),
  );
}

/**
 * The folders of a data directory that hold sessions' files: their workspaces, their nodes'
 * worktrees, Claude Code's transcripts of their agents (`claude/projects`, one folder per
 * working directory, where Claude Code also keeps a tool's output too large for the
 * conversation) and the agent processes' own TMPDIRs (`tmp`). Where reads are open, an agent
 * reads in them only its own working directory and TMPDIR with its commands (the sandbox lets
 * both through), and those and its own transcript folder with its file tools (the gate's
 * hook); none without a data directory. A session started with `--workspace` elsewhere is not
 * among them.
 */
export function sessionFoldersOf(dataDir: string | undefined): string[] {
  if (dataDir === undefined || !path.isAbsolute(dataDir)) return [];
  const root = path.resolve(dataDir);
  const { tmpDir } = agentFolders(root);
  return [path.join(root, 'workspaces'), path.join(root, 'worktrees'), transcriptsFolderOf(root), tmpDir];
}

/** The paths of a data directory that an agent's policy names (see each function). */
export interface DataDirPaths {
  readonly privateReads: readonly string[];
  readonly sessionFolders: readonly string[];
  readonly protectedWrites: readonly string[];
}

/**
 * {@link privateReadsOf}, {@link sessionFoldersOf} and {@link protectedWritesOf} at once: an
 * attempt reads them here once, and both its audit and its process's options take them, so
 * what the audit says is what was applied.
 */
export function dataDirPathsOf(dataDir: string | undefined): DataDirPaths {
  return {
    privateReads: privateReadsOf(dataDir),
    sessionFolders: sessionFoldersOf(dataDir),
    protectedWrites: protectedWritesOf(dataDir),
  };
}

/** Where Claude Code keeps the agents' transcripts under a data directory, one folder per working directory. */
export function transcriptsFolderOf(dataDir: string): string {
  return path.join(agentFolders(dataDir).configDir, 'projects');
}

/** {@link ORCHESTRATOR_PRIVATE_PATHS} of a data directory, absolute; none without one. */
export function orchestratorPrivatePaths(dataDir: string | undefined): string[] {
  if (dataDir === undefined || !path.isAbsolute(dataDir)) return [];
  return ORCHESTRATOR_PRIVATE_PATHS.map((entry) => path.join(path.resolve(dataDir), entry));
}

/**
 * `Read` deny rules for the private paths (`//` starts an absolute path in Claude Code's rule
 * syntax): the path itself and all below it. None where reads are confined to the workspace
 * already, unless the workspace lies inside one of them (then it is the agent's to read).
 */
function privateReadRules(policy: SecurityPolicy, context: SdkSecurityContext): string[] {
  if (policy.confineReads) return [];
  const workspace = context.workspace;
  return (context.privateReads ?? [])
    .filter((p) => workspace === undefined || !`${workspace}/`.startsWith(`${p}/`))
    .flatMap((p) => [`Read(/${p})`, `Read(/${p}/**)`]);
}
