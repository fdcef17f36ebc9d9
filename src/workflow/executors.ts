import type { AgentRuntime, AgentSpec, AgentToolHost } from '../agents/index.ts';
import { OrchestratorError, toOrchestratorError } from '../errors/index.ts';
import { normalizeApproval } from './approval.ts';
import { WORKFLOW_DEFAULTS } from './definition/index.ts';
import { asWorkspaceError, type FinishableWorkspace, finishIsolated } from './merge-conflicts.ts';
import type { NodeExecutor, NodeOutcome, NodeRunContext } from './plan.ts';
import { buildAgentPrompt } from './prompt.ts';
import { cacheKey, type ResultCache } from './result-cache.ts';

/** How Claude Code says that a session to resume has no transcript. */
const NO_CONVERSATION = /No conversation found/i;

/** What the agent executor needs from the rest of the orchestrator. */
export interface AgentExecutorOptions {
  readonly runtime: AgentRuntime;
  readonly sessionId: string;
  /** Agent types by name. */
  agentSpec(name: string): (AgentSpec & { readonly canModifyWorkflow?: boolean }) | undefined;
  /** Tools offered to the agent of this node. */
  toolHost(context: NodeRunContext, agentId: () => string, canModifyWorkflow: boolean): AgentToolHost;
  /** Memory keys, listed in the prompt so agents know what is shared. */
  memoryKeys(): string[];
  /** The longest prompt of an agent node (`limits.maxPromptChars`). @default the workflow format's default */
  maxPromptChars?(): number;
  /** Where node results are cached (nodes opt in with a TTL). */
  readonly cache?: ResultCache | undefined;
  /**
   * The SDK session id of the latest agent that ran (or began) a node, if it got that far: a
   * `session.from` node's, to carry on its conversation, or the node's own interrupted one.
   */
  sdkSessionOf?(nodeId: string): string | undefined;
  /**
   * True when a conversation came with the session from the one it was forked from: it is
   * then branched (`fork: true`) rather than continued, so no two sessions write one
   * conversation.
   */
  inheritedConversation?(sdkSessionId: string): boolean;
  /** The folder the node's agent works in (the session workspace or a worktree). */
  workspaceFor(context: NodeRunContext): Promise<FinishableWorkspace & { readonly cwd: string }>;
  /**
   * The worktree of an isolated node's attempt (`attempt`, default the context's) that an
   * earlier process or an interrupted attempt left, to finish its merge: `merged` when the
   * merge already happened, undefined when its branch is gone.
   */
  resumeWorkspace?(context: NodeRunContext, attempt?: number): Promise<FinishableWorkspace | 'merged' | undefined>;
  /**
   * The durable result of an interrupted earlier attempt of the node (see
   * `NodeState.earlierResult`): an isolated node finishes that attempt's merge instead of
   * running its agent again.
   */
  earlierResult?(
    nodeId: string,
  ): { readonly agentId: string; readonly output: unknown; readonly attempt: number } | undefined;
  /**
   * The answer an interrupted conversation had already received (from its mirrored
   * transcript), so that a resume does not ask the model again. See `finishedAnswer`.
   */
  finishedAnswer?(sdkSessionId: string, cwd: string, structured: boolean): Promise<{ output: unknown } | undefined>;
}

