import { createRequire } from 'node:module';
import type { Attributes, Span, SpanKind, Tracer } from '@opentelemetry/api';
import type { AnyEvent } from '../events/index.ts';

// Tracing is off unless configured: the OpenTelemetry API is loaded by the first span, not by
// importing the library (issue 15). It is CommonJS, so `require` gives the same instance.
let api: typeof import('@opentelemetry/api') | undefined;
const otel = () =>
  (api ??= createRequire(import.meta.url)('@opentelemetry/api') as typeof import('@opentelemetry/api'));

/**
 * OpenTelemetry traces built from events, following the GenAI semantic conventions: a span
 * per session, workflow run, node attempt, agent (`invoke_agent`), model response (`chat`)
 * and tool call (`execute_tool`), nested in that order, with `gen_ai.*` attributes (operation,
 * provider, agent name and id, request and response model, token usage, conversation id,
 * tool name and call id). Span times are the events' own times, so a trace can be built
 * from a recorded log as well as live. Alerts and budgets become span events of the session.
 *
 * Off by default. Exporters work without a network: `memory` (tests), `console` (JSON lines
 * on stderr, so a CLI's stdout stays clean) and `file` (JSON lines appended to a file).
 */

const PROVIDER = 'anthropic';

interface OpenAgent {
  readonly span: Span;
  readonly agentType: string;
  requestModel: string | undefined;
  responseModel: string | undefined;
  tokens: { input: number; output: number; cacheRead: number; cacheCreation: number };
}

/**
 * Turns events into spans on a tracer. Feed it every committed event in order (live, or a
 * recorded log); spans end when their closing event arrives, {@link endAll} ends the rest.
 */
export class TraceBuilder {
  readonly #tracer: Tracer;
  readonly #sessions = new Map<string, { span: Span; open: number }>();
  readonly #workflows = new Map<string, Span>();
  readonly #nodes = new Map<string, Span>();
  readonly #agents = new Map<string, OpenAgent>();
  readonly #tools = new Map<string, Span>();

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  /** Spans still open (for tests and diagnostics). */
  get openSpans(): number {
    return this.#sessions.size + this.#workflows.size + this.#nodes.size + this.#agents.size + this.#tools.size;
  }

