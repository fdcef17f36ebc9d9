import { z } from 'zod';
import { groupReplay, type ReplayConversation, type ReplayExchange } from './replay.ts';

/**
 * The scenario format of the scripted model server: the loose input schema (snake_case, as
 * written in YAML) and the compiled, frozen runtime form the server reads. Nothing else in
 * the server sees the raw input. `docs/scenarios.md` is the reference for authors.
 */

/** Why a model turn ended, as the Messages API reports it. */
export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'pause_turn' | 'refusal';

/** Token counts a turn reports; any field left out is estimated by the server. */
export interface TokenUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadInputTokens: number;
  readonly cacheCreationInputTokens: number;
}

/** One content item of a scripted turn. */
export type TurnContent =
  | { readonly type: 'text'; readonly text: string }
  | {
      readonly type: 'tool_use';
      readonly name: string;
      readonly input: Readonly<Record<string, unknown>>;
      readonly id: string | undefined;
    }
  | { readonly type: 'structured_output'; readonly value: Readonly<Record<string, unknown>> };

/** A failure injected into a turn for its first `times` attempts (`Infinity` = always). */
export type TurnFault =
  | {
      readonly type: 'status';
      readonly status: number;
      readonly retryAfterSeconds: number | undefined;
      readonly message: string | undefined;
      readonly shouldRetry: boolean | undefined;
      readonly times: number;
    }
  | { readonly type: 'cut'; readonly afterEvents: number; readonly times: number };

/** One model turn of a script: what the model answers to the request with N prior turns. */
export interface ScenarioTurn {
  readonly content: readonly TurnContent[];
  readonly usage: Readonly<Partial<TokenUsage>>;
  /** `undefined`: `tool_use` when the turn calls a tool, else `end_turn`. */
  readonly stopReason: StopReason | undefined;
  readonly delayMs: number;
  readonly chunkDelayMs: number;
  readonly fault: TurnFault | undefined;
}

/** Which requests a script answers; every present pattern must match. */
export interface ScriptMatch {
  readonly system: RegExp | undefined;
  readonly user: RegExp | undefined;
  readonly model: RegExp | undefined;
}

/** A named conversation script; `match: undefined` is the catch-all. */
export interface ScenarioScript {
  readonly name: string;
  readonly match: ScriptMatch | undefined;
  readonly turns: readonly ScenarioTurn[];
}

/** A compiled, validated and frozen scenario, as `parseScenario` and `loadScenario` return it. */
export interface Scenario {
  readonly name: string;
  readonly description: string | undefined;
  /** The file the scenario came from, for messages. */
  readonly source: string;
  /** The answer once a script has no turn left (stop reason `end_turn`). */
  readonly finalText: string;
  readonly scripts: readonly ScenarioScript[];
  /**
   * Recorded conversations to replay (a cassette, see docs/cassettes.md), tried before the
   * scripts; empty when the file has no `replay`.
   */
  readonly replay: readonly ReplayConversation[];
}

const STOP_REASONS = ['end_turn', 'tool_use', 'max_tokens', 'stop_sequence', 'pause_turn', 'refusal'] as const;

/** The tool name Claude Code gives the tool that `outputFormat` adds. */
export const STRUCTURED_OUTPUT_TOOL = 'StructuredOutput';

const SLASHED_REGEX = /^\/(.*)\/([dimsuv]*)$/s;

// A plain string is a regex source; `/source/flags` adds flags (no `g`/`y`: they make
// `test()` stateful, and a match must not depend on earlier requests).
const regexSchema = z
  .string()
  .min(1)
  .transform((text, ctx) => {
    const slashed = SLASHED_REGEX.exec(text);
    try {
      return slashed ? new RegExp(slashed[1] ?? '', slashed[2]) : new RegExp(text);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: `not a valid regular expression (${(error as Error).message}); got ${JSON.stringify(text)}`,
      });
      return z.NEVER;
    }
  });

const count = z.int().min(0);

