import type { NewEvent } from '../events/index.ts';
import { readRssBytes } from './processes.ts';

/**
 * One `agent.resources` event per session for the agent processes alive now: the resident
 * memory of each (VmRSS), their sum and the largest. Processes that cannot be read (gone
 * meanwhile, not Linux) are left out; sessions with none get no event. `sparePids`, the warm
 * pool's spare processes, are summed into every event: they serve all sessions of the
 * process, and a memory figure without them falls far short of what the machine holds.
 */
export function resourceSamples(
  live: Iterable<{ readonly sessionId: string; readonly agentId: string; readonly pid: number | undefined }>,
  sparePids: Iterable<number> = [],
): Map<string, NewEvent> {
  let spareProcesses = 0;
  let spareRssBytes = 0;
  for (const pid of sparePids) {
    const rssBytes = readRssBytes(pid);
    if (rssBytes === undefined) continue;
    spareProcesses++;
    spareRssBytes += rssBytes;
  }
  const bySession = new Map<string, { pid: number; rssBytes: number; agentId: string }[]>();
  for (const { sessionId, agentId, pid } of live) {
    const rssBytes = pid === undefined ? undefined : readRssBytes(pid);
    if (pid === undefined || rssBytes === undefined) continue;
    const list = bySession.get(sessionId) ?? [];
    list.push({ pid, rssBytes, agentId });
    bySession.set(sessionId, list);
  }
  const out = new Map<string, NewEvent>();
  for (const [sessionId, samples] of bySession) {
    const rssBytes = samples.reduce((sum, sample) => sum + sample.rssBytes, 0);
    const maxRssBytes = Math.max(...samples.map((sample) => sample.rssBytes));
    out.set(sessionId, {
      type: 'agent.resources',
      source: 'runtime',
      data: {
        processes: samples.length,
        rssBytes,
        maxRssBytes,
        ...(spareProcesses > 0 && { spareProcesses, spareRssBytes }),
        samples,
      },
    });
  }
  return out;
}
