import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  PROCESS_OWNER_VARIABLE,
  PROCESS_SCOPE_VARIABLE,
  PROCESS_TAG_VARIABLE,
  processIdentity,
  recordOrphanSweep,
  sweepOrphans,
} from '../../src/agents/index.ts';
import { writeAttribution } from '../../src/agents/process-tags.ts';
import type { NewEvent } from '../../src/events/index.ts';
import { processesMatching, waitFor } from '../support/agent-kit.ts';

// sweepOrphans on real process trees tagged as the agent runtime tags its processes: those of
// a dead orchestrator on this data directory are ended (SIGTERM, then SIGKILL for one that
// ignores it), those of a live orchestrator or of another data directory are left alone. The
// end-to-end case (a CLI SIGKILLed during a Bash tool call) is test/cli/orphans.int.test.ts.

/** A unique sleep length per tree lets the test find exactly its own processes. */
const mark = (n: number) => `${700 + n}.${process.pid % 1000}`;

let dir: string;
let dataDir: string;
const started: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-orphans-'));
  dataDir = path.join(dir, 'data');
});
afterEach(() => {
  for (const child of started.splice(0)) {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Starts `bash -c SCRIPT` as the leader of its own process group, tagged like an agent process
 * of `scope` started by `owner`: its children (the sleeps) inherit the tags, as a Bash tool's do.
 */
function tree(script: string, tag: string, owner: string, scope = dataDir): ChildProcess {
  const child = spawn('bash', ['-c', script], {
    detached: true,
    stdio: 'ignore',
    env: {
      ...process.env,
      [PROCESS_TAG_VARIABLE]: tag,
      [PROCESS_OWNER_VARIABLE]: owner,
      [PROCESS_SCOPE_VARIABLE]: scope,
    },
  });
  started.push(child);
  return child;
}

const alive = (marker: string) => processesMatching(`sleep ${marker}`).length > 0;

describe('sweepOrphans', () => {
  it('ends the trees of a dead owner on this data directory, and only those', { timeout: 30_000 }, async () => {
    const me = processIdentity(process.pid) as string;
    // Dead owners: a pid that does not exist, and this pid with another start time (a reused pid).
    const gone = `${2 ** 22 + 17}:1`;
    const reused = `${process.pid}:1`;
    const dead = tree(`sleep ${mark(1)} & sleep ${mark(1)}; wait`, 'tag-dead', gone);
    const stubborn = tree(`trap '' TERM; sleep ${mark(2)}`, 'tag-stubborn', reused);
    tree(`sleep ${mark(3)}`, 'tag-live', me);
    tree(`sleep ${mark(4)}`, 'tag-elsewhere', gone, path.join(dir, 'other-data'));
    expect(await waitFor(() => [1, 2, 3, 4].every((n) => alive(mark(n))), 10_000)).toBe(true);
    writeAttribution(dataDir, { tag: 'tag-dead', owner: gone, pid: 1, agentId: 'agt_dead', sessionId: 'ses_dead' });
    writeAttribution(dataDir, { tag: 'tag-live', owner: me, pid: 1, agentId: 'agt_live', sessionId: 'ses_live' });
    const doomed = new Set([
      dead.pid as number,
      stubborn.pid as number,
      ...[...processesMatching(`sleep ${mark(1)}`), ...processesMatching(`sleep ${mark(2)}`)].map((p) => p.pid),
    ]);

    const startedAt = Date.now();
    const swept = await sweepOrphans({ dataDir, graceMs: 500 });
    // The stubborn tree ignored SIGTERM: it got SIGKILL after the grace.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(500);
    expect(alive(mark(1))).toBe(false);
    expect(alive(mark(2))).toBe(false);
    expect(alive(mark(3))).toBe(true);
    expect(alive(mark(4))).toBe(true);
    // The shells and their sleeps: every tagged process of the dead owners, and nothing else.
    expect(new Set(swept.pids)).toEqual(doomed);
    expect(swept.agents).toEqual(['agt_dead']);
    expect(swept.sessions).toEqual(['ses_dead']);
    // The dead owner's attribution is gone; the live one's stays.
    expect(existsSync(path.join(dataDir, 'agent-processes', 'tag-dead.json'))).toBe(false);
    expect(existsSync(path.join(dataDir, 'agent-processes', 'tag-live.json'))).toBe(true);

    const appended: Array<{ sessionId: string; events: readonly NewEvent[] }> = [];
    await recordOrphanSweep(
      {
        append: async (sessionId: string, events: readonly NewEvent[]) => {
          appended.push({ sessionId, events });
          return [];
        },
      },
      swept,
    );
    const attributed = swept.processes.filter((p) => p.sessionId === 'ses_dead');
    expect(appended).toEqual([
      {
        sessionId: 'ses_dead',
        events: [
          {
            type: 'system.orphans_swept',
            data: { processes: attributed.length, agents: ['agt_dead'], pids: attributed.map((p) => p.pid) },
          },
        ],
      },
    ]);
    // Nothing left to end: a second sweep finds nothing.
    expect((await sweepOrphans({ dataDir, graceMs: 500 })).pids).toEqual([]);
  });
});
