/**
 * The HTTP API under load, the clients in a second process on loopback (issue 13):
 * - `GET /v1/sessions/:id` of a 1,000-event session, autocannon with 32 keep-alive
 *   connections for 5 s (bench/support/http-load.ts): target >= 5,000 requests/s with p99 <= 10 ms
 *   (autocannon reports latency in whole milliseconds).
 * - SSE fan-out: 500 clients each receiving every event of a session that produces 1,000
 *   events/s for 5 s: target none lost, p99 delivery latency (event `ts` to arrival) <= 50 ms.
 *   The CPU time of both processes is printed beside the wall time: on a shared machine the
 *   latency says as much about the neighbours as about the server.
 * Both share the machine's cores with the load generator.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfig } from '../src/config/index.ts';
import type { NewEvent } from '../src/events/index.ts';
import { Orchestrator } from '../src/orchestrator/index.ts';
import { ApiServer } from '../src/server/index.ts';
import type { BenchFigure } from './run.ts';

const SUPPORT = path.join(import.meta.dirname, 'support');

function event(i: number): NewEvent {
  return i % 2 === 0
    ? { type: 'memory.set', data: { key: `k${i}`, value: { n: i, text: 'some value to carry' }, by: 'bench' } }
    : { type: 'agent.progress', data: { agentId: 'agt_bench', kind: 'text', text: `partial text ${i}` } };
}

/** Runs a support script; resolves with its lines, calling `onLine` as they come. */
function runSupport(script: string, args: string[], onLine: (line: string) => void = () => undefined) {
  const child = spawn(process.execPath, [path.join(SUPPORT, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    onLine(line);
  });
  return { child, done: once(child, 'exit').then(() => lines) };
}

export default async function (): Promise<BenchFigure[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-api-'));
  const orchestrator = await Orchestrator.open({
    config: loadConfig({ dataDir: dir, logLevel: 'silent', gateway: 'off' }, {}),
  });
  const server = await ApiServer.start({
    orchestrator,
    settings: { port: 0, ratePerSecond: 1_000_000, rateBurst: 1_000_000, streamBufferEvents: 2000 },
  });
  const figures: BenchFigure[] = [];
  try {
    const log = orchestrator.log;
    await log.append('ses-bench-read', [{ type: 'session.created', data: { name: 'bench' } }]);
    for (let i = 1; i < 1000; i += 111) {
      await log.append(
        'ses-bench-read',
        Array.from({ length: Math.min(111, 1000 - i) }, (_, k) => event(i + k)),
      );
    }
    const read = runSupport('http-load.ts', [`${server.url}/v1/sessions/ses-bench-read`, '32', '5000']);
    const result = JSON.parse((await read.done).at(-1) ?? '{}') as Record<string, number>;
    figures.push(
      {
        name: 'GET /v1/sessions/:id, 1,000 events: requests/s',
        value: result.rps ?? 0,
        unit: 'req/s',
        target: '>= 5,000',
      },
      { name: 'GET /v1/sessions/:id, 1,000 events: p50', value: result.p50Ms ?? 0, unit: 'ms' },
      { name: 'GET /v1/sessions/:id, 1,000 events: p99', value: result.p99Ms ?? 0, unit: 'ms', target: '<= 10' },
      { name: 'GET /v1/sessions/:id, 1,000 events: errors', value: result.errors ?? 0, unit: 'requests' },
    );

    const clients = 500;
    const perSecond = 1000;
    const seconds = 5;
    await log.append('ses-bench-fan', [{ type: 'session.created', data: { name: 'fan-out' } }]);
    const expected = 1 + perSecond * seconds;
    let ready: () => void = () => undefined;
    const allReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const fan = runSupport(
      'sse-clients.ts',
      [`${server.url}/v1/sessions/ses-bench-fan/events`, String(clients), String(expected), '60000'],
      (line) => {
        if (line === 'ready') ready();
      },
    );
    await allReady;
    // 1,000 events a second: 10 every 10 ms, each batch one append, issued on time whether or
    // not the previous one has committed (the store's group commit takes them together, as it
    // does for the engine and its agents writing at once).
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const appends: Promise<unknown>[] = [];
    for (let batch = 0; batch < (perSecond * seconds) / 10; batch++) {
      appends.push(
        log.append(
          'ses-bench-fan',
          Array.from({ length: 10 }, (_, k) => event(batch * 10 + k)),
        ),
      );
      const wait = start + (batch + 1) * 10 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    await Promise.all(appends);
    const rate = (perSecond * seconds) / ((performance.now() - start) / 1000);
    const fanResult = JSON.parse((await fan.done).at(-1) ?? '{}') as Record<string, number>;
    const wallMs = performance.now() - start;
    const cpu = process.cpuUsage(cpuBefore);
    figures.push(
      { name: 'SSE fan-out: events/s produced', value: rate, unit: 'events/s', target: '1,000' },
      {
        name: `SSE fan-out: clients that got all ${expected} events`,
        value: fanResult.complete ?? 0,
        unit: `of ${clients}`,
      },
      { name: 'SSE fan-out: events lost', value: fanResult.missing ?? 0, unit: 'events', target: '0' },
      { name: 'SSE fan-out: duplicates', value: fanResult.duplicates ?? 0, unit: 'events', target: '0' },
      { name: 'SSE fan-out: delivery latency p50', value: fanResult.p50Ms ?? 0, unit: 'ms' },
      { name: 'SSE fan-out: delivery latency p99', value: fanResult.p99Ms ?? 0, unit: 'ms', target: '<= 50' },
      { name: 'SSE fan-out: delivery latency max', value: fanResult.maxMs ?? 0, unit: 'ms' },
      { name: 'SSE fan-out: malformed frames', value: fanResult.malformed ?? 0, unit: 'frames', target: '0' },
      { name: 'SSE fan-out: wall time, first append to last delivery', value: wallMs, unit: 'ms' },
      { name: 'SSE fan-out: server process CPU, user', value: cpu.user / 1000, unit: 'ms' },
      { name: 'SSE fan-out: server process CPU, system', value: cpu.system / 1000, unit: 'ms' },
      { name: "SSE fan-out: clients' process CPU (user + system)", value: fanResult.cpuMs ?? 0, unit: 'ms' },
    );
  } finally {
    await server.close();
    await orchestrator.close();
    await rm(dir, { recursive: true, force: true });
  }
  return figures;
}
