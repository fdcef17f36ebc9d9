import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AnyEvent } from '../src/events/index.ts';
import { EventLog } from '../src/log/index.ts';
import {
  AlertEvaluator,
  applyMetricsEvent,
  BudgetLedger,
  emptyMetrics,
  Monitor,
  PrometheusExporter,
} from '../src/monitor/index.ts';
import { openEventStore } from '../src/store/index.ts';
import type { CompiledAlerts, CompiledBudget } from '../src/workflow/index.ts';

/**
 * Overhead of monitoring per event: the metrics projection and alert evaluation (every kind of
 * rule, two custom CEL rules among them, and an active budget ledger), fed the event mix of a
 * real run of the demo workflow, repeated with fresh agent and workflow ids. Figures:
 *
 * - how many events per second the metrics and alerts handle alone (and with Prometheus), in
 *   CPU time of this process (other processes on a shared machine do not count);
 * - what share of one core they take at 100,000 events/s (the target: under 10%);
 * - the bus's throughput to one no-op subscriber, and with the live monitor subscribed, so
 *   the monitor's cost reads against the bus throughput figure of `bus.bench.ts`.
 */

/** One measured figure. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  target?: string;
}

const COPIES = 1_500;
const ROUNDS = 3;
/** The projection alone is quick: more rounds, for a steadier best figure on a shared machine. */
const PROJECTION_ROUNDS = 9;
const RATE = 100_000;
const BATCH = 100;

const ALERTS: CompiledAlerts = {
  maxResponseTimeMs: 60_000,
  maxErrorRate: { rate: 0.5, windowMs: 600_000, minAttempts: 4 },
  maxCost: { session: 1_000_000, workflow: 1_000_000 },
  rules: [
    {
      name: 'chatty',
      scope: 'workflow',
      severity: 'warning',
      message: undefined,
      kind: 'when',
      source: 'workflow.toolCalls > 1000',
      above: undefined,
    },
    {
      name: 'pricey-agent',
      scope: 'agent',
      severity: 'warning',
      message: undefined,
      kind: 'value',
      source: 'agent.costUsd',
      above: 1000,
    },
  ],
};
const BUDGET: CompiledBudget = { session: 1_000_000, workflow: 1_000_000, agentTypes: {}, onExhausted: 'fail' };

/** The demo run's events, repeated `copies` times as one long session with fresh ids. */
function workload(copies: number): AnyEvent[] {
  const text = readFileSync(new URL('../test/fixtures/monitor/feature-team.events.jsonl', import.meta.url), 'utf8');
  const base = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AnyEvent)
    .filter((event) => event.type !== 'session.created');
  const events: AnyEvent[] = [];
  let seq = 0;
  for (let copy = 0; copy < copies; copy++) {
    const suffix = `_${copy}`;
    for (const event of base) {
      const data = { ...(event.data as Record<string, unknown>) };
      if (typeof data.agentId === 'string') data.agentId += suffix;
      if (typeof data.workflowId === 'string') data.workflowId += suffix;
      events.push({ ...event, id: `${event.id}${suffix}`, sessionId: 'ses_bench', seq: ++seq, data } as AnyEvent);
    }
  }
  return events;
}

/** Metrics + alerts (+ budget checks), the per-event work of the live monitor, without the bus. */
function timeProjection(events: readonly AnyEvent[], withPrometheus: boolean): number {
  const metrics = emptyMetrics('ses_bench');
  const alerts = new AlertEvaluator(ALERTS);
  const budget = new BudgetLedger('ses_bench', BUDGET);
  const prometheus = withPrometheus ? new PrometheusExporter() : undefined;
  let decided = 0;
  const start = cpuMs();
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as AnyEvent;
    prometheus?.observe(event);
    applyMetricsEvent(metrics, event);
    budget.observe(event);
    decided += alerts.evaluate(metrics, event).length;
    if (event.type === 'agent.usage' || event.type === 'agent.completed' || event.type === 'agent.failed') {
      decided += budget.breaches(metrics, event.data.agentId).length;
    }
  }
  const elapsed = cpuMs() - start;
  if (decided !== 0) throw new Error(`the bench's thresholds were meant never to trip (${decided} decisions)`);
  return elapsed;
}

