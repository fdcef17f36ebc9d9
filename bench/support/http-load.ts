// A load generator in a process of its own (autocannon's job; it is not a dependency): keeps
// CONNECTIONS keep-alive connections busy with GET URL for DURATION_MS, then prints one JSON
// line { requests, errors, rps, p50Ms, p99Ms }.
//
//   node http-load.ts URL CONNECTIONS DURATION_MS [AUTHORIZATION]
import http from 'node:http';

const [url, connectionsText, durationText, authorization] = process.argv.slice(2);
if (!url || !connectionsText || !durationText) {
  process.stderr.write('usage: http-load.ts URL CONNECTIONS DURATION_MS [AUTHORIZATION]\n');
  process.exit(2);
}
const connections = Number(connectionsText);
const duration = Number(durationText);
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const latencies: number[] = [];
let errors = 0;
const headers = authorization ? { authorization } : {};

function one(): Promise<void> {
  return new Promise((resolve) => {
    const started = performance.now();
    const request = http.get(url as string, { agent, headers }, (response) => {
      response.on('data', () => undefined);
      response.on('end', () => {
        if (response.statusCode === 200) latencies.push(performance.now() - started);
        else errors++;
        resolve();
      });
    });
    request.on('error', () => {
      errors++;
      resolve();
    });
  });
}

// A short warm-up, not counted.
const warmUntil = performance.now() + 1000;
await Promise.all(
  Array.from({ length: connections }, async () => {
    while (performance.now() < warmUntil) await one();
  }),
);
latencies.length = 0;
errors = 0;
const start = performance.now();
const end = start + duration;
await Promise.all(
  Array.from({ length: connections }, async () => {
    while (performance.now() < end) await one();
  }),
);
const elapsed = performance.now() - start;
latencies.sort((a, b) => a - b);
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
process.stdout.write(
  `${JSON.stringify({ requests: latencies.length, errors, rps: (latencies.length / elapsed) * 1000, p50Ms: at(0.5), p99Ms: at(0.99) })}\n`,
);
agent.destroy();
