import { type ChildProcess, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { budgetGate, type GateLimit, startGateway } from '../src/gateway/index.ts';
import type { BenchFigure } from './run.ts';
import type { BodySize, LoadCommand } from './support/gateway-peer.ts';

/**
 * The model gateway on loopback, measured in this process alone: the scripted model server
 * (the upstream) and the clients run in two child processes (bench/support/gateway-peer.ts),
 * so that the figures are the gateway's, not those of one event loop shared by the server, the
 * gateway and 100 clients (which measured queueing: 100 streams added p50 13-38 ms). Direct and
 * through-the-gateway requests leave the same client process, alternately, so both suffer the
 * same client-side queueing.
 *
 * The gateway is set up as the orchestrator sets it up: with the budget gate (no budget, so
 * nothing is reserved), recording into a log that drops events (the store's cost is the store
 * benchmark's). Figures:
 * - added latency to the first byte of a streamed answer, through the gateway against direct,
 *   one stream at a time and 100 at once (p50 and p99), with a one-line body and with a 60 KB
 *   body shaped like Claude Code's first turn (with a budget, the gate parses and counts it
 *   before forwarding; without, it is forwarded unread and parsed while the model works);
 * - the gap the gateway adds per chunk: a stream of spaced events, its duration through the
 *   gateway against direct, divided by its chunks (no buffering means close to 0);
 * - memory per open stream: the gateway process's heap, external and array buffers with 400
 *   streams open through it, against before, per stream (garbage collected before each look);
 * - requests per second through the gateway (streamed answers, 32 clients), and direct;
 * - CPU time of the gateway process per request (user + system);
 * - the same through a minimal Node proxy (http server, keep-alive client, `pipe`): what
 *   Node's HTTP costs alone on this machine, the floor under the gateway's figures.
 * On a 2-core machine the three processes share the cores: under load, the client and the
 * upstream compete with the gateway for CPU (the direct side has one hop fewer to pay). With
 * 100 requests at once, each one's first byte waits for the gateway's CPU time of the requests
 * ahead of it: the added p50 is about 50 × the CPU per request spread over what the cores have
 * free, which the bare proxy shows too.
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
  const child = fork(peer, ['load'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
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

/** The floor: a proxy with nothing but Node's HTTP server, a keep-alive client and `pipe`. */
async function startBareProxy(upstream: string): Promise<{ url: string; close(): void }> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  const server = http.createServer({ keepAlive: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { host: _host, connection: _connection, ...headers } = req.headers;
      const out = http.request(
        { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers, agent },
        (response) => {
          res.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(res);
        },
      );
      out.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close() {
      server.close();
      server.closeAllConnections();
      agent.destroy();
    },
  };
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** A garbage collection on demand, without starting node with `--expose-gc`. */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

function heapNow(gc: () => void): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

/** CPU time of this process (user + system) spent in `work`, in microseconds. */
async function cpuOf<T>(work: () => Promise<T>): Promise<{ result: T; cpuUs: number }> {
  const before = process.cpuUsage();
  const result = await work();
  const spent = process.cpuUsage(before);
  return { result, cpuUs: spent.user + spent.system };
}

/** The gateway with the budget gate, as the orchestrator composes them. */
async function gatewayWith(upstream: string, limits: readonly GateLimit[], count: { recorded: number }) {
  const gateway = await startGateway({
    upstream,
    apiKey: 'bench-key',
    hooks: [budgetGate({ limits: () => limits, record: () => undefined, stopAgent: () => undefined })],
    log: {
      append: async (_sessionId, events) => {
        count.recorded += events.length;
        return [];
      },
    },
  });
  const key = gateway.mint({ sessionId: 'ses_bench', agentId: 'agt_bench', agentType: 'bench' }).token;
  return { gateway, key };
}

export default async function gatewayBench(): Promise<BenchFigure[]> {
  const gc = collector();
  const upstream = await startUpstream();
  const load = await startLoad();
  const count = { recorded: 0 };
  const { gateway, key } = await gatewayWith(upstream.url, [], count);
  const budgeted = await gatewayWith(upstream.url, [{ scope: 'session', limitUsd: 1e6 }], count);
  const bare = await startBareProxy(upstream.url);
  type Sample = { direct: number[]; through: number[] };
  const main = { url: gateway.url, key };
  const withBudget = { url: budgeted.gateway.url, key: budgeted.key };
  const bareProxy = { url: bare.url, key };
  const firstBytes = (concurrency: number, rounds: number, through = main, body: BodySize = 'small') =>
    load.call<Sample>({
      op: 'firstBytes',
      direct: upstream.url,
      through: through.url,
      key: through.key,
      concurrency,
      rounds,
      body,
    });
  const added = (q: number, sample: Sample) => quantile(sample.through, q) - quantile(sample.direct, q);
  try {
    for (const target of [main, withBudget, bareProxy]) await firstBytes(20, 2, target); // sockets, JIT
    const one = await firstBytes(1, 400);
    const large = await firstBytes(1, 200, main, 'first-turn');
    const largeBudgeted = await firstBytes(1, 200, withBudget, 'first-turn');
    const hundredRounds = 20;
    const hundred = await cpuOf(() => firstBytes(100, hundredRounds));
    const hundredBare = await firstBytes(100, hundredRounds, bareProxy);

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
    const before = heapNow(gc);
    await load.call({ op: 'hold', base: gateway.url, key, count: streams });
    const perStreamKb = Math.max(0, heapNow(gc) - before) / streams / 1024;
    await load.call({ op: 'held' });

    const total = 3000;
    const throughput = (base: string) => load.call<number>({ op: 'throughput', base, key, total, clients: 32 });
    const rpsDirect = await throughput(upstream.url);
    const rps = await cpuOf(() => throughput(gateway.url));
    const rpsBare = await cpuOf(() => throughput(bare.url));

    return [
      { name: 'first byte, 1 stream: direct p50', value: quantile(one.direct, 0.5), unit: 'ms' },
      { name: 'first byte, 1 stream: through the gateway p50', value: quantile(one.through, 0.5), unit: 'ms' },
      { name: 'first byte, 1 stream: added p50', value: added(0.5, one), unit: 'ms', target: '<= 1' },
      { name: 'first byte, 1 stream: added p99', value: added(0.99, one), unit: 'ms', target: '<= 5' },
      {
        name: 'first byte, 1 stream, 60 KB first turn: added p50',
        value: added(0.5, large),
        unit: 'ms',
        target: '<= 1',
      },
      {
        name: 'first byte, 1 stream, 60 KB first turn: added p99',
        value: added(0.99, large),
        unit: 'ms',
        target: '<= 5',
      },
      {
        name: 'first byte, 60 KB first turn under a budget: added p50',
        value: added(0.5, largeBudgeted),
        unit: 'ms',
        target: '<= 1',
      },
      {
        name: 'first byte, 60 KB first turn under a budget: added p99',
        value: added(0.99, largeBudgeted),
        unit: 'ms',
        target: '<= 5',
      },
      { name: 'first byte, 100 streams: direct p50', value: quantile(hundred.result.direct, 0.5), unit: 'ms' },
      {
        name: 'first byte, 100 streams: through the gateway p50',
        value: quantile(hundred.result.through, 0.5),
        unit: 'ms',
      },
      { name: 'first byte, 100 streams: added p50', value: added(0.5, hundred.result), unit: 'ms', target: '<= 1' },
      { name: 'first byte, 100 streams: added p99', value: added(0.99, hundred.result), unit: 'ms', target: '<= 5' },
      { name: 'first byte, 100 streams: added p50 by a bare Node proxy', value: added(0.5, hundredBare), unit: 'ms' },
      {
        name: 'gateway CPU per request, 100 streams at once',
        value: hundred.cpuUs / (100 * hundredRounds),
        unit: 'µs',
      },
      { name: 'gap added per chunk (2 ms apart upstream)', value: gapMs, unit: 'ms' },
      { name: `memory per open stream (${streams} open)`, value: perStreamKb, unit: 'KB', target: '<= 100' },
      { name: 'requests/s direct (32 clients, streamed)', value: Math.round(rpsDirect), unit: 'req/s' },
      { name: 'requests/s through the gateway', value: Math.round(rps.result), unit: 'req/s', target: '>= 2,000' },
      { name: 'requests/s through a bare Node proxy', value: Math.round(rpsBare.result), unit: 'req/s' },
      { name: 'gateway CPU per request, 32 clients at full rate', value: rps.cpuUs / total, unit: 'µs' },
      { name: 'bare Node proxy CPU per request, same load', value: rpsBare.cpuUs / total, unit: 'µs' },
      { name: 'model.request events recorded', value: count.recorded, unit: 'events' },
    ];
  } finally {
    bare.close();
    await Promise.all([gateway.close(), budgeted.gateway.close()]);
    load.child.disconnect();
    upstream.child.kill('SIGTERM');
    await Promise.all([
      load.child.exitCode === null ? once(load.child, 'exit') : undefined,
      upstream.child.exitCode === null ? once(upstream.child, 'exit') : undefined,
    ]);
  }
}
