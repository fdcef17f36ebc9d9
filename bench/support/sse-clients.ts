// SSE clients in a process of their own: opens CLIENTS streams of URL, prints `ready` once all
// are connected, and ends once each has received EXPECTED events (or after TIMEOUT_MS),
// printing one JSON line { clients, complete, missing, duplicates, p50Ms, p99Ms, maxMs }:
// delivery latency is the time from an event's `ts` (stamped by the writer) to its arrival.
//
//   node sse-clients.ts URL CLIENTS EXPECTED TIMEOUT_MS
import http from 'node:http';

const [url, clientsText, expectedText, timeoutText] = process.argv.slice(2);
if (!url || !clientsText || !expectedText || !timeoutText) {
  process.stderr.write('usage: sse-clients.ts URL CLIENTS EXPECTED TIMEOUT_MS\n');
  process.exit(2);
}
const clients = Number(clientsText);
const expected = Number(expectedText);
const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
const latencies: number[] = [];
let complete = 0;
let missing = 0;
let duplicates = 0;
let connected = 0;
const requests: http.ClientRequest[] = [];

const finished = new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, Number(timeoutText));
  for (let c = 0; c < clients; c++) {
    let buffer = '';
    let last = 0;
    let count = 0;
    const request = http.get(url, { agent, headers: { accept: 'text/event-stream' } }, (response) => {
      response.setEncoding('utf8');
      if (++connected === clients) process.stdout.write('ready\n');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          const id = /^id: (\d+)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (id === undefined || data === undefined) continue;
          const seq = Number(id);
          if (seq <= last) duplicates++;
          else if (seq !== last + 1) missing += seq - last - 1;
          last = Math.max(last, seq);
          const ts = (JSON.parse(data) as { ts: string; type: string }).ts;
          latencies.push(Date.now() - Date.parse(ts));
          if (++count === expected) {
            complete++;
            if (complete === clients) {
              clearTimeout(timer);
              resolve();
            }
          }
        }
      });
    });
    request.on('error', () => undefined);
    requests.push(request);
  }
});
await finished;
for (const request of requests) request.destroy();
latencies.sort((a, b) => a - b);
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
process.stdout.write(
  `${JSON.stringify({ clients, complete, missing, duplicates, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: latencies.at(-1) ?? 0 })}\n`,
);
agent.destroy();