  observe(event: AnyEvent): void {
    const at = new Date(event.ts);
    switch (event.type) {
      case 'session.created':
      case 'session.resumed':
        this.#session(event.sessionId, at, event.type === 'session.created' ? event.data.name : undefined);
        break;
      case 'workflow.started': {
        const session = this.#session(event.sessionId, at);
        session.open++;
        this.#workflows.set(
          event.data.workflowId,
          this.#start(`workflow ${event.data.name}`, at, session.span, {
            'orchestrator.session.id': event.sessionId,
            'orchestrator.workflow.id': event.data.workflowId,
            'orchestrator.workflow.name': event.data.name,
          }),
        );
        break;
      }
      case 'workflow.completed': {
        const span = this.#workflows.get(event.data.workflowId);
        if (span) {
          this.#workflows.delete(event.data.workflowId);
          span.setAttribute('orchestrator.workflow.status', event.data.status);
          if (event.data.status === 'failed') {
            span.setStatus({ code: otel().SpanStatusCode.ERROR, message: event.data.error?.message ?? 'failed' });
            if (event.data.error) span.setAttribute('error.type', event.data.error.code);
          }
          span.end(at);
        }
        const session = this.#sessions.get(event.sessionId);
        if (session && --session.open <= 0) {
          session.span.end(at);
          this.#sessions.delete(event.sessionId);
        }
        break;
      }
      case 'node.started': {
        const parent = this.#workflows.get(event.data.workflowId);
        const key = `${event.data.workflowId}/${event.data.nodeId}`;
        this.#nodes.get(key)?.end(at);
        this.#nodes.set(
          key,
          this.#start(`node ${event.data.nodeId}`, at, parent ?? this.#session(event.sessionId, at).span, {
            'orchestrator.node.id': event.data.nodeId,
            'orchestrator.node.attempt': event.data.attempt,
          }),
        );
        break;
      }
      case 'node.completed':
      case 'node.failed':
      case 'node.interrupted':
      case 'node.skipped':
      case 'node.cancelled': {
        const key = `${event.data.workflowId}/${event.data.nodeId}`;
        const span = this.#nodes.get(key);
        if (!span) break;
        this.#nodes.delete(key);
        span.setAttribute('orchestrator.node.status', event.type.slice('node.'.length));
        if (event.type === 'node.failed') {
          span.setStatus({ code: otel().SpanStatusCode.ERROR, message: event.data.error.message });
          span.setAttribute('error.type', event.data.error.code);
        }
        span.end(at);
        break;
      }
      case 'agent.spawned': {
        const workflowId = event.data.workflowId ?? event.correlationId ?? '';
        const parent =
          (event.data.nodeId && this.#nodes.get(`${workflowId}/${event.data.nodeId}`)) ||
          this.#workflows.get(workflowId) ||
          this.#session(event.sessionId, at).span;
        const span = this.#start(`invoke_agent ${event.data.agentType}`, at, parent, {
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.provider.name': PROVIDER,
          'gen_ai.agent.name': event.data.agentType,
          'gen_ai.agent.id': event.data.agentId,
          ...(event.data.model !== undefined && { 'gen_ai.request.model': event.data.model }),
        });
        this.#agents.set(event.data.agentId, {
          span,
          agentType: event.data.agentType,
          requestModel: event.data.model,
          responseModel: undefined,
          tokens: { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 },
        });
        break;
      }
      case 'agent.usage': {
        const agent = this.#agents.get(event.data.agentId);
        if (!agent) break;
        const model = event.data.model;
        const start = new Date(at.getTime() - (event.data.durationMs ?? 0));
        const span = this.#start(
          `chat ${model ?? ''}`.trim(),
          start,
          agent.span,
          {
            'gen_ai.operation.name': 'chat',
            'gen_ai.provider.name': PROVIDER,
            ...(model !== undefined && { 'gen_ai.request.model': model, 'gen_ai.response.model': model }),
            ...(event.data.messageId !== undefined && { 'gen_ai.response.id': event.data.messageId }),
            'gen_ai.usage.input_tokens': event.data.inputTokens,
            'gen_ai.usage.output_tokens': event.data.outputTokens ?? 0,
            'gen_ai.usage.cache_read.input_tokens': event.data.cacheReadTokens ?? 0,
            'gen_ai.usage.cache_creation.input_tokens': event.data.cacheCreationTokens ?? 0,
            ...(event.data.ttftMs !== undefined && { 'orchestrator.ttft_ms': event.data.ttftMs }),
            ...(event.data.subagentId !== undefined && { 'orchestrator.subagent.id': event.data.subagentId }),
          },
          otel().SpanKind.CLIENT,
        );
        span.end(at);
        if (model !== undefined && event.data.subagentId === undefined) {
          agent.requestModel ??= model;
          agent.responseModel = model;
        }
        break;
      }
      case 'agent.tool_use': {
        const agent = this.#agents.get(event.data.agentId);
        if (!agent) break;
        this.#tools.set(
          `${event.data.agentId}/${event.data.toolUseId}`,
          this.#start(`execute_tool ${event.data.tool}`, at, agent.span, {
            'gen_ai.operation.name': 'execute_tool',
            'gen_ai.tool.name': event.data.tool,
            'gen_ai.tool.call.id': event.data.toolUseId,
            ...(event.data.subagentId !== undefined && { 'orchestrator.subagent.id': event.data.subagentId }),
          }),
        );
        break;
      }
      case 'agent.tool_result': {
        const key = `${event.data.agentId}/${event.data.toolUseId}`;
        const span = this.#tools.get(key);
        if (!span) break;
        this.#tools.delete(key);
        if (event.data.isError) {
          span.setStatus({ code: otel().SpanStatusCode.ERROR, message: event.data.content.slice(0, 200) });
          span.setAttribute('error.type', 'tool_error');
        }
        span.end(at);
        break;
      }
      case 'agent.completed':
      case 'agent.failed':
        this.#agentEnded(event, at);
        break;
      case 'system.alert':
      case 'budget.exhausted': {
        const session = this.#sessions.get(event.sessionId);
        session?.span.addEvent(event.type, flatten(event.data), at);
        break;
      }
      default:
        break;
    }
  }

  /** Ends every open span now (shutdown, or the end of a recorded log). */
  endAll(at = new Date()): void {
    for (const span of this.#tools.values()) span.end(at);
    for (const agent of this.#agents.values()) agent.span.end(at);
    for (const span of this.#nodes.values()) span.end(at);
    for (const span of this.#workflows.values()) span.end(at);
    for (const session of this.#sessions.values()) session.span.end(at);
    this.#tools.clear();
    this.#agents.clear();
    this.#nodes.clear();
    this.#workflows.clear();
    this.#sessions.clear();
  }

  #agentEnded(event: AnyEvent & { type: 'agent.completed' | 'agent.failed' }, at: Date): void {
    const agent = this.#agents.get(event.data.agentId);
    if (!agent) return;
    // Tokens of every attempt, subagents included: per-model usage when there is some.
    const byModel = event.data.modelUsage;
    if (byModel && Object.keys(byModel).length > 0) {
      for (const usage of Object.values(byModel)) {
        agent.tokens.input += usage.inputTokens;
        agent.tokens.output += usage.outputTokens;
        agent.tokens.cacheRead += usage.cacheReadTokens;
        agent.tokens.cacheCreation += usage.cacheCreationTokens;
      }
    } else if (event.data.usage) {
      agent.tokens.input += event.data.usage.inputTokens;
      agent.tokens.output += event.data.usage.outputTokens;
      agent.tokens.cacheRead += event.data.usage.cacheReadTokens ?? 0;
      agent.tokens.cacheCreation += event.data.usage.cacheCreationTokens ?? 0;
    }
    if (event.type === 'agent.failed' && event.data.willRetry === true) return;
    const span = agent.span;
    span.setAttributes({
      'gen_ai.usage.input_tokens': agent.tokens.input,
      'gen_ai.usage.output_tokens': agent.tokens.output,
      'gen_ai.usage.cache_read.input_tokens': agent.tokens.cacheRead,
      'gen_ai.usage.cache_creation.input_tokens': agent.tokens.cacheCreation,
      ...(agent.requestModel !== undefined && { 'gen_ai.request.model': agent.requestModel }),
      ...(agent.responseModel !== undefined && { 'gen_ai.response.model': agent.responseModel }),
    });
    if (event.type === 'agent.completed') {
      if (event.data.sdkSessionId !== undefined) span.setAttribute('gen_ai.conversation.id', event.data.sdkSessionId);
      if (event.data.costUsd !== undefined) span.setAttribute('orchestrator.sdk_cost_usd', event.data.costUsd);
    } else {
      span.setStatus({ code: otel().SpanStatusCode.ERROR, message: event.data.error.message });
      span.setAttribute('error.type', event.data.error.code);
    }
    span.end(at);
    this.#agents.delete(event.data.agentId);
  }

  #session(sessionId: string, at: Date, name?: string): { span: Span; open: number } {
    let session = this.#sessions.get(sessionId);
    if (!session) {
      session = {
        span: this.#start(`session ${name ?? sessionId}`, at, undefined, { 'orchestrator.session.id': sessionId }),
        open: 0,
      };
      this.#sessions.set(sessionId, session);
    }
    return session;
  }

  #start(name: string, at: Date, parent: Span | undefined, attributes: Attributes, kind?: SpanKind): Span {
    const { ROOT_CONTEXT, SpanKind: kinds, trace } = otel();
    const context = parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
    return this.#tracer.startSpan(name, { startTime: at, kind: kind ?? kinds.INTERNAL, attributes }, context);
  }
}

/** An event payload as span event attributes (scalars only). */
function flatten(data: object): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[key] = value;
  }
  return out;
}
