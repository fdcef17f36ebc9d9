import { type ChildProcess, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { startGateway } from '../src/gateway/index.ts';
import type { BenchFigure } from './run.ts';
import type { LoadCommand } from './support/gateway-peer.ts';

/**
 * The model gateway on loopback, measured in this process alone: the scripted model server
 * (the upstream) and the clients run in two child processes (bench/support/gateway-peer.ts),
 * so that the figures are the gateway's, not those of one event loop shared by the server, the
 * gateway and 100 clients (which measured queueing: 100 streams added p50 13-38 ms).
 * - added latency to the first byte of a streamed answer, through the gateway against direct
 *   (client to upstream), one stream at a time and 100 at once (p50 and p99 of each);
 * - the gap the gateway adds per chunk: a stream of spaced events, its duration through the
 *   gateway against direct, divided by its chunks (no buffering means close to 0);
 * - memory per open stream: the gateway process's heap and buffers with 400 streams open
 *   through it, against before, per stream;
 * - requests per second through the gateway (streamed answers, 32 clients), and direct;
 * - CPU time of the gateway process per request (user + system), at full load and with 100
 *   streams at once.
 * The gateway records into a log that drops events (the store's cost is the store benchmark's).
 * On a 2-core machine the three processes still share the cores: under load, the client and
 * the upstream compete with the gateway for CPU (the direct side has one hop fewer to pay).
 */

const peer = path.join(import.meta.dirname, 'support', 'gateway-peer.ts');

/** The upstream peer: the scripted model server in a process of its own. */
async function startUpstream(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [peer, 'upstream'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  return { url: (JSON.parse(line.toString()) as { url: string }).url, child };
}

/** The load peer: the clients, driven over IPC. */
async function startLoad() {
  const child = fork(peer, ['load'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const ready = Promise.withResolvers<void>();
  child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
    if (message.id === 0) return ready.resolve();
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiter?.reject(new Error(message.error));
    else waiter?.resolve(message.result);
  });
  child.once('exit', (code) => {
    const error = new Error(`the load peer exited (${code})`);
    ready.reject(error);
    for (const waiter of pending.values()) waiter.reject(error);
  });
  await ready.promise;
  let next = 0;
  return {
    child,
    call<T>(command: LoadCommand): Promise<T> {
      const id = ++next;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, ...command });
      });
    },
  };
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function heapNow(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** CPU time of this process (user + system) spent in `work`, in microseconds. */
async function cpuOf<T>(work: () => Promise<T>): Promise<{ result: T; cpuUs: number }> {
  const before = process.cpuUsage();
  const result = await work();
  const spent = process.cpuUsage(before);
  return { result, cpuUs: spent.user + spent.system };
}

export default async function gatewayBench(): Promise<BenchFigure[]> {
  const upstream = await startUpstream();
  const load = await startLoad();
  let recorded = 0;
  const gateway = await startGateway({
    upstream: upstream.url,
    apiKey: 'bench-key',
    log: {
      append: async (_sessionId, events) => {
        recorded += events.length;
        return [];
      },
    },
  });
  const key = gateway.mint({ sessionId: 'ses_bench', agentId: 'agt_bench', agentType: 'bench' }).token;
  type Sample = { direct: number[]; through: number[] };
  const firstBytes = (concurrency: number, rounds: number) =>
    load.call<Sample>({ op: 'firstBytes', direct: upstream.url, through: gateway.url, key, concurrency, rounds });
  try {
    await firstBytes(20, 2); // warm-up: sockets, JIT
    const one = await firstBytes(1, 400);
    const hundredRounds = 20;
    const hundred = await cpuOf(() => firstBytes(100, hundredRounds));

    const spaced = await load.call<Sample>({
      op: 'spaced',
      direct: upstream.url,
      through: gateway.url,
      key,
      count: 10,
    });
    const events = 40 + 6; // text deltas plus start, ping, block start/stop, delta, stop
    const gapMs = (quantile(spaced.through, 0.5) - quantile(spaced.direct, 0.5)) / events;

    const streams = 400;
    const before = heapNow();
    await load.call({ op: 'hold', base: gateway.url, key, count: streams });
    const perStreamKb = Math.max(0, heapNow() - before) / streams / 1024;
    await load.call({ op: 'held' });

    const total = 3000;
    const rpsDirect = await load.call<number>({ op: 'throughput', base: upstream.url, key, total, clients: 32 });
    const rps = await cpuOf(() => load.call<number>({ op: 'throughput', base: gateway.url, key, total, clients: 32 }));

    const added = (q: number, sample: Sample) => quantile(sample.through, q) - quantile(sample.direct, q);
    return [
      { name: 'first byte, 1 stream: direct p50', value: quantile(one.direct, 0.5), unit: 'ms' },
      { name: 'first byte, 1 stream: through the gateway p50', value: quantile(one.through, 0.5), unit: 'ms' },
      { name: 'first byte, 1 stream: added p50', value: added(0.5, one), unit: 'ms', target: '<= 1' },
      { name: 'first byte, 1 stream: added p99', value: added(0.99, one), unit: 'ms', target: '<= 5' },
      { name: 'first byte, 100 streams: direct p50', value: quantile(hundred.result.direct, 0.5), unit: 'ms' },
      {
        name: 'first byte, 100 streams: through the gateway p50',
        value: quantile(hundred.result.through, 0.5),
        unit: 'ms',
      },
      { name: 'first byte, 100 streams: added p50', value: added(0.5, hundred.result), unit: 'ms', target: '<= 1' },
      { name: 'first byte, 100 streams: added p99', value: added(0.99, hundred.result), unit: 'ms', target: '<= 5' },
      {
        name: 'gateway CPU per request, 100 streams at once',
        value: hundred.cpuUs / (100 * hundredRounds),
        unit: 'µs',
      },
      { name: 'gap added per chunk (2 ms apart upstream)', value: gapMs, unit: 'ms' },
      { name: `memory per open stream (${streams} open)`, value: perStreamKb, unit: 'KB', target: '<= 100' },
      { name: 'requests/s direct (32 clients, streamed)', value: Math.round(rpsDirect), unit: 'req/s' },
      { name: 'requests/s through the gateway', value: Math.round(rps.result), unit: 'req/s', target: '>= 2,000' },
      { name: 'gateway CPU per request, 32 clients at full rate', value: rps.cpuUs / total, unit: 'µs' },
      { name: 'model.request events recorded', value: recorded, unit: 'events' },
    ];
  } finally {
    await gateway.close();
    load.child.disconnect();
    upstream.child.kill('SIGTERM');
    await Promise.all([
      load.child.exitCode === null ? once(load.child, 'exit') : undefined,
      upstream.child.exitCode === null ? once(upstream.child, 'exit') : undefined,
    ]);
  }
}
