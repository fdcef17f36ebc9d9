import path from 'node:path';
import type { Verdict } from './audit.ts';
import type { TypeRules } from './grants.ts';
import type { SecurityPolicy } from './policy.ts';
import { parseRule, ruleMatches } from './rules.ts';

/** What the pure decisions know of the agent making a call. */
export interface DecisionContext {
  readonly policy: SecurityPolicy;
  /** The agent's workspace, and its real path (links resolved). */
  readonly workspace: string;
  readonly workspaceReal: string;
  /** Grants and revocations of the session for the agent's type, as they stand now. */
  readonly rules: TypeRules;
  /**
   * Folders of sessions' files (as written and real), where an agent whose reads are open
   * reads only inside its own workspace. @default none
   */
  readonly sessionFolders?: readonly string[] | undefined;
  /** Folders in them that are the agent's own besides its workspace (its transcript folder). */
  readonly ownFolders?: readonly string[] | undefined;
}

/** What Claude Code said when it asked for permission (`canUseTool` options). */
export interface PromptFacts {
  /** A path outside the working directories that made Claude Code ask. */
  readonly blockedPath?: string | undefined;
  /** Claude Code's own explanation. */
  readonly decisionReason?: string | undefined;
  /** The ask rule Claude Code matched, when it says. */
  readonly matchedAskRule?: { readonly toolName: string; readonly ruleContent?: string | undefined } | undefined;
  /** Our hook asked for this call (its verdict). */
  readonly hookAsked?: Verdict | undefined;
}

/**
 * Our PreToolUse hook's verdict, before Claude Code's own checks: `deny` for a file tool that
 * reads in another session's folder where the type's reads are open (`reads`: the paths the
 * call reads, as written and real, see read-targets.ts), `deny` for a rule revoked at run time,
 * `ask` for a call one of the type's ask rules covers (a second, conservative reading next to
 * Claude Code's), else none: Claude Code decides. Never `allow`: an allow from the hook would
 * skip Claude Code's checks. Pure.
 */
export function decideBeforeClaudeCode(
  context: DecisionContext,
  tool: string,
  input: unknown,
  reads: readonly string[] = [],
): Verdict | undefined {
  const { workspace } = context;
  const elsewhere = context.policy.confineReads ? undefined : reads.find((target) => inOtherSession(context, target));
  if (elsewhere !== undefined) {
    return { decision: 'deny', by: 'policy', reason: `"${elsewhere}" holds another session's files` };
  }
  const revoked = context.rules.revoked.find((rule) => ruleMatches(rule, tool, input, workspace, 'some'));
  if (revoked) return { decision: 'deny', by: 'policy', rule: revoked, reason: `rule "${revoked}" was revoked` };
  const ask = context.policy.ask.find((rule) => ruleMatches(rule, tool, input, workspace, 'some'));
  if (ask) return { decision: 'ask', by: 'policy', rule: ask, reason: `rule "${ask}" asks a human` };
  return undefined;
}

/**
 * The answer to Claude Code's own permission prompt (`canUseTool`): reached only for calls that
 * no deny rule refused and no allow rule covered, so an `allow` here is the agent type (or the
 * operator, through a grant) approving what Claude Code asked about. `ask` means: ask a human.
 *
 * In order: a revoked rule denies; a path outside the workspace denies; a deny rule Claude Code
 * found inside the command (`bash -c '…'`) denies; a grant allows; an ask
 * (our hook's, Claude Code's ask rule, or one of the type's ask rules) asks; with no allow
 * list the call is allowed unless an ask rule names the tool; a bare allow rule of the tool
 * (`Bash`) allows what Claude Code's safety checks asked about; anything else is denied. Pure.
 */