const usageSchema = z.strictObject({
  input_tokens: count.optional(),
  output_tokens: count.optional(),
  cache_read_input_tokens: count.optional(),
  cache_creation_input_tokens: count.optional(),
});

const objectSchema = z.record(z.string(), z.unknown());

const contentSchema = z
  .strictObject({
    text: z.string().optional(),
    tool_use: z
      .strictObject({
        name: z.string().regex(/^[a-zA-Z0-9_-]{1,128}$/, 'expected a tool name of letters, digits, _ and -'),
        input: objectSchema.default({}),
        id: z
          .string()
          .regex(/^toolu_[a-zA-Z0-9_]+$/, 'expected an id like toolu_abc123')
          .optional(),
      })
      .optional(),
    structured_output: objectSchema.optional(),
  })
  .superRefine((item, ctx) => {
    const kinds = ['text', 'tool_use', 'structured_output'].filter((key) => key in item);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `expected exactly one of text, tool_use, structured_output; got ${kinds.length === 0 ? 'none' : kinds.join(' and ')}`,
      });
    }
  });

const faultSchema = z
  .strictObject({
    status: z.int().min(400).max(599).optional(),
    retry_after: z.number().min(0).optional(),
    message: z.string().optional(),
    should_retry: z.boolean().optional(),
    cut_after_events: count.optional(),
    times: z.union([z.int().min(1), z.literal('always')]).default(1),
  })
  .superRefine((fault, ctx) => {
    const hasStatus = fault.status !== undefined;
    const hasCut = fault.cut_after_events !== undefined;
    if (hasStatus === hasCut) {
      ctx.addIssue({ code: 'custom', message: 'expected exactly one of status, cut_after_events' });
    }
    if (hasCut) {
      for (const key of ['retry_after', 'message', 'should_retry'] as const) {
        if (fault[key] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [key], message: `${key} applies to a status fault only` });
        }
      }
    }
  });

// A bare string is shorthand for a turn that answers that text.
const turnSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { content: [{ text: value }] } : value),
  z
    .strictObject({
      content: z.array(contentSchema).default([]),
      usage: usageSchema.optional(),
      stop_reason: z.enum(STOP_REASONS).optional(),
      delay_ms: count.default(0),
      chunk_delay_ms: count.default(0),
      fault: faultSchema.optional(),
    })
    .superRefine((turn, ctx) => {
      // Claude Code re-sends a turn whose answer is empty, which would loop forever.
      if (turn.content.length === 0 && turn.fault?.times !== 'always') {
        ctx.addIssue({
          code: 'custom',
          path: ['content'],
          message: 'expected at least one content item (only a turn whose fault is `times: always` may have none)',
        });
      }
    }),
);

const matchSchema = z.strictObject({
  system: regexSchema.optional(),
  user: regexSchema.optional(),
  model: regexSchema.optional(),
});

const scriptSchema = z.strictObject({
  name: z.string().min(1).optional(),
  match: matchSchema.optional(),
  turns: z.array(turnSchema).default([]),
});

const digestSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 digest (64 lowercase hex digits)');

const replaySchema = z.strictObject({
  conversation: z.string().min(1),
  agent: z.string().optional(),
  system_digest: digestSchema,
  user_digest: digestSchema,
  turn: count,
  status: z.int().min(200).max(599).default(200),
  content_type: z.string().min(1).default('text/event-stream; charset=utf-8'),
  body: z.string(),
});

/** The raw scenario as written in a file (snake_case keys). */
export const scenarioInputSchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    description: z.string().optional(),
    final_text: z.string().min(1).default('Done.'),
    scripts: z.array(scriptSchema).default([]),
    replay: z.array(replaySchema).default([]),
  })
  .superRefine((scenario, ctx) => {
    if (scenario.scripts.length === 0 && scenario.replay.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['scripts'], message: 'expected at least one script (or a `replay` list)' });
    }
    const seen = new Map<string, number>();
    let catchAll: number | undefined;
    scenario.scripts.forEach((script, index) => {
      if (script.name !== undefined) {
        const first = seen.get(script.name);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['scripts', index, 'name'],
            message: `duplicate script name ${JSON.stringify(script.name)} (first used by scripts[${first}])`,
          });
        } else seen.set(script.name, index);
      }
      if (catchAll !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['scripts', index],
          message: `unreachable: scripts[${catchAll}] has no match patterns and answers every request first`,
        });
      } else if (isCatchAll(script.match)) catchAll = index;
    });
  });

