import { createInterface } from 'node:readline/promises';
import { OrchestratorError } from '../errors/index.ts';
import type { AnyEvent } from '../events/index.ts';
import type { WorkflowHandle } from '../orchestrator/index.ts';
import type { WorkflowState } from '../workflow/index.ts';
import { plainOutput, type RunOutput } from './live-output.ts';
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

/** Options of {@link followRun}. */
export interface FollowOptions {
  readonly json: boolean;
  readonly answers: AnswerPolicy;
  /** The session's last committed sequence number (the orchestrator's log). */
  lastSeq(): Promise<number>;
  /** Where lines go (plain, or above a live block). @default plain lines on stdout */
  readonly output?: RunOutput;
  /** The projection the lines are rendered from (the live block reads it too). @default a new one */
  readonly view?: ProgressView;
  /** The answers come from the offline scripted model: costs are labelled simulated. */
  readonly simulated?: boolean;
}

/**
 * Prints a run's progress (or its events as JSON lines) until it settles, answering
 * questions to humans by the policy. A budget that pauses the run while it is followed
 * suspends it (nobody is there to resume it in this process) and is reported in the result.
 *
 * A resumed session has a past: the events up to its latest `session.resumed`, committed
 * before this process took it on. They are folded into the view without a line each, then
 * told as one summary (JSON mode prints them as they are); only questions still open are
 * asked, and only a budget pause still in force ends the command. What happens from then on
 * is printed as it happens.
 *
 * Once the run has settled, the printing goes on up to the session's last committed event
 * (`lastSeq`, read then) and stops there: the end is decided by the log, not by a timer, so
 * the returned promise settles whether or not anything else keeps the process alive.
 */
