import { z } from 'zod';

/**
 * The catalog of event types: one zod schema per type, keyed by its dotted name, each made when
 * first needed ({@link dataSchemaOf}); the shared parts below are made afresh for each. Adding
 * an event type means adding one entry here; the envelope, the bus and the stores need no change.
 * Payload objects are "loose" so that events written by a newer minor version (with extra
 * fields) still validate when replayed by an older reader.
 */

const errorInfo = () =>
  z.looseObject({
    code: z.string(),
    message: z.string(),
    retryable: z.boolean().optional(),
  });

/**
 * Fields the log shortened because they were over its payload limit: each with its full size,
 * the SHA-256 of its full JSON text, and whether that text is stored as a payload blob of the
 * session under the digest (`stored`; absent in events written before payload blobs existed),
 * and `json: true` when the value was not a string (its full text is JSON). Unstored values are
 * in the agent's transcript.
 */
const truncated = () =>
  z
    .array(
      z.looseObject({
        field: z.string(),
        bytes: z.number().int().nonnegative(),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
        stored: z.boolean().optional(),
        json: z.literal(true).optional(),
      }),
    )
    .optional();

const usage = () =>
  z.looseObject({
    inputTokens: z.number().nonnegative(),
    outputTokens: z.number().nonnegative(),
    cacheReadTokens: z.number().nonnegative().optional(),
    cacheCreationTokens: z.number().nonnegative().optional(),
  });

/**
 * Usage per model of one attempt, as the SDK's `result.modelUsage` reports it (main loop,
 * subagents and internal calls; cumulative over the query): what cost is priced from.
 * `costUsd` is the SDK's own estimate for that model, kept for comparison.
 */
const modelUsage = () =>
  z.record(
    z.string(),
    z.looseObject({
      inputTokens: z.number().nonnegative(),
      outputTokens: z.number().nonnegative(),
      cacheReadTokens: z.number().nonnegative(),
      cacheCreationTokens: z.number().nonnegative(),
      /** Cache writes with a 1-hour lifetime, already counted in `cacheCreationTokens`. */
      cacheCreation1hTokens: z.number().nonnegative().optional(),
      costUsd: z.number().nonnegative().optional(),
      /** The model id the SDK priced it as (aliases resolved). */
      canonicalModel: z.string().optional(),
    }),
  );

/**
 * Which model a process ran a session's agents against, recorded when it starts or resumes the
 * session: a resume carries on with the same one (an offline run keeps its scenario).
 */
const modelUsed = () =>
  z.looseObject({
    /** `anthropic`: the Anthropic API (or `ANTHROPIC_BASE_URL`); `scripted`: the offline scripted model server. */
    kind: z.enum(['anthropic', 'scripted']),
    /** The scenario file the scripted model answered from (absolute path); absent for a built-in one. */
    scenario: z.string().optional(),
    /** SHA-256 (hex) of that file's bytes when the process read it. */
    scenarioSha256: z.string().optional(),
    /** The scenario's name. */
    scenarioName: z.string().optional(),
  });

/** The agent state machine's states. */
export const AGENT_STATES = [
  'initializing',
  'thinking',
  'using_tools',
  'responding',
  'waiting',
  'completed',
  'error',
  'interrupted',
] as const;

/** One state of the agent state machine. */
export type AgentState = (typeof AGENT_STATES)[number];

const agentState = () => z.enum(AGENT_STATES);

