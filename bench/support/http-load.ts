// The load generator, in a process of its own: autocannon keeps CONNECTIONS keep-alive
// connections busy with GET URL for DURATION_MS (after a one-second warm-up it does not count),
// then this prints one JSON line { requests, errors, rps, p50Ms, p99Ms }.
//
//   node http-load.ts URL CONNECTIONS DURATION_MS [AUTHORIZATION]
import autocannon from 'autocannon';

const [url, connectionsText, durationText, authorization] = process.argv.slice(2);
if (!url || !connectionsText || !durationText) {
  process.stderr.write('usage: http-load.ts URL CONNECTIONS DURATION_MS [AUTHORIZATION]\n');
  process.exit(2);
}
const connections = Number(connectionsText);
const duration = Number(durationText) / 1000;
const headers = authorization ? { authorization } : {};

const warm = await autocannon({ url, connections, duration: 1, headers });
if (warm.non2xx > 0 || warm.errors > 0) {
  process.stderr.write(`warm-up failed: ${warm.non2xx} non-2xx answers, ${warm.errors} errors\n`);
}
const result = await autocannon({ url, connections, duration, headers });
process.stdout.write(
  `${JSON.stringify({
    requests: result.requests.total,
    errors: result.errors + result.timeouts + result.non2xx,
    rps: result.requests.total / duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  })}\n`,
);
