import { z } from 'zod';
import { compileSecurityPolicy, DEFAULT_ASK_TIMEOUT_MS, parseRule } from '../../security/index.ts';
import { type DurationInput, durationSchema, durationToMs } from './duration.ts';

/**
 * Allow, deny and ask rules of an agent type, in Claude Code's rule syntax: `Bash(git *)`,
 * `Edit(src/**)`, `Read(docs/**)`, `WebFetch(domain:example.com)`, `mcp__github__*`. Claude
 * Code itself judges every call against them (its own parser reads Bash commands).
 */
export interface PermissionsDefinition {
  /** Calls that run without asking. Only tools that exist for the type (see `tools`). @default [] */
  allow?: string[];
  /** Calls that are refused; deny wins over allow and ask. @default [] */
  deny?: string[];
  /** Calls that wait for a human's answer (a question of the session). @default [] */
  ask?: string[];
  /** How long an ask waits for its answer before the call is denied. @default '5m' */
  askTimeout?: DurationInput;
}

/** Claude Code's sandbox for the type's Bash commands (bubblewrap on Linux). */
export interface SandboxDefinition {
  /**
   * `false` lets Bash run unsandboxed (recorded with every agent of the type). When true and
   * the sandbox cannot start, the agent does not start (`SANDBOX_UNAVAILABLE`). @default true
   */
  enabled?: boolean;
  /** Network of sandboxed commands. @default no network */
  network?: {
    /** Domains sandboxed commands may reach (`example.com`, `*.example.com`). @default [] */
    allowedDomains?: string[];
  };
}

/** Confinement of the type's file tools (writes are always confined to the workspace). */
export interface ConfineDefinition {
  /** Confine reads to the workspace too (file tools, and what sandboxed commands see). @default false */
  reads?: boolean;
}

/** The compiled security settings of an agent type (besides `tools` and `disallowedTools`). */
export interface AgentSecurity {
  readonly permissions: {
    readonly allow: readonly string[];
    readonly deny: readonly string[];
    readonly ask: readonly string[];
    readonly askTimeoutMs: number;
  };
  readonly sandbox: { readonly enabled: boolean; readonly allowedDomains: readonly string[] };
  readonly confine: { readonly reads: boolean };
}

/** One rule in Claude Code's syntax, checked as Claude Code (and we) would read it. */
export const ruleSchema = z.string().superRefine((value, ctx) => {
  const parsed = parseRule(value);
  if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem, input: value });
});

const DOMAIN =
  /^(?:\*\.)?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export const permissionsSchema = z
  .strictObject({
    allow: z.array(ruleSchema).optional().meta({ description: 'Calls that run without asking.' }),
    deny: z.array(ruleSchema).optional().meta({ description: 'Calls that are refused; deny wins.' }),
    ask: z.array(ruleSchema).optional().meta({ description: "Calls that wait for a human's answer." }),
    askTimeout: durationSchema
      .optional()
      .meta({ description: 'How long an ask waits before the call is denied.', default: '5m' }),
  })
  .meta({ description: "Allow, deny and ask rules in Claude Code's syntax, judged by Claude Code." });

export const sandboxSchema = z
  .union([
    z.literal(false),
    z.strictObject({
      enabled: z.boolean().optional().meta({ default: true }),
      network: z
        .strictObject({
          allowedDomains: z
            .array(
              z.string().regex(DOMAIN, {
                error: (issue) =>
                  `expected a domain such as example.com or *.example.com, received ${JSON.stringify(issue.input)}`,
              }),
            )
            .optional(),
        })
        .optional(),
    }),
  ])
  .meta({ description: "Claude Code's sandbox for Bash: false opts out; network lists reachable domains." });

export const confineSchema = z
  .strictObject({ reads: z.boolean().optional().meta({ default: false }) })
  .meta({ description: 'Confine reads to the workspace too (writes always are).' });

type SecurityInput = {
  tools?: string[] | undefined;
  disallowedTools?: string[] | undefined;
  permissions?: z.output<typeof permissionsSchema> | undefined;
  sandbox?: z.output<typeof sandboxSchema> | undefined;
  confine?: z.output<typeof confineSchema> | undefined;
};

/**
 * Cross-field checks of an agent type's security settings: an allow or ask rule must name a
 * tool that exists for the type (a rule on a tool that is not there would never apply).
 */
export function checkSecurity(value: SecurityInput, ctx: z.RefinementCtx): void {
  if (value.tools === undefined || value.permissions === undefined) return;
  let exists: readonly string[] | undefined;
  try {
    exists = compileSecurityPolicy({ tools: value.tools }).builtInTools;
  } catch {
    return; // a malformed rule is reported on its own
  }
  for (const list of ['allow', 'ask'] as const) {
    (value.permissions[list] ?? []).forEach((rule, index) => {
      const parsed = parseRule(rule);
      if ('problem' in parsed || parsed.tool.startsWith('mcp__') || exists?.includes(parsed.tool)) return;
      ctx.addIssue({
        code: 'custom',
        path: ['permissions', list, index],
        input: rule,
        message: `rule "${rule}" names ${parsed.tool}, which does not exist for this agent type: add it to tools`,
      });
    });
  }
}

/** The compiled security settings of a validated definition. */
export function toAgentSecurity(definition: SecurityInput): AgentSecurity {
  const permissions = definition.permissions ?? {};
  const sandbox = definition.sandbox;
  return Object.freeze({
    permissions: Object.freeze({
      allow: Object.freeze([...(permissions.allow ?? [])]),
      deny: Object.freeze([...(permissions.deny ?? [])]),
      ask: Object.freeze([...(permissions.ask ?? [])]),
      askTimeoutMs:
        permissions.askTimeout === undefined ? DEFAULT_ASK_TIMEOUT_MS : durationToMs(permissions.askTimeout),
    }),
    sandbox: Object.freeze({
      enabled: sandbox !== false && sandbox?.enabled !== false,
      allowedDomains: Object.freeze([...((sandbox !== false && sandbox?.network?.allowedDomains) || [])]),
    }),
    confine: Object.freeze({ reads: definition.confine?.reads === true }),
  });
}