const DATA_SCHEMA_BUILDERS = {
  'session.created': () =>
    z.looseObject({
      name: z.string().optional(),
      workspace: z.string().optional(),
      metadata: z.record(z.string(), z.unknown()).optional(),
      model: modelUsed().optional(),
      /** Who started it, when someone other than the local user did (`api:<key id>:<name>`). */
      by: z.string().optional(),
    }),
  /** First event after the copied history of a forked session. */
  'session.forked': () =>
    z.looseObject({
      fromSessionId: z.string(),
      fromSeq: z.number().int().nonnegative(),
      fromVersion: z.number().int().positive().optional(),
      workspace: z.string().optional(),
      /** Who forked it, when someone other than the local user did (`api:<key id>:<name>`). */
      by: z.string().optional(),
    }),
  /**
   * Last event of a session read from an export (format 2 on): where it came from, and where
   * its workspace is on this side. Its agents' transcripts were re-keyed to that folder.
   */
  'session.imported': () =>
    z.looseObject({
      fromSessionId: z.string(),
      /** The store it was exported from (`sqlite`, `postgres`). */
      fromStore: z.string(),
      exportedAt: z.string(),
      formatVersion: z.number().int().positive(),
      /** The workspace where it was exported. */
      originalWorkspace: z.string().optional(),
      /** The workspace here: resume runs the session's agents in it. */
      workspace: z.string(),
      /** Whether the workspace got the files of the newest version (false when it held files already). */
      filesRestored: z.boolean(),
      versions: z.number().int().nonnegative(),
      /** Payload blobs (full values of shortened event fields) imported; absent for none. */
      payloads: z.number().int().nonnegative().optional(),
      transcripts: z.number().int().nonnegative(),
      /** Versions this store numbered differently from the export. */
      renumberedVersions: z
        .array(z.looseObject({ from: z.number().int().positive(), to: z.number().int().positive() }))
        .optional(),
      /** The file read (absolute path). */
      file: z.string().optional(),
      /** SHA-256 over the file's lines, each ending with a newline (the file's own when it ends with one). */
      fileDigest: z.string().optional(),
      /** MCP servers started by command that the operator accepted (`--trust-mcp`). */
      trustedMcpCommands: z.array(z.string()).optional(),
      /** Folders besides the data directory the operator allowed the workspace in (`--workspace-root`). */
      workspaceRoots: z.array(z.string()).optional(),
      /** Who imported it, when someone other than the local user did (`api:<key id>:<name>`). */
      by: z.string().optional(),
    }),
  /** A version (snapshot) of the session was stored. */
  'session.versioned': () =>
    z.looseObject({
      version: z.number().int().positive(),
      seq: z.number().int().nonnegative(),
      label: z.string().nullable().optional(),
      /** Who took it, when someone other than the local user did (`api:<key id>:<name>`). */
      by: z.string().optional(),
    }),
  'session.resumed': () =>
    z.looseObject({
      fromSeq: z.number().int().nonnegative(),
      reason: z.string().optional(),
      /** The model the resuming process runs the agents against. */
      model: modelUsed().optional(),
    }),
  'workflow.started': () =>
    z.looseObject({
      workflowId: z.string(),
      name: z.string(),
      inputs: z.record(z.string(), z.unknown()).optional(),
      /** The workflow definition as loaded (plain JSON), so a resumed process can rebuild the plan. */
      definition: z.unknown().optional(),
      file: z.string().optional(),
      workspace: z.string().optional(),
    }),
  'workflow.modified': () =>
    z.looseObject({
      workflowId: z.string(),
      by: z.string(),
      /** The type of the agent that asked for the change, when an agent did (its graph policy's counts). */
      agentType: z.string().optional(),
      changes: z.array(z.looseObject({ op: z.string() })),
    }),
  'workflow.paused': () =>
    z.looseObject({
      workflowId: z.string(),
      reason: z.string().optional(),
      interruptRunning: z.boolean().optional(),
      controlId: z.string().optional(),
    }),
  'workflow.resumed': () =>
    z.looseObject({
      workflowId: z.string(),
      reason: z.string().optional(),
      controlId: z.string().optional(),
    }),
  'workflow.cancel_requested': () =>
    z.looseObject({
      workflowId: z.string(),
      reason: z.string().optional(),
      controlId: z.string().optional(),
    }),
  'workflow.rolling_back': () => z.looseObject({ workflowId: z.string(), reason: z.string() }),
  /**
   * A request to steer a session from outside its owner (another process, the CLI, the API):
   * the owner acts on it (recording the resulting event with this `controlId`) within a
   * second; with no live owner it is applied on the next resume.
   */
  'control.requested': () =>
    z.looseObject({
      controlId: z.string(),
      action: z.enum(['cancel', 'pause', 'resume', 'answer', 'grant', 'revoke']),
      reason: z.string().optional(),
      /** For `answer`: the open question and its answer. */
      requestId: z.string().optional(),
      value: z.unknown().optional(),
      /** For `grant` and `revoke`: the agent type and the rule. */
      agentType: z.string().optional(),
      rule: z.string().optional(),
      by: z.string().optional(),
    }),
  /** A control request the owner could not apply (the workflow ended, the question is closed). */
  'control.rejected': () => z.looseObject({ controlId: z.string(), reason: z.string() }),
  /** The owner of a session (the process running it) changed: a lease that lapsed or whose process died was taken over. */
  'session.taken_over': () =>
    z.looseObject({
      previous: z.looseObject({
        ownerId: z.string(),
        host: z.string(),
        pid: z.number().int(),
        acquiredAt: z.string(),
        expiresAt: z.string(),
      }),
      reason: z.enum(['expired', 'owner_dead']),
      owner: z.looseObject({ ownerId: z.string(), host: z.string(), pid: z.number().int() }),
    }),
  'workflow.completed': () =>
    z.looseObject({
      workflowId: z.string(),
      status: z.enum(['completed', 'failed', 'cancelled']),
      error: errorInfo().optional(),
      rolledBack: z.boolean().optional(),
    }),
  /**
   * A ready agent node waits for an agent process; its timeout starts with `node.started`.
   * `held`: the run's agent cap (`ORCHESTRATOR_MAX_AGENTS`) holds it back, it has not been
   * admitted yet (it can still be skipped, or given a new dependency); without it, its turn came
   * and every agent process of the orchestrator is taken.
   */
  'node.queued': () =>
    z.looseObject({
      workflowId: z.string(),
      nodeId: z.string(),
      attempt: z.number().int().positive(),
      reason: z.string().optional(),
      held: z.boolean().optional(),
    }),
  'node.started': () =>
    z.looseObject({
      workflowId: z.string(),
      nodeId: z.string(),
      attempt: z.number().int().positive(),
      agentId: z.string().optional(),
    }),
  'node.completed': () =>
    z.looseObject({
      workflowId: z.string(),
      nodeId: z.string(),
      attempt: z.number().int().positive().optional(),
      output: z.unknown().optional(),
      /** True when the output came from the result cache instead of a model call. */
      cached: z.boolean().optional(),
      cacheKey: z.string().optional(),
    }),
  'node.failed': () =>
    z.looseObject({
      workflowId: z.string(),
      nodeId: z.string(),
      attempt: z.number().int().positive(),
      error: errorInfo(),
      willRetry: z.boolean(),
      retryInMs: z.number().nonnegative().optional(),
    }),
  /** A running attempt that ended without a result: the process died, or a pause interrupted it. */
  'node.interrupted': () =>
    z.looseObject({
      workflowId: z.string(),
      nodeId: z.string(),
      attempt: z.number().int().positive(),
      reason: z.string(),
    }),
  'node.skipped': () => z.looseObject({ workflowId: z.string(), nodeId: z.string(), reason: z.string() }),
  'node.cancelled': () => z.looseObject({ workflowId: z.string(), nodeId: z.string(), reason: z.string() }),
  /** A compensation task is about to run (intent); `node.compensated` is its outcome. */
  'node.compensating': () => z.looseObject({ workflowId: z.string(), nodeId: z.string() }),
  'node.compensated': () =>
    z.looseObject({
      workflowId: z.string(),
      nodeId: z.string(),
      ok: z.boolean(),
      error: errorInfo().optional(),
    }),
  /** A question for a human: a human node, an approval node, or an agent's ask_human tool. */
  'input.requested': () =>
    z.looseObject({
      requestId: z.string(),
      workflowId: z.string().optional(),
      nodeId: z.string().optional(),
      agentId: z.string().optional(),
      kind: z.enum(['input', 'approval']),
      prompt: z.string(),
      /** The node attempt that asked: a new attempt asks again. */
      attempt: z.number().int().positive().optional(),
    }),
  /** An open question withdrawn without an answer: its node failed, was interrupted or cancelled. */
  'input.closed': () =>
    z.looseObject({
      requestId: z.string(),
      workflowId: z.string().optional(),
      nodeId: z.string().optional(),
      reason: z.string(),
    }),
  'memory.set': () => z.looseObject({ key: z.string(), value: z.unknown(), by: z.string() }),
  'agent.spawned': () =>
    z.looseObject({
      agentId: z.string(),
      agentType: z.string(),
      nodeId: z.string().optional(),
      workflowId: z.string().optional(),
      task: z.string().optional(),
      model: z.string().optional(),
      attempt: z.number().int().positive().optional(),
    }),
  /** Every transition of the agent state machine (initializing → thinking → ... → completed). */
  'agent.state_changed': () =>
    z.looseObject({
      agentId: z.string(),
      from: agentState().nullable(),
      to: agentState(),
    }),
  /** Streaming progress: SDK init, partial text, SDK-internal retries, tool progress. */
  'agent.progress': () =>
    z.looseObject({
      agentId: z.string(),
      kind: z.string(),
      text: z.string().optional(),
      /** On `init`: the SDK session id, so an agent can be resumed with its conversation. */
      sdkSessionId: z.string().optional(),
      /** On `init`: the tools that exist for the agent, as Claude Code lists them. */
      tools: z.array(z.string()).optional(),
      truncated: truncated(),
    }),
  /** A complete assistant text block. */
  'agent.message': () =>
    z.looseObject({
      agentId: z.string(),
      text: z.string(),
      subagentId: z.string().optional(),
      truncated: truncated(),
    }),
  'agent.tool_use': () =>
    z.looseObject({
      agentId: z.string(),
      toolUseId: z.string(),
      tool: z.string(),
      input: z.unknown(),
      subagentId: z.string().optional(),
      truncated: truncated(),
    }),
  'agent.tool_result': () =>
    z.looseObject({
      agentId: z.string(),
      toolUseId: z.string(),
      isError: z.boolean(),
      content: z.string(),
      truncated: truncated(),
    }),
  /**
   * Legacy: a decision of the orchestrator's former hand-written policy. No longer written
   * (`security.decision` replaced it); kept so that older logs still read.
   */
  'agent.permission': () =>
    z.looseObject({
      agentId: z.string(),
      tool: z.string(),
      decision: z.enum(['allow', 'deny']),
      reason: z.string(),
      toolUseId: z.string().optional(),
      subagentId: z.string().optional(),
    }),
  /**
   * One security decision on a tool call: allowed, denied, or asked (then answered by a
   * `human`, or denied when unanswered). `by` says who decided: Claude Code's own rules, the
   * agent type's policy, a human, a run-time grant, or the sandbox (a command Claude Code
   * approved because its sandbox confines it). The orchestrator's `add_nodes` and `skip_nodes`
   * are audited the same way (`by: policy`, `rule`: the graph policy's rule, or `protected`). `inputDigest`: the first 16 hex characters of
   * the SHA-256 of the input's canonical JSON.
   */
  'security.decision': () =>
    z.looseObject({
      agentId: z.string(),
      subagentId: z.string().optional(),
      tool: z.string(),
      toolUseId: z.string().optional(),
      decision: z.enum(['allow', 'deny', 'ask']),
      by: z.enum(['claude-code', 'policy', 'human', 'grant', 'sandbox']),
      rule: z.string().optional(),
      reason: z.string(),
      inputDigest: z.string(),
    }),
  /** The security policy an agent attempt started with: what Claude Code enforces for it. */
  'security.policy': () =>
    z.looseObject({
      agentId: z.string(),
      agentType: z.string(),
      /** Built-in tools that exist for it; `all` when its type lists none. */
      tools: z.union([z.array(z.string()), z.literal('all')]),
      allow: z.array(z.string()).optional(),
      deny: z.array(z.string()),
      ask: z.array(z.string()),
      /** Rules granted or revoked in the session for its type when it started. */
      granted: z.array(z.string()),
      revoked: z.array(z.string()),
      /** Whether its Bash commands run in Claude Code's sandbox, and why not. */
      sandbox: z.enum(['on', 'off']),
      sandboxOff: z.string().optional(),
      allowedDomains: z.array(z.string()),
      confineReads: z.boolean(),
      /** Where reads are open: absolute paths denied anyway (the user's credentials). */
      privateReads: z.array(z.string()).optional(),
      /** Where reads are open: folders of sessions' files, where it reads only its own working directory. */
      sessionFolders: z.array(z.string()).optional(),
      /** Folders it writes in nowhere, its own workspace included (the agents' `bin`, whose npm Claude Code runs). */
      protectedWrites: z.array(z.string()).optional(),
    }),
  /** A rule granted at run time to an agent type of the session (answers Claude Code's prompt with allow). */
  'security.granted': () =>
    z.looseObject({
      agentType: z.string(),
      rule: z.string(),
      by: z.string(),
      reason: z.string().optional(),
      controlId: z.string().optional(),
    }),
  /** A rule revoked at run time for an agent type of the session (its calls are denied from now on). */
  'security.revoked': () =>
    z.looseObject({
      agentType: z.string(),
      rule: z.string(),
      by: z.string(),
      reason: z.string().optional(),
      controlId: z.string().optional(),
    }),
  /** A retry: by Claude Code inside one attempt (`sdk`) or a new attempt by the orchestrator. */
  'agent.retry': () =>
    z.looseObject({
      agentId: z.string(),
      by: z.enum(['sdk', 'orchestrator']),
      attempt: z.number().int().positive(),
      maxAttempts: z.number().int().nonnegative().optional(),
      delayMs: z.number().nonnegative(),
      errorStatus: z.number().nullable().optional(),
      reason: z.string(),
    }),
  'agent.completed': () =>
    z.looseObject({
      agentId: z.string(),
      output: z.unknown().optional(),
      usage: usage().optional(),
      costUsd: z.number().nonnegative().optional(),
      turns: z.number().int().nonnegative().optional(),
      durationMs: z.number().nonnegative().optional(),
      sdkSessionId: z.string().optional(),
      attempt: z.number().int().positive().optional(),
      modelUsage: modelUsage().optional(),
    }),
  'agent.failed': () =>
    z.looseObject({
      agentId: z.string(),
      error: errorInfo(),
      attempt: z.number().int().positive().optional(),
      willRetry: z.boolean().optional(),
      usage: usage().optional(),
      costUsd: z.number().nonnegative().optional(),
      modelUsage: modelUsage().optional(),
      turns: z.number().int().nonnegative().optional(),
    }),
  'user.input': () =>
    z.looseObject({
      requestId: z.string().optional(),
      value: z.unknown(),
      by: z.string().optional(),
      controlId: z.string().optional(),
    }),
  'system.alert': () =>
    z.looseObject({
      rule: z.string(),
      severity: z.enum(['info', 'warning', 'critical']),
      message: z.string(),
      value: z.number().optional(),
      threshold: z.number().optional(),
      state: z.enum(['raised', 'cleared']).optional(),
      /** What the alert is about: the whole session, a workflow, a node or an agent. */
      scope: z.enum(['session', 'workflow', 'node', 'agent']).optional(),
      /** The id of that workflow, node (`workflowId/nodeId`) or agent. */
      scopeId: z.string().optional(),
    }),
  /** Reported by the bus when a subscriber throws or exceeds its handler timeout. */
  'system.subscriber_failed': () =>
    z.looseObject({
      subscriber: z.string(),
      reason: z.enum(['threw', 'timeout']),
      message: z.string(),
      eventId: z.string(),
      eventType: z.string(),
    }),
  /**
   * Processes left behind by an orchestrator process that died (SIGKILL, a crash) were ended:
   * agent processes and the tools they ran, found by their tag. Recorded in each session they
   * worked for, by the orchestrator that swept them (on start or resume).
   */
  'system.orphans_swept': () =>
    z.looseObject({
      /** How many processes were ended. */
      processes: z.number().int().nonnegative(),
      /** The agents they belonged to. */
      agents: z.array(z.string()),
      pids: z.array(z.number().int()),
    }),
  /**
   * Token usage of one model request of an agent (one assistant message), recorded as it
   * streams. Feeds context size (input + cache tokens of the request) and live figures; the
   * totals that count stay on `agent.completed` / `agent.failed`.
   */
  'agent.usage': () =>
    z.looseObject({
      agentId: z.string(),
      model: z.string().optional(),
      messageId: z.string().optional(),
      inputTokens: z.number().nonnegative(),
      outputTokens: z.number().nonnegative().optional(),
      cacheReadTokens: z.number().nonnegative().optional(),
      cacheCreationTokens: z.number().nonnegative().optional(),
      subagentId: z.string().optional(),
      /** From the start of the turn (the attempt's start, or the tool results it answers) to its first streamed token. */
      ttftMs: z.number().nonnegative().optional(),
      /** From the start of the turn to the end of this message. */
      durationMs: z.number().nonnegative().optional(),
      /** 1 for the attempt's first model request (its `ttftMs` includes starting the process). */
      turn: z.number().int().positive().optional(),
    }),
  /**
   * One model request of an agent as the gateway forwarded it (retries included), with its
   * usage read from the wire and priced with the monitor's table. When an agent's requests are
   * recorded this way, its figures count spend from these events; Claude Code's own estimate
   * stays on `agent.completed` (`sdkCostUsd` in the figures).
   */
  'model.request': () =>
    z.looseObject({
      requestId: z.string(),
      agentId: z.string(),
      /** The subagent that sent it (`sub-<digest of its prompt>`), when the request shows one. */
      subagentId: z.string().optional(),
      model: z.string(),
      /** The upstream's final status; 0 when it was never reached (a fault before any answer). */
      status: z.number().int().nonnegative(),
      ok: z.boolean(),
      inputTokens: z.number().nonnegative(),
      outputTokens: z.number().nonnegative(),
      cacheReadTokens: z.number().nonnegative(),
      cacheCreationTokens: z.number().nonnegative(),
      costUsd: z.number().nonnegative(),
      /** From forwarding to the first byte of the response body. */
      firstByteMs: z.number().nonnegative().optional(),
      durationMs: z.number().nonnegative(),
      /** Time it waited in the gateway's fair queue for the rate limits before it was forwarded. */
      queuedMs: z.number().nonnegative().optional(),
      /** Its place in that queue when not the default 0 (its node's `priority`): higher goes first. */
      priority: z.number().int().optional(),
      /** Tries it took (1 without retries). */
      attempt: z.number().int().positive(),
      /** What went wrong on the wire: `cut`, `first_byte_timeout`, `idle_timeout`, `unreachable`, `malformed`, `stream_error`, `client_closed`. */
      fault: z.string().optional(),
      error: errorInfo().optional(),
    }),
  /** The gateway retries a model request (a 429, 529, 5xx, or a fault before any byte reached the agent). */
  'model.retry': () =>
    z.looseObject({
      requestId: z.string(),
      agentId: z.string(),
      subagentId: z.string().optional(),
      /** The try about to be made (2 for the first retry). */
      attempt: z.number().int().positive(),
      maxRetries: z.number().int().nonnegative(),
      delayMs: z.number().nonnegative(),
      /** The status that caused it; 0 for a fault. */
      status: z.number().int().nonnegative(),
      fault: z.string(),
      /** The error code it would have been (`AGENT_RATE_LIMITED`, `AGENT_NETWORK`...). */
      reason: z.string(),
    }),
  /** A periodic sample of the memory of the agent processes alive at that moment. */
  'agent.resources': () =>
    z.looseObject({
      /** Agent processes sampled. */
      processes: z.number().int().nonnegative(),
      /** Resident memory of all of them together, in bytes (VmRSS). */
      rssBytes: z.number().nonnegative(),
      /** Resident memory of the largest one, in bytes. */
      maxRssBytes: z.number().nonnegative(),
      /**
       * Spare processes of the warm pool alive then (started ahead for agents to come, serving
       * every session of the process), and their resident memory together, in bytes.
       */
      spareProcesses: z.number().int().nonnegative().optional(),
      spareRssBytes: z.number().nonnegative().optional(),
      samples: z
        .array(
          z.looseObject({ pid: z.number().int(), rssBytes: z.number().nonnegative(), agentId: z.string().optional() }),
        )
        .optional(),
    }),
  /**
   * A hard cost budget was reached: no further agent may start (or, through the model gateway,
   * no further model request be sent) in its scope. `node` and `agent` limits are enforced by
   * the gateway only.
   */
  'budget.exhausted': () =>
    z
      .looseObject({
        scope: z.enum(['session', 'workflow', 'agentType', 'node', 'agent']),
        /** The session id, workflow id, agent type name, node (`workflowId/nodeId`) or agent id the limit applies to. */
        key: z.string(),
        /** A limit in US dollars, and what was spent against it. */
        limitUsd: z.number().nonnegative().optional(),
        spentUsd: z.number().nonnegative().optional(),
        /** A limit in tokens (a node's `budget.tokens`: input, cache reads and writes included, plus output). */
        limitTokens: z.number().int().nonnegative().optional(),
        spentTokens: z.number().int().nonnegative().optional(),
        action: z.enum(['pause', 'fail']),
        workflowId: z.string().optional(),
      })
      .refine((data) => (data.limitUsd === undefined) !== (data.limitTokens === undefined), {
        message: 'a budget.exhausted names one limit: limitUsd or limitTokens',
      }),
} as const;