export function decidePrompt(context: DecisionContext, tool: string, input: unknown, facts: PromptFacts): Verdict {
  const { policy, workspace, rules } = context;
  const revoked = rules.revoked.find((rule) => ruleMatches(rule, tool, input, workspace, 'some'));
  if (revoked) return { decision: 'deny', by: 'policy', rule: revoked, reason: `rule "${revoked}" was revoked` };
  if (facts.blockedPath !== undefined && !insideWorkspace(context, facts.blockedPath)) {
    return { decision: 'deny', by: 'policy', reason: `path "${facts.blockedPath}" is outside the workspace` };
  }
  // Claude Code asks (a safety check, not a refusal) when a deny rule covers a command inside
  // a `bash -c` / `sh -c` script: its deny rule still holds, whatever allows the tool.
  if (facts.decisionReason !== undefined && DENY_RULE_INSIDE.test(facts.decisionReason)) {
    return {
      decision: 'deny',
      by: 'policy',
      reason: `a deny rule covers a command in it (Claude Code: ${facts.decisionReason})`,
    };
  }
  const granted = rules.granted.find((rule) => ruleMatches(rule, tool, input, workspace, 'every'));
  if (granted) return { decision: 'allow', by: 'grant', rule: granted, reason: `granted: "${granted}"` };
  if (facts.hookAsked) return facts.hookAsked;
  if (facts.matchedAskRule) {
    const { toolName, ruleContent } = facts.matchedAskRule;
    const rule = ruleContent === undefined ? toolName : `${toolName}(${ruleContent})`;
    return { decision: 'ask', by: 'claude-code', rule, reason: `rule "${rule}" asks a human` };
  }
  const ask = policy.ask.find((rule) => ruleMatches(rule, tool, input, workspace, 'some'));
  if (ask) return { decision: 'ask', by: 'claude-code', rule: ask, reason: `rule "${ask}" asks a human` };
  const why = facts.decisionReason ? ` (Claude Code: ${facts.decisionReason})` : '';
  if (policy.allow === undefined) {
    // Claude Code's parser may see an ask rule where ours does not (`env git push`): ask.
    const naming = policy.ask.find((rule) => namesTool(rule, tool));
    if (naming) return { decision: 'ask', by: 'claude-code', rule: naming, reason: `rule "${naming}" may apply${why}` };
    return { decision: 'allow', by: 'policy', reason: `the agent type has no allow list${why}` };
  }
  const bare = policy.allow.find((rule) => rule === tool);
  if (bare)
    return { decision: 'allow', by: 'policy', rule: bare, reason: `the agent type allows every ${tool} call${why}` };
  return {
    decision: 'deny',
    by: 'policy',
    reason: `${tool} call not covered by the agent type's allow rules${why}`,
  };
}

/** How Claude Code (2.1.331) explains a prompt raised by a deny rule it found inside a command. */
const DENY_RULE_INSIDE = /permission rule denies/i;

/** Is a path (resolved by Claude Code) inside the workspace, as written or as its real path? */
export function insideWorkspace(
  context: Pick<DecisionContext, 'workspace' | 'workspaceReal'>,
  candidate: string,
): boolean {
  return [context.workspace, context.workspaceReal].some((root) => isInside(root, candidate));
}

/**
 * Does a read reach a folder of sessions' files outside what is the agent's own (its workspace
 * in that folder, or one of its own folders)? It does when the path is in such a folder, or
 * holds one (a search from above). A workspace that holds the data directory (`--workspace` on
 * a checkout whose `.orchestrator` is the data directory) does not make the other sessions'
 * folders in it its own, but a search of that workspace is the agent's to make.
 */
function inOtherSession(context: DecisionContext, target: string): boolean {
  const folders = context.sessionFolders ?? [];
  // A search from above them (Grep or Glob of the data directory, or of `/`) goes down into
  // them; from inside the agent's own workspace it is the agent's own.
  if (folders.some((folder) => isInside(target, folder)) && !insideWorkspace(context, target)) return true;
  const folder = folders.find((candidate) => isInside(candidate, target));
  if (folder === undefined) return false;
  if ((context.ownFolders ?? []).some((own) => isInside(own, target))) return false;
  const workspaceInFolder = isInside(folder, context.workspace) || isInside(folder, context.workspaceReal);
  return !(workspaceInFolder && insideWorkspace(context, target));
}

function isInside(root: string, candidate: string): boolean {
  if (candidate === '~' || candidate.startsWith('~/')) return false;
  const relative = path.relative(path.resolve(root), path.resolve(root, candidate));
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

function namesTool(rule: string, tool: string): boolean {
  const parsed = parseRule(rule);
  return !('problem' in parsed) && parsed.tool === tool;
}
