import { createInterface } from 'node:readline/promises';
import { OrchestratorError } from '../errors/index.ts';
import type { WorkflowHandle } from '../orchestrator/index.ts';
import type { WorkflowState } from '../workflow/index.ts';
import { ProgressView } from './progress.ts';

/** How the terminal answers questions to humans. */
export interface AnswerPolicy {
  /** Ask at the terminal (stdin is a TTY and `--yes` was not given). */
  readonly interactive: boolean;
  /** `--answer NODE=VALUE`: answers by node id. */
  readonly answers: Readonly<Record<string, string>>;
}

/**
 * Prints a run's progress (or its events as JSON lines) until it settles, answering
 * questions to humans by the policy. Returns the final state.
 */
export async function followRun(
  handle: WorkflowHandle,
  options: { json: boolean; answers: AnswerPolicy; out?: NodeJS.WritableStream },
): Promise<WorkflowState> {
  const out = options.out ?? process.stdout;
  const view = new ProgressView();
  const stream = handle.events({ heartbeatMs: 15_000 });
  const consume = (async () => {
    for await (const item of stream) {
      if (item.kind !== 'event') continue;
      const event = item.event;
      if (options.json) out.write(`${JSON.stringify(event)}\n`);
      else for (const line of view.render(event)) out.write(`${line}\n`);
      if (event.type === 'input.requested') void answer(handle, event.data, options, out);
      if (event.type === 'workflow.paused' && event.data.reason?.startsWith('budget exhausted')) {
        // Nobody is there to resume it in this process: leave it resumable and end the command.
        const say = (line: string) => (options.json ? process.stderr : out).write(`${line}\n`);
        say(
          `  ‖ paused: ${event.data.reason}; raise the budget, then: orchestrator sessions resume ${handle.sessionId}`,
        );
        void handle.suspend();
      }
      if (event.type === 'workflow.completed' && event.data.workflowId === handle.workflowId) return;
    }
  })();
  try {
    const final = await handle.result;
    // The completion event is on its way through the stream; let it print, but never hang.
    await Promise.race([consume, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    return final;
  } finally {
    stream.close();
  }
}

async function answer(
  handle: WorkflowHandle,
  request: { requestId: string; kind: 'input' | 'approval'; prompt: string; nodeId?: string | undefined },
  options: { json: boolean; answers: AnswerPolicy },
  out: NodeJS.WritableStream,
): Promise<void> {
  const say = (line: string) => (options.json ? process.stderr : out).write(`${line}\n`);
  const given = request.nodeId !== undefined ? options.answers.answers[request.nodeId] : undefined;
  try {
    if (given !== undefined) {
      say(`    (answered by --answer ${request.nodeId}=…)`);
      await handle.answer(
        request.requestId,
        request.kind === 'approval' ? { approved: isYes(given), comment: 'from --answer' } : given,
        'cli',
      );
      return;
    }
    if (!options.answers.interactive) {
      if (request.kind === 'approval') {
        say('    (auto-approved: standard input is not a terminal, or --yes was given)');
        await handle.answer(request.requestId, { approved: true, comment: 'auto-approved (unattended run)' }, 'cli');
      } else {
        say(
          `    (no answer available for "${request.nodeId ?? request.requestId}": give one with --answer ${request.nodeId ?? 'NODE'}=TEXT; answering with an empty text)`,
        );
        await handle.answer(request.requestId, '', 'cli');
      }
      return;
    }
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    try {
      const text = await rl.question(request.kind === 'approval' ? '    approve? [y/N] ' : '    your answer: ');
      await handle.answer(
        request.requestId,
        request.kind === 'approval' ? { approved: isYes(text), comment: 'answered at the terminal' } : text,
        'cli',
      );
    } finally {
      rl.close();
    }
  } catch (error) {
    if (error instanceof OrchestratorError && error.code === 'INPUT_REQUEST_NOT_FOUND') return;
    say(`    could not answer: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function isYes(text: string): boolean {
  return /^(y|yes|approve|approved|ok|true)$/i.test(text.trim());
}

/** Parses repeated `--input k=v` / `--answer k=v` flags. */
export function parsePairs(values: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const at = value.indexOf('=');
    if (at <= 0) throw new OrchestratorError('INVALID_ARGUMENT', `${flag} expects NAME=VALUE, got "${value}"`);
    out[value.slice(0, at)] = value.slice(at + 1);
  }
  return out;
}
