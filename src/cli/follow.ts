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

/** How {@link followRun} ended. */
export interface FollowResult {
  /** The run's final state (unfinished after a suspend). */
  readonly state: WorkflowState;
  /** The reason of the budget pause that ended the command, if one did. */
  readonly budgetPause: string | undefined;
}

/**
 * Prints a run's progress (or its events as JSON lines) until it settles, answering
 * questions to humans by the policy. A budget that pauses the run while it is followed
 * suspends it (nobody is there to resume it in this process) and is reported in the result.
 *
 * Once the run has settled, the printing goes on up to the session's last committed event
 * (`lastSeq`, read then) and stops there: the end is decided by the log, not by a timer, so
 * the returned promise settles whether or not anything else keeps the process alive.
 */
export async function followRun(
  handle: WorkflowHandle,
  options: {
    json: boolean;
    answers: AnswerPolicy;
    /** The session's last committed sequence number (the orchestrator's log). */
    lastSeq: () => Promise<number>;
    out?: NodeJS.WritableStream;
    /** The answers come from the offline scripted model: costs are labelled simulated. */
    simulated?: boolean;
  },
): Promise<FollowResult> {
  const out = options.out ?? process.stdout;
  const view = new ProgressView({ simulated: options.simulated === true });
  const stream = handle.events({ heartbeatMs: 15_000 });
  let budgetPause: string | undefined;
  /** Highest sequence number printed, and the one to stop at once the run has settled. */
  let seen = 0;
  let until = Number.POSITIVE_INFINITY;
  const consume = (async () => {
    for await (const item of stream) {
      if (item.kind !== 'event') continue;
      const event = item.event;
      seen = event.seq;
      if (options.json) out.write(`${JSON.stringify(event)}\n`);
      else for (const line of view.render(event)) out.write(`${line}\n`);
      if (event.type === 'input.requested') void answer(handle, event.data, options, out);
      // Only a pause in force now counts: a resumed session replays the pause it was left in.
      if (
        event.type === 'workflow.paused' &&
        event.data.reason?.startsWith('budget exhausted') &&
        handle.state.paused &&
        budgetPause === undefined
      ) {
        budgetPause = event.data.reason;
        const say = (line: string) => (options.json ? process.stderr : out).write(`${line}\n`);
        say(
          `  ‖ paused: ${event.data.reason}; raise the budget, then: orchestrator sessions resume ${handle.sessionId}`,
        );
        void handle.suspend();
      }
      if (event.type === 'workflow.completed' && event.data.workflowId === handle.workflowId) return;
      if (seen >= until) return;
    }
  })();
  try {
    const state = await handle.result;
    // Every event of the run is committed by now: print up to the last one, then stop.
    until = await options.lastSeq();
    if (seen >= until) stream.close();
    await consume.catch(() => undefined);
    return { state, budgetPause };
  } finally {
    stream.close();
  }
}

async function answer(
  handle: WorkflowHandle,
  request: {
    requestId: string;
    kind: 'input' | 'approval';
    prompt: string;
    nodeId?: string | undefined;
    agentId?: string | undefined;
  },
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
      if (request.kind === 'approval' && request.agentId !== undefined) {
        // A tool call an ask rule holds for a human: an unattended run never approves it.
        say(
          `    (a tool approval: answer it with \`orchestrator sessions answer ${handle.sessionId} ${request.requestId} yes|no\`; unanswered within its timeout, the call is denied)`,
        );
        return;
      }
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
    // The progress line shows the start of the question; a longer one is shown whole here.
    if (request.prompt.replace(/\s+/g, ' ').trim().length > 89) {
      for (const line of request.prompt.split('\n')) say(`    ${line}`);
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