/** Runs agent nodes on the agent runtime. */
export function agentExecutor(options: AgentExecutorOptions): NodeExecutor {
  return {
    external: true,
    slots: options.runtime.slots,
    async recover(context, result) {
      if (context.node.workspace === 'isolated' && options.resumeWorkspace) {
        const workspace = await options.resumeWorkspace(context);
        context.checkpoint('resume-workspace');
        if (workspace === undefined) {
          return {
            ok: false,
            agentId: result.agentId,
            error: new OrchestratorError(
              'NODE_INTERRUPTED',
              `the worktree of node "${context.node.id}" attempt ${context.attempt} is gone; its work runs again`,
            ),
          };
        }
        if (workspace !== 'merged') {
          const error = await finishIsolated(context, workspace, result.agentId);
          if (error) return { ok: false, agentId: result.agentId, error };
        }
      }
      return { ok: true, agentId: result.agentId, output: result.output };
    },
    async run(context) {
      const agentName = context.node.agent;
      const spec = agentName ? options.agentSpec(agentName) : undefined;
      if (!spec) {
        return {
          ok: false,
          error: new OrchestratorError('AGENT_TYPE_INVALID', `node "${context.node.id}" names no known agent type`),
        };
      }
      const earlier = await finishEarlierAttempt(context, options);
      if (earlier) return earlier;
      const resume = conversationToResume(context, options);
      const maxChars = options.maxPromptChars?.() ?? WORKFLOW_DEFAULTS.maxPromptChars;
      const promptFor = (carryOn: typeof resume) => {
        const task = carryOn?.interrupted
          ? `Your previous attempt at this task was interrupted (${carryOn.interrupted}). Carry on from where it stopped; the task was:\n\n${context.task}`
          : context.task;
        // Claude Code keeps the system prompt a conversation started with, also when it is
        // resumed or forked with another: the new agent's role has to travel in the prompt.
        const role =
          carryOn && !carryOn.interrupted && spec.systemPrompt
            ? `## Your role from here on\n${spec.systemPrompt}\n\n`
            : '';
        return `${role}${buildAgentPrompt({ ...context, task }, options.memoryKeys(), maxChars - role.length)}`;
      };
      let prompt: string;
      try {
        prompt = promptFor(resume);
      } catch (error) {
        return { ok: false, error: toOrchestratorError(error) };
      }
      const ttl = context.node.cacheTtlMs;
      const key =
        ttl !== undefined && options.cache
          ? cacheKey({ agent: { ...spec }, prompt, schema: context.node.outputSchema ?? null })
          : undefined;
      if (key !== undefined && ttl !== undefined) {
        const hit = await options.cache?.get(key, ttl);
        context.checkpoint('cache');
        if (hit) return { ok: true, output: hit.output, cached: true, cacheKey: key };
      }
      const workspace = await options.workspaceFor(context);
      let agentId = '';
      // A stop heard from here until the agent's result (a checkpoint throws) gives the
      // workspace up: a worktree made for an attempt that never ran is not left behind.
      const discard = async (error: unknown): Promise<never> => {
        await workspace.finish(false).catch(() => undefined);
        throw error;
      };
      try {
        context.checkpoint('workspace');
      } catch (error) {
        return discard(error);
      }
      if (resume?.interrupted && options.finishedAnswer) {
        // Killed after its answer arrived but before its result was recorded: the answer is
        // in the mirrored transcript, and asking again would re-send the whole conversation.
        let done: { output: unknown } | undefined;
        try {
          done = await options.finishedAnswer(resume.sdkSessionId, workspace.cwd, !!context.node.outputSchema);
          context.checkpoint('transcript');
        } catch (error) {
          return discard(error);
        }
        if (done) return { ok: true, output: done.output };
      }
      // The engine's reserved slot serves the first spawn only; a second one waits for its own.
      let slot = context.slot;
      const runAgent = async (carryOn: typeof resume) => {
        // Synchronous from here to the listener: a stop either came before (no spawn) or is heard.
        context.checkpoint('spawn');
        const handle = options.runtime.spawn({
          sessionId: options.sessionId,
          spec: {
            ...spec,
            ...(context.node.timeoutMs !== undefined && { timeoutMs: context.node.timeoutMs }),
            retry: { attempts: 1 },
          },
          prompt: promptFor(carryOn),
          cwd: workspace.cwd,
          // The session workspace serves every shared node of the run; a worktree serves one attempt.
          sharedCwd: context.node.workspace === 'shared',
          nodeId: context.node.id,
          workflowId: context.workflowId,
          ...(context.node.budget && { nodeBudget: context.node.budget }),
          ...(context.node.priority !== undefined &&
            context.node.priority !== 0 && { priority: context.node.priority }),
          correlationId: context.workflowId,
          ...(context.node.outputSchema && { outputSchema: context.node.outputSchema }),
          ...(carryOn && { resume: { sdkSessionId: carryOn.sdkSessionId, fork: carryOn.fork } }),
          toolHost: options.toolHost(context, () => agentId, spec.canModifyWorkflow === true),
          ...(slot && { slot }),
        });
        slot = undefined;
        agentId = handle.agentId;
        const stop = () => handle.interrupt(`node stopped: ${String(context.signal.reason)}`);
        context.signal.addEventListener('abort', stop, { once: true });
        if (context.signal.aborted) stop();
        try {
          return await handle.result;
        } finally {
          context.signal.removeEventListener('abort', stop);
        }
      };
      let result = await runAgent(resume).catch(discard);
      // An interrupted agent killed before Claude Code wrote its first transcript line left no
      // conversation to carry on: the attempt starts afresh instead.
      if (!result.ok && resume?.interrupted && NO_CONVERSATION.test(result.error.message) && !context.signal.aborted) {
        result = await runAgent(undefined).catch(discard);
      }
      if (!result.ok) {
        await workspace.finish(false).catch(() => undefined);
        return { ok: false, agentId, error: result.error };
      }
      const failure =
        context.node.workspace === 'isolated'
          ? await finishIsolated(context, workspace, agentId)
          : await workspace.finish(true).then(
              () => undefined,
              (error: unknown) => asWorkspaceError(error),
            );
      if (failure) return { ok: false, agentId, error: failure };
      const output = result.structured ?? result.text;
      if (key !== undefined) await options.cache?.put(key, output);
      return { ok: true, agentId, output };
    },
  };
}

