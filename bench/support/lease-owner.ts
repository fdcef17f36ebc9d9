/**
 * A process that takes a session's lease and keeps it renewed, as a running orchestrator does,
 * until it is killed: the owner the takeover benchmark SIGKILLs.
 * Usage: node bench/support/lease-owner.ts <sqlite file> <session id> <ttl ms>
 */
import { SessionLeases } from '../../src/orchestrator/index.ts';
import { openEventStore } from '../../src/store/index.ts';

const [file, sessionId, ttl] = process.argv.slice(2) as [string, string, string];
const store = await openEventStore({ kind: 'sqlite', path: file });
const leases = new SessionLeases({ store, ttlMs: Number(ttl), onLost: () => process.exit(3) });
await leases.acquire(sessionId);
process.stdout.write('ready\n');
// Renewal timers are unref'd (they never keep a process alive on their own): this one must stay.
setInterval(() => undefined, 60_000);
