import http from 'node:http';
import { type Gateway, startGateway } from '../src/gateway/index.ts';
import { type ModelServer, parseScenario, startModelServer } from '../src/model-server/index.ts';
import type { BenchFigure } from './run.ts';

/**
 * The model gateway on loopback, in front of the scripted model server (all in this process):
 * - added latency to the first byte of a streamed answer, through the gateway against direct,
 *   one stream at a time and 100 at once (p50 and p99 of each, and the difference);
 * - the gap the gateway adds per chunk: a stream of spaced events, its duration through the
 *   gateway against direct, divided by its chunks (no buffering means close to 0);
 * - memory per open stream: heap and buffers held with 400 streams open through the gateway,
 *   against the same streams direct, per stream;
 * - requests per second through the gateway (streamed answers, 32 clients), and direct.
 * The gateway records into a log that drops events (the store's cost is the store benchmark's).
 */

const scenario = parseScenario(
  `
name: gateway-bench
scripts:
  - name: quick
    match: { user: '^Quick' }
    turns: ['Hello from the scripted model, a short answer of a few chunks.']
  - name: spaced
    match: { user: '^Spaced' }
    turns:
      - content: [{ text: '${'x'.repeat(24 * 40)}' }]
        chunk_delay_ms: 2
  - name: held
    match: { user: '^Held' }
    turns:
      - content: [{ text: '${'y'.repeat(24 * 4)}' }]
        chunk_delay_ms: 1500
`,
  'gateway-bench.yaml',
);

const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });

interface Timed {
  readonly firstByteMs: number;
  readonly totalMs: number;
  readonly chunks: number;
}

/** One streamed request; resolves at its end with its timings. `onFirst` runs at the first body byte. */
function request(base: string, key: string, prompt: string, onFirst?: () => void): Promise<Timed> {
  const body = JSON.stringify({
    model: 'claude-opus-5-5',
    max_tokens: 1024,
    stream: true,
    messages: [{ role: 'user', content: prompt }],
  });
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(
      `${base}/v1/messages?beta=true`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'x-api-key': key, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let first = 0;
        let chunks = 0;
        res.on('data', () => {
          chunks++;
          if (first === 0) {
            first = performance.now() - started;
            onFirst?.();
          }
        });
        res.on('end', () => resolve({ firstByteMs: first, totalMs: performance.now() - started, chunks }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function firstBytes(server: ModelServer, gateway: Gateway, key: string, concurrency: number, rounds: number) {
  const direct: number[] = [];
  const through: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternated, so that neither side always runs second on a warmer process.
    const order = round % 2 === 0 ? ['direct', 'gateway'] : ['gateway', 'direct'];
    for (const side of order) {
      const base = side === 'direct' ? server.url : gateway.url;
      const timed = await Promise.all(
        Array.from({ length: concurrency }, (_, i) => request(base, key, `Quick ${round}-${i}`)),
      );
      (side === 'direct' ? direct : through).push(...timed.map((t) => t.firstByteMs));
    }
  }
  return { direct, through };
}

function heapNow(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** Memory held while `n` streams are open (each has its first byte and waits for the next). */
async function heldMemory(base: string, key: string, n: number): Promise<number> {
  const before = heapNow();
  let opened = 0;
  let measured = 0;
  let release: () => void = () => undefined;
  const allOpen = new Promise<void>((resolve) => {
    release = resolve;
  });
  const streams = Array.from({ length: n }, (_, i) =>
    request(base, key, `Held ${i}`, () => {
      opened++;
      if (opened === n) release();
    }),
  );
  await allOpen;
  measured = heapNow() - before;
  await Promise.all(streams);
  return measured;
}

async function throughput(base: string, key: string, total: number, clients: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        next++;
        await request(base, key, `Quick rps ${next}`);
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

export default async function gatewayBench(): Promise<BenchFigure[]> {
  const server = await startModelServer({ scenario, requestLogLimit: 1000 });
  let recorded = 0;
  const gateway = await startGateway({
    upstream: server.url,
    apiKey: 'bench-key',
    log: {
      append: async (_sessionId, events) => {
        recorded += events.length;
        return [];
      },
    },
  });
  const key = gateway.mint({ sessionId: 'ses_bench', agentId: 'agt_bench', agentType: 'bench' }).token;
  try {
    await firstBytes(server, gateway, key, 20, 2); // warm-up: sockets, JIT
    const one = await firstBytes(server, gateway, key, 1, 400);
    const hundred = await firstBytes(server, gateway, key, 100, 20);

    const spacedDirect: Timed[] = [];
    const spacedThrough: Timed[] = [];
    for (let i = 0; i < 10; i++) {
      spacedDirect.push(await request(server.url, key, `Spaced ${i}`));
      spacedThrough.push(await request(gateway.url, key, `Spaced ${i}`));
    }
    const events = 40 + 6; // text deltas plus start, ping, block start/stop, delta, stop
    const gapMs =
      (quantile(
        spacedThrough.map((t) => t.totalMs),
        0.5,
      ) -
        quantile(
          spacedDirect.map((t) => t.totalMs),
          0.5,
        )) /
      events;

    const streams = 400;
    const direct = await heldMemory(server.url, key, streams);
    const through = await heldMemory(gateway.url, key, streams);
    const perStreamKb = Math.max(0, through - direct) / streams / 1024;

    const rpsDirect = await throughput(server.url, key, 3000, 32);
    const rps = await throughput(gateway.url, key, 3000, 32);

    const added = (q: number, sample: { direct: number[]; through: number[] }) =>
      quantile(sample.through, q) - quantile(sample.direct, q);
    return [
      { name: 'first byte, 1 stream: direct p50', value: quantile(one.direct, 0.5), unit: 'ms' },
      { name: 'first byte, 1 stream: through the gateway p50', value: quantile(one.through, 0.5), unit: 'ms' },
      { name: 'first byte, 1 stream: added p50', value: added(0.5, one), unit: 'ms', target: '<= 1' },
      { name: 'first byte, 1 stream: added p99', value: added(0.99, one), unit: 'ms', target: '<= 5' },
      { name: 'first byte, 100 streams: direct p50', value: quantile(hundred.direct, 0.5), unit: 'ms' },
      { name: 'first byte, 100 streams: through the gateway p50', value: quantile(hundred.through, 0.5), unit: 'ms' },
      { name: 'first byte, 100 streams: added p50', value: added(0.5, hundred), unit: 'ms', target: '<= 1' },
      { name: 'first byte, 100 streams: added p99', value: added(0.99, hundred), unit: 'ms', target: '<= 5' },
      { name: 'gap added per chunk (2 ms apart upstream)', value: gapMs, unit: 'ms' },
      { name: `memory per open stream (${streams} open)`, value: perStreamKb, unit: 'KB', target: '<= 100' },
      { name: 'requests/s direct (32 clients, streamed)', value: Math.round(rpsDirect), unit: 'req/s' },
      { name: 'requests/s through the gateway', value: Math.round(rps), unit: 'req/s', target: '>= 2,000' },
      { name: 'model.request events recorded', value: recorded, unit: 'events' },
    ];
  } finally {
    await gateway.close();
    await server.close();
    agent.destroy();
  }
}