/** The raw scenario input type (what a YAML file holds). */
export type ScenarioInput = z.input<typeof scenarioInputSchema>;
type ParsedScenario = z.output<typeof scenarioInputSchema>;
type ParsedTurn = ParsedScenario['scripts'][number]['turns'][number];

function isCatchAll(match: { system?: RegExp; user?: RegExp; model?: RegExp } | undefined): boolean {
  return match === undefined || (!match.system && !match.user && !match.model);
}

function compileTurn(turn: ParsedTurn): ScenarioTurn {
  const content: TurnContent[] = turn.content.map((item) => {
    if (item.tool_use) {
      return Object.freeze({
        type: 'tool_use' as const,
        name: item.tool_use.name,
        input: item.tool_use.input,
        id: item.tool_use.id,
      });
    }
    if (item.structured_output) {
      return Object.freeze({ type: 'structured_output' as const, value: item.structured_output });
    }
    return Object.freeze({ type: 'text' as const, text: item.text ?? '' });
  });
  const usage: { -readonly [K in keyof TokenUsage]?: number } = {};
  const u = turn.usage;
  if (u?.input_tokens !== undefined) usage.inputTokens = u.input_tokens;
  if (u?.output_tokens !== undefined) usage.outputTokens = u.output_tokens;
  if (u?.cache_read_input_tokens !== undefined) usage.cacheReadInputTokens = u.cache_read_input_tokens;
  if (u?.cache_creation_input_tokens !== undefined) usage.cacheCreationInputTokens = u.cache_creation_input_tokens;
  const f = turn.fault;
  const times = f?.times === 'always' ? Number.POSITIVE_INFINITY : (f?.times ?? 1);
  let fault: TurnFault | undefined;
  if (f?.status !== undefined) {
    fault = {
      type: 'status',
      status: f.status,
      retryAfterSeconds: f.retry_after,
      message: f.message,
      shouldRetry: f.should_retry,
      times,
    };
  } else if (f?.cut_after_events !== undefined) {
    fault = { type: 'cut', afterEvents: f.cut_after_events, times };
  }
  return Object.freeze({
    content: Object.freeze(content),
    usage: Object.freeze(usage),
    stopReason: turn.stop_reason,
    delayMs: turn.delay_ms,
    chunkDelayMs: turn.chunk_delay_ms,
    fault: fault && Object.freeze(fault),
  });
}

/** Turns validated input into the frozen runtime {@link Scenario}. */
export function compileParsedScenario(parsed: ParsedScenario, source: string): Scenario {
  const scripts = parsed.scripts.map((script, index) =>
    Object.freeze({
      name: script.name ?? `scripts[${index}]`,
      match: isCatchAll(script.match)
        ? undefined
        : Object.freeze({ system: script.match?.system, user: script.match?.user, model: script.match?.model }),
      turns: Object.freeze(script.turns.map(compileTurn)),
    }),
  );
  return Object.freeze({
    name: parsed.name ?? source,
    description: parsed.description,
    source,
    finalText: parsed.final_text,
    scripts: Object.freeze(scripts),
    replay: Object.freeze(
      groupReplay(
        parsed.replay.map(
          (entry): ReplayExchange => ({
            conversation: entry.conversation,
            identity: { system: entry.system_digest, user: entry.user_digest },
            turn: entry.turn,
            status: entry.status,
            contentType: entry.content_type,
            body: Buffer.from(entry.body, 'utf8'),
          }),
        ),
      ),
    ),
  });
}
