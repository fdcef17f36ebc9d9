// SSE clients in a process of their own: opens CLIENTS streams of URL, prints `ready` once all
// are connected, and ends once each has received EXPECTED events (or after TIMEOUT_MS),
// printing one JSON line { clients, complete, missing, duplicates, p50Ms, p99Ms, maxMs,
// malformed, cpuMs }:
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
// Latencies are whole milliseconds: a histogram gives the same percentiles as a sorted list of
// the 2.5 million values, without holding or sorting them in the clients' process.
const HISTOGRAM_MS = 600_000;
const histogram = new Uint32Array(HISTOGRAM_MS + 1);
let deliveries = 0;
let maxMs = 0;
let complete = 0;
let missing = 0;
let duplicates = 0;
let connected = 0;
let malformed = 0;
let checked = 0;
const requests: http.ClientRequest[] = [];

let day = '';
let dayMs = Number.NaN;

/** An ISO time `YYYY-MM-DDTHH:MM:SS.mmmZ` at `at` in `text`, in ms; its day parsed once a day. */
function parseTs(text: string, at: number): number {
  if (text.charCodeAt(at + 10) !== 84 /* T */ || text.charCodeAt(at + 23) !== 90 /* Z */) {
    return Date.parse(text.slice(at, at + 30));
  }
  if (day === '' || !text.startsWith(day, at)) {
    day = text.slice(at, at + 10);
    dayMs = Date.parse(`${day}T00:00:00.000Z`);
  }
  const digit = (i: number) => text.charCodeAt(at + i) - 48;
  const hours = digit(11) * 10 + digit(12);
  const minutes = digit(14) * 10 + digit(15);
  const seconds = digit(17) * 10 + digit(18);
  const ms = digit(20) * 100 + digit(21) * 10 + digit(22);
  return dayMs + ((hours * 60 + minutes) * 60 + seconds) * 1000 + ms;
}

/**
 * An event frame of `text` between `from` and `end`: its id and its `ts`; undefined for other
 * frames (heartbeats). The `ts` is found by its key rather than by parsing the whole event:
 * 500 clients share this one process (and the server's cores), and a real client would not.
 * The envelope's `ts` precedes its `data` (and a key cannot occur inside a JSON string), so the
 * first `"ts":"` is the envelope's; every 997th frame is parsed in full to check that.
 */
function readFrame(text: string, from: number, end: number): { seq: number; ts: number } | undefined {
  if (!text.startsWith('id: ', from)) return undefined;
  const idEnd = text.indexOf('\n', from);
  const dataAt = text.indexOf('\ndata: ', idEnd);
  const tsAt = text.indexOf('"ts":"', dataAt);
  const seq = Number(text.slice(from + 4, idEnd));
  const ts = parseTs(text, tsAt + 6);
  if (idEnd < 0 || dataAt < 0 || dataAt > end || tsAt < 0 || tsAt > end || !Number.isSafeInteger(seq) || !ts) {
    malformed++;
    return undefined;
  }
  if (++checked % 997 === 0) {
    const event = JSON.parse(text.slice(dataAt + 7, end)) as { seq: number; ts: string };
    if (event.seq !== seq || Date.parse(event.ts) !== ts) malformed++;
  }
  return { seq, ts };
}

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
        // The frames of a chunk arrived together.
        const now = Date.now();
        buffer += chunk;
        let from = 0;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const frame = readFrame(buffer, from, end);
          from = end + 2;
          end = buffer.indexOf('\n\n', from);
          if (frame === undefined) continue;
          const { seq, ts } = frame;
          if (seq <= last) duplicates++;
          else if (seq !== last + 1) missing += seq - last - 1;
          last = Math.max(last, seq);
          const latency = Math.min(HISTOGRAM_MS, Math.max(0, now - ts));
          histogram[latency] = (histogram[latency] as number) + 1;
          deliveries++;
          if (latency > maxMs) maxMs = latency;
          if (++count === expected) {
            complete++;
            if (complete === clients) {
              clearTimeout(timer);
              resolve();
            }
          }
        }
        buffer = buffer.slice(from);
      });
    });
    request.on('error', () => undefined);
    requests.push(request);
  }
});
await finished;
for (const request of requests) request.destroy();
const cpu = process.cpuUsage();
/** The latency below which a share `q` of the deliveries fall (the `floor(q * n)`-th, from 0). */
const at = (q: number) => {
  const rank = Math.min(deliveries - 1, Math.floor(q * deliveries));
  let seen = 0;
  for (let ms = 0; ms <= HISTOGRAM_MS; ms++) {
    seen += histogram[ms] as number;
    if (seen > rank) return ms;
  }
  return 0;
};
process.stdout.write(
  `${JSON.stringify({ clients, complete, missing, duplicates, p50Ms: at(0.5), p99Ms: at(0.99), maxMs, malformed, cpuMs: Math.round((cpu.user + cpu.system) / 1000) })}\n`,
);
agent.destroy();