/** Every known event type name. */
export type EventType = keyof typeof DATA_SCHEMA_BUILDERS;

/** The zod schema of each event type's payload. */
type DataSchemas = { [K in EventType]: ReturnType<(typeof DATA_SCHEMA_BUILDERS)[K]> };

/** The payload type of each event type. */
export type EventDataMap = { [K in EventType]: z.infer<DataSchemas[K]> };

/** The list of known event type names, in catalog order. */
export const EVENT_TYPES = Object.keys(DATA_SCHEMA_BUILDERS) as EventType[];

const built = new Map<EventType, DataSchemas[EventType]>();

/**
 * The schema of an event type's payload, built the first time it is asked for. Building all
 * fifty at import took 30-40 ms of every command's start and of the library's import (zod makes
 * a schema in several objects and closures), while most processes parse few types, or none:
 * the events the orchestrator builds itself are typed and never parsed again.
 */
export function dataSchemaOf<K extends EventType>(type: K): DataSchemas[K] {
  let schema = built.get(type);
  if (schema === undefined) {
    schema = DATA_SCHEMA_BUILDERS[type]();
    built.set(type, schema);
  }
  return schema as DataSchemas[K];
}

const INTERNED = new Map<string, EventType>(EVENT_TYPES.map((type) => [type, type]));

/**
 * The catalog's own string for an event type, or undefined for an unknown type. Event types
 * read from JSON are fresh strings, and a `switch` over them compares characters case after
 * case (about 0.3 µs an event with twenty cases, measured); the catalog's strings are
 * internalized, so the same `switch` over the interned type compares pointers. Hot reducers
 * intern once per event.
 */
export function internEventType(type: string): EventType | undefined {
  return INTERNED.get(type);
}

/** True when `type` names an event in the catalog. */
export function isEventType(type: string): type is EventType {
  return Object.hasOwn(DATA_SCHEMA_BUILDERS, type);
}
