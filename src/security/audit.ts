import { canonicalJson, type NewEvent, sha256Hex } from '../events/index.ts';
import type { TypeRules } from './grants.ts';
import type { DataDirPaths, SecurityPolicy } from './policy.ts';
import { primaryArgument } from './rules.ts';

/** Who made a security decision. */
export type DecisionBy = 'claude-code' | 'policy' | 'human' | 'grant' | 'sandbox';

/** A decision on one tool call, as the audit records it (`security.decision`). */
export interface Verdict {
  readonly decision: 'allow' | 'deny' | 'ask';
  readonly by: DecisionBy;
  /** The rule that decided, when one did. */
  readonly rule?: string | undefined;
  readonly reason: string;
}

/**
 * A short digest of a tool input for the audit: the first 16 hex characters of the SHA-256 of
 * its canonical JSON. It ties a decision to the call without storing the input twice.
 */
export function inputDigest(input: unknown): string {
  return sha256Hex(canonicalJson(input)).slice(0, 16);
}

/** What a human is shown of a call: the command, path or URL, else the input (shortened). */
export function summarizeInput(tool: string, input: unknown, maxChars = 500): string {
  const text = primaryArgument(tool, input) ?? canonicalJson(input);
  return text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
}

const NO_PATHS: DataDirPaths = { privateReads: [], sessionFolders: [], protectedWrites: [] };

/** The `security.policy` event of an agent attempt: what Claude Code enforces for it, recorded before it runs. */
export function policyApplied(
  agentId: string,
  agentType: string,
  policy: SecurityPolicy,
  rules: TypeRules,
  { privateReads, sessionFolders, protectedWrites }: DataDirPaths = NO_PATHS,
): NewEvent {
  return {
    type: 'security.policy',
    data: {
      agentId,
      agentType,
      tools: policy.builtInTools ? [...policy.builtInTools] : 'all',
      ...(policy.allow && { allow: [...policy.allow] }),
      deny: [...policy.deny],
      ask: [...policy.ask],
      granted: [...rules.granted],
      revoked: [...rules.revoked],
      sandbox: policy.sandbox.active ? 'on' : 'off',
      ...(policy.sandbox.off && { sandboxOff: policy.sandbox.off }),
      allowedDomains: [...policy.sandbox.allowedDomains],
      confineReads: policy.confineReads,
      // Where reads are open, the paths denied anyway (the user's credentials).
      ...(!policy.confineReads && privateReads.length > 0 && { privateReads: [...privateReads] }),
      // Where reads are open, the folders of sessions' files it reads only its own folder in.
      ...(!policy.confineReads && sessionFolders.length > 0 && { sessionFolders: [...sessionFolders] }),
      // Folders it writes in nowhere, its own workspace included (the npm shim's).
      ...(protectedWrites.length > 0 && { protectedWrites: [...protectedWrites] }),
    },
  };
}