/**
 * An isolated node's new attempt after one that was interrupted with its agent's result
 * durable (a stop or a crash while its merge waited, e.g. on a conflict question): that
 * attempt's worktree is merged, and its result completes the node, with no new agent run.
 * Undefined when there is no such attempt, or its branch is gone (the work runs again).
 */
async function finishEarlierAttempt(
  context: NodeRunContext,
  options: AgentExecutorOptions,
): Promise<NodeOutcome | undefined> {
  if (context.node.workspace !== 'isolated' || !options.resumeWorkspace) return undefined;
  const earlier = options.earlierResult?.(context.node.id);
  if (!earlier || earlier.attempt >= context.attempt) return undefined;
  const workspace = await options.resumeWorkspace(context, earlier.attempt);
  context.checkpoint('earlier-workspace');
  if (workspace === undefined) return undefined;
  const { agentId, output } = earlier;
  if (workspace !== 'merged') {
    const error = await finishIsolated(context, workspace, agentId);
    if (error) return { ok: false, agentId, error };
  }
  return { ok: true, agentId, output };
}

/**
 * The conversation an agent node starts from: the one named by `session.from`, else (on a new
 * attempt after an interruption: a crash, a pause) the node's own interrupted one, so the agent
 * keeps what it had said and done. Not for a node in an isolated worktree: its new attempt gets
 * a fresh worktree without the files the interrupted agent wrote, so that conversation would
 * speak of work that is gone (and Claude Code keys conversations by working directory).
 */
function conversationToResume(
  context: NodeRunContext,
  options: AgentExecutorOptions,
): { sdkSessionId: string; fork: boolean; interrupted?: string } | undefined {
  const own = context.nodes[context.node.id];
  if (context.attempt > 1 && own?.error?.code === 'NODE_INTERRUPTED' && context.node.workspace === 'shared') {
    const sdkSessionId = options.sdkSessionOf?.(context.node.id);
    if (sdkSessionId) {
      const fork = options.inheritedConversation?.(sdkSessionId) ?? false;
      return { sdkSessionId, fork, interrupted: own.error.message };
    }
  }
  const from = context.node.session;
  if (!from) return undefined;
  const sdkSessionId = options.sdkSessionOf?.(from.from);
  if (!sdkSessionId) return undefined;
  return { sdkSessionId, fork: from.fork || (options.inheritedConversation?.(sdkSessionId) ?? false) };
}

/** Human input nodes: the rendered task is the question; the answer is the output. */
export const humanExecutor: NodeExecutor = {
  external: true,
  async run(context) {
    const value = await context.requestInput('input', context.task);
    return { ok: true, output: value };
  },
};

/**
 * Approval nodes: the answer is `{ approved: boolean, comment? }` (or a bare boolean or
 * yes/no string); a rejection fails the node with `APPROVAL_REJECTED`.
 */
export const approvalExecutor: NodeExecutor = {
  external: true,
  async run(context) {
    const answer = normalizeApproval(await context.requestInput('approval', context.task));
    if (!answer.approved) {
      const why = answer.comment ? `: ${answer.comment}` : '';
      return {
        ok: false,
        error: new OrchestratorError('APPROVAL_REJECTED', `approval "${context.node.id}" was rejected${why}`),
      };
    }
    return { ok: true, output: answer };
  },
};

/** In-process code nodes of TypeScript workflows (and the scheduler benchmark). */
export const functionExecutor: NodeExecutor = {
  external: false,
  async run(context) {
    const run = context.node.run;
    if (!run)
      return {
        ok: false,
        error: new OrchestratorError('NODE_KIND_UNKNOWN', `function node "${context.node.id}" has no run()`),
      };
    // The attempt's own context object (made for this attempt alone): no copy per node.
    return { ok: true, output: await run(context) };
  },
};
