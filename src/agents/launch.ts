import type { Query } from '@anthropic-ai/claude-agent-sdk';
import { dataDirPathsOf, NO_RULES, policyApplied } from '../security/index.ts';
import type { AttemptInput } from './attempt.ts';
import type { TrackedProcess } from './processes.ts';
import {
  AgentBinding,
  type BoundAgent,
  buildSdkOptions,
  type ProcessConfig,
  policyOf,
  toolHostShape,
} from './sdk-options.ts';

/**
 * How an attempt gets its Claude Code process: a spare of the warm pool when one is ready for
 * the agent, else a cold start; and a cold start after all when the spare taken turns out dead.
 */

/** A started query and what controls it. */
export interface Launched {
  readonly stream: Query;
  readonly abortController: AbortController;
  readonly binding: AgentBinding;
  /** The Claude Code process, once spawned. */
  process(): TrackedProcess | undefined;
  /** On a spare: starts the agent cold instead, should the spare turn out dead. */
  readonly coldInstead?: () => Promise<Launched>;
}

/**
 * Takes a pre-started process when the pool has one for this agent, else starts cold;
 * undefined when the agent was stopped before either.
 */
export async function launchQuery(input: AttemptInput, startedUp: Promise<void>): Promise<Launched | undefined> {
  const policy = policyOf(input.spec);
  const rules = input.toolHost?.permissionRules?.();
  const config: ProcessConfig = {
    spec: input.spec,
    env: input.env,
    outputSchema: input.outputSchema,
    sessionStore: input.sessionStore,
    hostShape: toolHostShape(input.toolHost),
    redactor: input.redactor,
    ...(rules && rules.revoked.length > 0 && { revoked: rules.revoked }),
    ...(policy.confineReads && { workspace: input.cwd }),
  };
  // The audit says what each attempt ran under, before it runs; a cold start applies the same paths.
  const paths = dataDirPathsOf(input.processes.dataDir);
  input.record([policyApplied(input.agentId, input.spec.name, policy, rules ?? NO_RULES, paths)]);
  const agent: BoundAgent = {
    agentId: input.agentId,
    workspace: input.cwd,
    toolHost: input.toolHost,
    record: (events) => input.record(events),
  };
  const cold = () => launchCold(input, config, agent, paths);
  // The SDK cannot start a spare into a resumed session: those always start cold.
  const warm = input.resume
    ? undefined
    : await input.warmPool?.take(config, {
        agent,
        prompt: input.prompt,
        cwd: input.cwd,
        sharedCwd: input.sharedCwd,
        startedUp,
        signal: input.signal,
        adopt: input.adoptSpareCredentials,
      });
  // Stopped while it waited for a spare: nothing is started, nothing asked of the model.
  if (!warm && input.signal.aborted) return undefined;
  if (!warm) return cold();
  input.record([{ type: 'agent.progress', data: { agentId: input.agentId, kind: 'warm_start', text: warm.note } }]);
  return { ...warm, process: () => warm.process, coldInstead: cold };
}

/**
 * Closes the query of a spare that died before its first message, and starts the agent cold;
 * undefined, starting nothing, when the agent was `stopped` meanwhile.
 */
export async function startColdInstead(
  input: AttemptInput,
  dead: Launched,
  stopped: () => boolean,
): Promise<Launched | undefined> {
  dead.stream.close();
  dead.binding.current = undefined;
  const pid = dead.process()?.pid;
  if (pid !== undefined) await input.processes.killPid(pid);
  if (stopped()) return undefined;
  input.record([
    {
      type: 'agent.progress',
      data: {
        agentId: input.agentId,
        kind: 'spare_lost',
        text: 'the spare it took had exited before its first message: started cold',
      },
    },
  ]);
  return (dead.coldInstead as () => Promise<Launched>)();
}

/** Starts a Claude Code process of its own for the agent. */
async function launchCold(
  input: AttemptInput,
  config: ProcessConfig,
  agent: BoundAgent,
  paths: ReturnType<typeof dataDirPathsOf>,
): Promise<Launched> {
  const binding = new AgentBinding();
  binding.current = agent;
  const abortController = new AbortController();
  let child: TrackedProcess | undefined;
  const options = buildSdkOptions(config, {
    binding,
    abortController,
    processes: input.processes,
    paths,
    onSpawn: (process) => {
      child = process;
    },
  });
  options.cwd = input.cwd;
  if (input.resume) {
    options.resume = input.resume.sdkSessionId;
    options.forkSession = input.resume.fork;
  }
  // The SDK (about 40 MB resident) is loaded by the first cold start, not by importing the
  // library (issue 15); later starts find it in the module cache.
  const { query } = await import('@anthropic-ai/claude-agent-sdk');
  return { stream: query({ prompt: input.prompt, options }), abortController, binding, process: () => child };
}