/** Publishes the events in batches to a bus with one no-op subscriber, or with the live monitor. */
async function timeBus(events: readonly AnyEvent[], log: EventLog, withMonitor: boolean): Promise<number> {
  const bus = log.bus;
  let seen = 0;
  const off = bus.subscribe(
    {},
    () => {
      seen++;
    },
    { bufferSize: events.length },
  );
  const monitor = withMonitor ? new Monitor({ log, alerts: ALERTS, budget: BUDGET, tickMs: 0 }).start() : undefined;
  const start = performance.now();
  for (let i = 0; i < events.length; i += BATCH) {
    bus.publish(events.slice(i, i + BATCH));
    await null;
  }
  while (seen < events.length) await new Promise((resolve) => setImmediate(resolve));
  // The monitor's queue drains in the same microtask turns; wait for it too.
  await new Promise((resolve) => setImmediate(resolve));
  const elapsed = performance.now() - start;
  off();
  await monitor?.close();
  return elapsed;
}

/**
 * CPU time of this process in ms. The projection is timed in CPU time, not wall time, so that
 * other processes on a shared machine do not count as monitoring cost.
 */
function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function best(runs: number[]): number {
  return Math.min(...runs);
}

/** Runs the monitor benchmark and returns the figures. */
export default async function (): Promise<BenchResult[]> {
  const events = workload(COPIES);
  const n = events.length;
  const perSecond = (ms: number) => Math.round(n / (ms / 1000));
  // Warm the JIT on a smaller run.
  timeProjection(events.slice(0, 20_000), true);

  const projection: number[] = [];
  const withPrometheus: number[] = [];
  for (let round = 0; round < PROJECTION_ROUNDS; round++) {
    projection.push(timeProjection(events, false));
    withPrometheus.push(timeProjection(events, true));
  }
  const projectionMs = best(projection);
  const prometheusMs = best(withPrometheus);

  const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-monitor-'));
  const log = new EventLog(await openEventStore({ kind: 'sqlite', path: path.join(dir, 'events.db') }));
  const bare: number[] = [];
  const monitored: number[] = [];
  try {
    await timeBus(events.slice(0, 20_000), log, true);
    for (let round = 0; round < ROUNDS; round++) {
      bare.push(await timeBus(events, log, false));
      monitored.push(await timeBus(events, log, true));
    }
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
  const busMs = best(bare);
  const monitoredMs = best(monitored);
  // CPU ms per event x events per second = CPU ms per second; / 1000 ms x 100 = percent.
  const share = (ms: number) => Math.round((((ms / n) * RATE) / 10) * 100) / 100;

  return [
    { name: `events in the workload (demo run x ${COPIES})`, value: n, unit: 'events' },
    { name: 'metrics + alerts + budget checks alone', value: perSecond(projectionMs), unit: 'events/s' },
    { name: '... and Prometheus', value: perSecond(prometheusMs), unit: 'events/s' },
    {
      name: 'metrics + alerts: share of one core at 100,000 events/s',
      value: share(projectionMs),
      unit: '%',
      target: '< 10',
    },
    { name: '... with Prometheus', value: share(prometheusMs), unit: '%' },
    { name: 'bus publish to 1 subscriber (the bus throughput figure)', value: perSecond(busMs), unit: 'events/s' },
    { name: 'bus publish to 1 subscriber + the live monitor', value: perSecond(monitoredMs), unit: 'events/s' },
    {
      name: 'monitor time per event, as % of the bus time per event',
      value: Math.round(((monitoredMs - busMs) / busMs) * 1000) / 10,
      unit: '%',
    },
  ];
}
