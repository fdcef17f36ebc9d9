import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { OrchestratorError } from '../errors/index.ts';
import type { RequestFacts } from './request.ts';
import type { ApiUsage } from './response.ts';
import type { ModelRequestRecord } from './server-types.ts';

/**
 * The scripted model's request log as a file: one JSON line per request it served, written
 * when the answer has been sent, so that a run's conversation with the offline model can be
 * read afterwards (which script and turn answered, for which agent and task, how long it took,
 * what tokens it reported).
 *
 * Each line is one `write(2)` on a descriptor opened with `O_APPEND`: lines are whole and in
 * the order requests ended, also when several processes append to one file, and a line is on
 * disk (in the page cache) as soon as its request is served, so a crashed run keeps its log.
 * The writes are synchronous on purpose: a line of a few hundred bytes per model request costs
 * nothing next to the request, and nothing is lost on a crash.
 */

/** One line of the request log (plain JSON). */
export interface ModelLogLine {
  /** When the request arrived (ISO 8601). */
  readonly time: string;
  /** From its arrival until the answer was sent (or the connection cut), in milliseconds. */
  readonly durationMs: number;
  readonly method: string;
  readonly path: string;
  /** The scenario that answered (its `name`). */
  readonly scenario: string;
  /** How it was answered: `turn`, `replay`, `final`, `unmatched`, `fault`, `count_tokens`, `not_found`, `bad_request`. */
  readonly answer: ModelRequestRecord['answer'];
  /** The scenario step: script name (`replay:<conversation>` for a recorded one), turn and attempt. */
  readonly script: string | null;
  readonly turn: number | null;
  readonly attempt: number | null;
  /** The injected fault, such as `status 429`. */
  readonly fault: string | null;
  readonly model: string | null;
  readonly stream: boolean | null;
  /** The conversation key (the SDK session id, else a hash of its first user message). */
  readonly conversation: string | null;
  /**
   * The last paragraph of the system prompt, where an agent type's own prompt comes (Claude
   * Code's prompt first, the type's appended to it): which agent asked.
   */
  readonly agent: string | null;
  /** The start of the conversation's first user message: the agent's task. */
  readonly task: string | null;
  /** The usage the answer reported; null when it carried none (a fault, a replay, an error). */
  readonly tokens: {
    readonly input: number;
    readonly output: number;
    readonly cacheRead: number;
    readonly cacheCreation: number;
  } | null;
}

/** What the server knows of a request once it has been served. */
export interface ServedRequest {
  record?: ModelRequestRecord;
  facts?: RequestFacts;
  usage?: ApiUsage;
}

/** An open request log. */
export interface RequestLog {
  /** Appends the line of a served request (nothing when it was never recorded). */
  write(served: ServedRequest, scenario: string, endedAt: number): void;
  /** Closes the file; safe to call more than once. */
  close(): void;
}

/** Characters kept of the agent's prompt and of its task. */
const AGENT_CHARS = 160;
const TASK_CHARS = 200;

/**
 * Opens (creating when missing) a request log for appending.
 * @throws OrchestratorError `CONFIG_INVALID` when the file cannot be opened (its folder is
 * missing, it is a folder, or this user may not write it)
 */
export function openRequestLog(file: string): RequestLog {
  const absolute = path.resolve(file);
  let fd: number | undefined;
  try {
    fd = openSync(absolute, 'a');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new OrchestratorError(
      'CONFIG_INVALID',
      `the model request log ${absolute} cannot be opened for appending (${code}); set --model-log or ORCHESTRATOR_MODEL_LOG to a file this user can write`,
      { cause: error, details: { field: 'modelLog', file: absolute } },
    );
  }
  return {
    write(served, scenario, endedAt) {
      if (fd === undefined || served.record === undefined) return;
      writeSync(fd, `${JSON.stringify(logLine(served.record, served, scenario, endedAt))}\n`);
    },
    close() {
      if (fd === undefined) return;
      closeSync(fd);
      fd = undefined;
    },
  };
}

/** The line of one served request: pure. */
export function logLine(
  record: ModelRequestRecord,
  served: Pick<ServedRequest, 'facts' | 'usage'>,
  scenario: string,
  endedAt: number,
): ModelLogLine {
  const { facts, usage } = served;
  return {
    time: new Date(record.at).toISOString(),
    durationMs: Math.max(0, endedAt - record.at),
    method: record.method,
    path: record.path,
    scenario,
    answer: record.answer,
    script: record.script ?? null,
    turn: record.turn ?? null,
    attempt: record.attempt ?? null,
    fault: record.fault ?? null,
    model: record.model ?? null,
    stream: record.stream ?? null,
    conversation: record.conversation ?? null,
    agent: facts ? excerpt(lastParagraph(facts.systemLast), AGENT_CHARS) : null,
    task: facts ? excerpt(facts.firstUserText, TASK_CHARS) : null,
    tokens: usage
      ? {
          input: usage.input_tokens,
          output: usage.output_tokens,
          cacheRead: usage.cache_read_input_tokens,
          cacheCreation: usage.cache_creation_input_tokens,
        }
      : null,
  };
}

function lastParagraph(text: string): string {
  const paragraphs = text.split(/\n\s*\n/).filter((p) => p.trim() !== '');
  return paragraphs.at(-1) ?? '';
}

/** The start of a text on one line, with `…` when cut; null for an empty one. */
function excerpt(text: string, chars: number): string | null {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line === '') return null;
  return line.length > chars ? `${line.slice(0, chars - 1)}…` : line;
}
