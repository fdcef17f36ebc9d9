import { createRequire } from 'node:module';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';

// prom-client is loaded when an exporter's metrics are first read (or its queue is full), not
// by importing the library nor by opening an orchestrator (see `PrometheusExporter`). It is
// CommonJS, so `require` gives the instance an `import` would.
const promClient = () => createRequire(import.meta.url)('prom-client') as typeof import('prom-client');

const SECONDS_TURN = [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];
const SECONDS_TTFT = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
const SECONDS_LONG = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** The prom-client objects of one exporter, on a registry of their own. */
export interface PrometheusMetrics {
  readonly registry: Registry;
  readonly events: Counter;
  readonly tokens: Counter;
  readonly cost: Counter;
  readonly sdkCost: Counter;
  readonly spawned: Counter;
  readonly attempts: Counter;
  readonly errors: Counter;
  readonly responses: Counter;
  readonly tools: Counter;
  readonly toolErrors: Counter;
  readonly retries: Counter;
  readonly gatewayRequests: Counter;
  readonly nodes: Counter;
  readonly workflowsEnded: Counter;
  readonly alerts: Counter;
  readonly budgets: Counter;
  readonly humans: Counter;
  readonly active: Gauge;
  readonly running: Gauge;
  readonly memory: Gauge;
  readonly turnTime: Histogram;
  readonly ttft: Histogram;
  readonly agentTime: Histogram;
  readonly workflowTime: Histogram;
}

/**
 * Makes an exporter's metrics, names prefixed with `prefix`. `collect` runs before the metrics
 * counted in the exporter's own maps (events, nodes, responses, tools, and the response times)
 * are read, to hand those counts over.
 */
export function makePrometheusMetrics(prefix: string, collect: () => void): PrometheusMetrics {
  const { Counter, Gauge, Histogram, Registry } = promClient();
  const registry = new Registry();
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name: prefix + name, help, labelNames, registers });
  const counted = (name: string, help: string, labelNames: string[]) =>
    new Counter({ name: prefix + name, help, labelNames, registers, collect });
  const histogram = (name: string, help: string, labelNames: string[], buckets: number[], handOver?: () => void) =>
    new Histogram({
      name: prefix + name,
      help,
      labelNames,
      buckets,
      registers,
      ...(handOver && { collect: handOver }),
    });
  return {
    registry,
    events: counted('events_total', 'Events committed, by type.', ['type']),
    tokens: counter(
      'tokens_total',
      'Tokens used by agents, by kind, model and agent type (read off the wire behind the model gateway).',
      ['kind', 'model', 'agent_type'],
    ),
    cost: counter(
      'cost_usd_total',
      'Cost priced from per-model usage (read off the wire behind the model gateway), in US dollars.',
      ['model', 'agent_type'],
    ),
    sdkCost: counter('sdk_cost_usd_total', "The SDK's own cost estimate, in US dollars.", ['agent_type']),
    spawned: counter('agents_spawned_total', 'Agents spawned, by agent type.', ['agent_type']),
    attempts: counter('agent_attempts_total', 'Agent attempts ended, by outcome.', ['agent_type', 'outcome']),
    errors: counter('agent_errors_total', 'Failed agent attempts, by error code.', ['agent_type', 'code']),
    responses: counted('model_responses_total', 'Model responses, by model.', ['model']),
    tools: counted('tool_calls_total', 'Tool calls by agents, by tool.', ['tool']),
    toolErrors: counter('tool_errors_total', 'Tool results marked as errors.'),
    retries: counter('retries_total', 'Retries, by Claude Code (sdk), the orchestrator or the model gateway.', ['by']),
    gatewayRequests: counter(
      'gateway_requests_total',
      'Model requests through the gateway, by model and outcome (ok, or the error code).',
      ['model', 'outcome'],
    ),
    nodes: counted('nodes_total', 'Workflow nodes ended, by status.', ['status']),
    workflowsEnded: counter('workflows_total', 'Workflow runs ended, by status.', ['status']),
    alerts: counter('alerts_total', 'Alerts raised, by rule and severity.', ['rule', 'severity']),
    budgets: counter('budget_exhausted_total', 'Budgets reached, by scope and action.', ['scope', 'action']),
    humans: counter('human_inputs_total', 'Answers given by people.'),
    active: new Gauge({ name: `${prefix}agents_active`, help: 'Agents holding a process slot.', registers }),
    running: new Gauge({ name: `${prefix}workflows_running`, help: 'Workflow runs in progress.', registers }),
    memory: new Gauge({
      name: `${prefix}agent_processes_rss_bytes`,
      help: 'Resident memory of the agent processes at their latest sample, summed over sessions.',
      registers,
    }),
    turnTime: histogram(
      'model_response_seconds',
      'Time of each model response, from request to last token.',
      ['model'],
      SECONDS_TURN,
      collect,
    ),
    ttft: histogram(
      'time_to_first_token_seconds',
      'Time from a model request to its first token.',
      ['model'],
      SECONDS_TTFT,
      collect,
    ),
    agentTime: histogram(
      'agent_duration_seconds',
      'Wall time of agents, from spawn to final outcome.',
      ['agent_type', 'outcome'],
      SECONDS_LONG,
    ),
    workflowTime: histogram('workflow_duration_seconds', 'Wall time of workflow runs.', ['status'], SECONDS_LONG),
  };
}