export async function followRun(handle: WorkflowHandle, options: FollowOptions): Promise<FollowResult> {
  const output = options.output ?? plainOutput(process.stdout);
  const view = options.view ?? new ProgressView({ simulated: options.simulated === true });
  const say = (line: string) => (options.json ? process.stderr.write(`${line}\n`) : output.lines([line]));
  const asking = new Asking(handle, options, output, say);
  let budgetPause: string | undefined;
  const pauseForBudget = (reason: string) => {
    if (budgetPause !== undefined) return;
    budgetPause = reason;
    say(`  ‖ paused: ${reason}; raise the budget, then: orchestrator sessions resume ${handle.sessionId}`);
    void handle.suspend();
  };
  /** Prints one event as it happens; true once the followed workflow has ended. */
  const live = (event: AnyEvent): boolean => {
    const lines = view.render(event);
    output.lines(options.json ? [JSON.stringify(event)] : lines);
    if (event.type === 'input.requested') asking.ask(event.data);
    if (event.type === 'user.input' || event.type === 'input.closed') asking.closed(event.data.requestId);
    // Only a pause in force now counts.
    if (event.type === 'workflow.paused' && event.data.reason?.startsWith('budget exhausted') && handle.state.paused) {
      pauseForBudget(event.data.reason);
    }
    return event.type === 'workflow.completed' && event.data.workflowId === handle.workflowId;
  };
  /** Splits what was committed before following began into the past and the start of now. */
  const catchUp = (events: readonly AnyEvent[]): boolean => {
    const resumedAt = events.findLastIndex((e) => e.type === 'session.resumed');
    if (resumedAt >= 0) {
      let pause: string | undefined;
      for (const event of events.slice(0, resumedAt + 1)) {
        view.render(event);
        if (options.json) output.lines([JSON.stringify(event)]);
        if (event.type === 'workflow.paused') pause = event.data.reason;
        if (event.type === 'workflow.resumed') pause = undefined;
      }
      if (!options.json) output.lines(view.pastSummary());
      // Asked before and still open in the run (not answered meanwhile by a recorded request).
      const open = view.view.session.workflows[handle.workflowId]?.inputRequests ?? {};
      for (const request of Object.values(open).sort((a, b) => a.seq - b.seq)) {
        if (handle.state.inputRequests[request.requestId] === undefined) continue;
        if (!options.json) output.lines([view.questionLine(request)]);
        asking.ask(request);
      }
      if (pause?.startsWith('budget exhausted') && handle.state.paused) pauseForBudget(pause);
    }
    return events.slice(resumedAt + 1).some(live);
  };

  const stream = handle.events({ heartbeatMs: 15_000 });
  /** Highest sequence number printed, and the one to stop at once the run has settled. */
  let seen = 0;
  let until = Number.POSITIVE_INFINITY;
  // Everything committed by now is read before anything is printed: the past of a resume
  // ends within it, and only the whole of it tells where.
  const committed = await options.lastSeq();
  let early: AnyEvent[] | undefined = committed > 0 ? [] : undefined;
  const consume = (async () => {
    for await (const item of stream) {
      if (item.kind !== 'event') continue;
      const event = item.event;
      seen = event.seq;
      if (early !== undefined) {
        early.push(event);
        if (event.seq < committed) continue;
        const events = early;
        early = undefined;
        if (catchUp(events)) return;
      } else if (live(event)) return;
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
    asking.stop();
  }
}

/** A question to a human, as recorded. */
interface Question {
  readonly requestId: string;
  readonly kind: 'input' | 'approval';
  readonly prompt: string;
  readonly nodeId?: string | undefined;
  readonly agentId?: string | undefined;
}

/**
 * Answers questions by the policy. Prompts at the terminal are asked one at a time (two at
 * once would share one keyboard), with the live block held off the screen while one is open;
 * a prompt whose question is answered elsewhere or withdrawn meanwhile is taken down.
 */
class Asking {
  #queue: Promise<void> = Promise.resolve();
  readonly #prompts = new Map<string, AbortController>();
  readonly #handle: WorkflowHandle;
  readonly #options: { json: boolean; answers: AnswerPolicy };
  readonly #output: RunOutput;
  readonly #say: (line: string) => void;

  constructor(
    handle: WorkflowHandle,
    options: { json: boolean; answers: AnswerPolicy },
    output: RunOutput,
    say: (line: string) => void,
  ) {
    this.#handle = handle;
    this.#options = options;
    this.#output = output;
    this.#say = say;
  }

  ask(request: Question): void {
    void this.#answer(request).catch((error: unknown) => {
      if (error instanceof OrchestratorError && error.code === 'INPUT_REQUEST_NOT_FOUND') return;
      this.#say(`    could not answer: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  /** The question was answered or withdrawn: its prompt, if open or waiting its turn, goes. */
  closed(requestId: string | undefined): void {
    if (requestId !== undefined) this.#prompts.get(requestId)?.abort();
  }

  /** The run has settled: every prompt goes. */
  stop(): void {
    for (const prompt of this.#prompts.values()) prompt.abort();
  }

  async #answer(request: Question): Promise<void> {
    const { answers, json } = this.#options;
    const handle = this.#handle;
    const say = this.#say;
    const given = request.nodeId !== undefined ? answers.answers[request.nodeId] : undefined;
    if (given !== undefined) {
      say(`    (answered by --answer ${request.nodeId}=…)`);
      await handle.answer(
        request.requestId,
        request.kind === 'approval' ? { approved: isYes(given), comment: 'from --answer' } : given,
        'cli',
      );
      return;
    }
    if (!answers.interactive) {
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
    const abort = new AbortController();
    this.#prompts.set(request.requestId, abort);
    const turn = this.#queue.then(() => this.#prompt(request, abort.signal, json));
    this.#queue = turn.catch(() => undefined);
    try {
      await turn;
    } finally {
      this.#prompts.delete(request.requestId);
    }
  }

  async #prompt(request: Question, signal: AbortSignal, json: boolean): Promise<void> {
    if (signal.aborted || this.#handle.state.inputRequests[request.requestId] === undefined) return;
    const release = this.#output.hold();
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    // The terminal is in raw mode while readline reads: Ctrl-C reaches readline as a key, not
    // the process as a signal. Passed on, it stops the run as it does everywhere else.
    rl.on('SIGINT', () => process.kill(process.pid, 'SIGINT'));
    let text: string;
    try {
      // The progress line shows the start of the question; a longer one is shown whole here,
      // written directly: the output holds its lines back while the prompt is open.
      if (request.prompt.replace(/\s+/g, ' ').trim().length > 89) {
        const whole = request.prompt
          .split('\n')
          .map((line) => `    ${line}\n`)
          .join('');
        (json ? process.stderr : process.stdout).write(whole);
      }
      const asked = request.kind === 'approval' ? '    approve? [y/N] ' : '    your answer: ';
      try {
        text = await rl.question(asked, { signal });
      } catch (error) {
        // Answered elsewhere or withdrawn meanwhile: the line after the prompt says so.
        if (signal.aborted) {
          process.stdout.write('\n');
          return;
        }
        throw error;
      }
    } finally {
      rl.close();
      release();
    }
    await this.#handle.answer(
      request.requestId,
      request.kind === 'approval' ? { approved: isYes(text), comment: 'answered at the terminal' } : text,
      'cli',
    );
  }
}

function isYes(text: string): boolean {
  return /^(y|yes|approve|approved|ok|true)$/i.test(text.trim());
}
