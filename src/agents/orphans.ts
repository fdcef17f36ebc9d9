import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NewEvent } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import { agentFolders } from '../security/index.ts';
import { procIsOwnNamespace } from './pid-window.ts';
import {
  identityAlive,
  PROCESS_OWNER_VARIABLE,
  PROCESS_SCOPE_VARIABLE,
  PROCESS_TAG_VARIABLE,
  readAttribution,
  readAttributions,
  removeAttribution,
} from './process-tags.ts';
import { sweepScratchDirs } from './scratch.ts';

/** Options of {@link sweepOrphans}. */
export interface SweepOptions {
  /** The data directory whose orphans to end (made absolute). */
  readonly dataDir: string;
  /** How long the processes get after SIGTERM before SIGKILL, in ms. @default 2000 */
  readonly graceMs?: number;
}

/** One process a sweep ended. */
export interface SweptProcess {
  readonly pid: number;
  /** The agent it worked for, when its orchestrator had recorded it (it does as the process starts). */
  readonly agentId: string | undefined;
  readonly sessionId: string | undefined;
}

/** What {@link sweepOrphans} ended. */
export interface OrphanSweep {
  readonly processes: readonly SweptProcess[];
  readonly pids: readonly number[];
  /** Agents and sessions those processes worked for, each once. */
  readonly agents: readonly string[];
  readonly sessions: readonly string[];
}

interface Tagged {
  readonly pid: number;
  readonly tag: string;
  readonly owner: string;
}

const POLL_MS = 50;
/** SIGKILL passes after the grace: a process may fork between a listing and the kill of its parent. */
const KILL_PASSES = 5;

/**
 * Ends the processes an orchestrator on this data directory left behind when it died without
 * reaping them (SIGKILL, a crash, a power cut of the machine's session): Claude Code processes
 * and, above all, the tools they ran (a Bash tool runs in a process group of its own and
 * survives its Claude Code process, re-parented to init). They are found through /proc by the
 * environment every agent process and its descendants carry (see `process-tags.ts`): the tag,
 * this data directory, and an owner process that is dead. Processes of a live orchestrator
 * (another CLI on the same data directory, running now) are never touched, nor those of other
 * data directories. Each gets SIGTERM, then SIGKILL after `graceMs`. Resolves with what it
 * ended, attributed to agents and sessions where the dead orchestrator had recorded them, and
 * removes the attribution files of dead orchestrators and the TMPDIRs of their agent processes.
 * Linux only; elsewhere it ends nothing.
 *
 * @example
 * const swept = await sweepOrphans({ dataDir: config.dataDir });
 * await recordOrphanSweep(log, swept);
 */
export async function sweepOrphans(options: SweepOptions): Promise<OrphanSweep> {
  const dataDir = path.resolve(options.dataDir);
  const graceMs = options.graceMs ?? 2000;
  const owners = new Map<string, boolean>();
  const ownerAlive = (owner: string) => {
    let alive = owners.get(owner);
    if (alive === undefined) {
      alive = identityAlive(owner);
      owners.set(owner, alive);
    }
    return alive;
  };
  const orphans = async () => (await listTagged(dataDir)).filter((p) => !ownerAlive(p.owner));

  const ended = new Map<number, string>();
  let found = await orphans();
  const deadline = Date.now() + graceMs;
  while (found.length > 0 && Date.now() < deadline) {
    for (const p of found) {
      if (ended.has(p.pid)) continue;
      ended.set(p.pid, p.tag);
      signal(p.pid, 'SIGTERM');
    }
    await sleep(POLL_MS);
    found = await orphans();
  }
  for (let pass = 0; pass < KILL_PASSES && found.length > 0; pass++) {
    for (const p of found) {
      ended.set(p.pid, p.tag);
      signal(p.pid, 'SIGKILL');
    }
    await sleep(POLL_MS);
    found = await orphans();
  }

  const byTag = new Map<string, { agentId: string | undefined; sessionId: string | undefined }>();
  for (const tag of new Set(ended.values())) {
    const attribution = await readAttribution(dataDir, tag);
    byTag.set(tag, { agentId: attribution?.agentId, sessionId: attribution?.sessionId });
  }
  // The dead orchestrators' records are done with: their processes are gone now.
  for (const attribution of await readAttributions(dataDir)) {
    if (ownerAlive(attribution.owner)) continue;
    try {
      removeAttribution(dataDir, attribution.tag);
    } catch {
      // Removed meanwhile by another sweep, or not ours to remove.
    }
  }
  // And the TMPDIRs of their agent processes (scratch.ts), which they had no time to remove.
  await sweepScratchDirs(agentFolders(dataDir).tmpDir, ownerAlive);
  const processes: SweptProcess[] = [...ended].map(([pid, tag]) => {
    const worker = byTag.get(tag);
    return { pid, agentId: worker?.agentId, sessionId: worker?.sessionId };
  });
  const distinct = (values: (string | undefined)[]) => [...new Set(values.filter((v) => v !== undefined))];
  return {
    processes,
    pids: processes.map((p) => p.pid),
    agents: distinct(processes.map((p) => p.agentId)),
    sessions: distinct(processes.map((p) => p.sessionId)),
  };
}

/**
 * Records a sweep in the log: one `system.orphans_swept` event in each session whose processes
 * it ended (processes it could not attribute are in the returned sweep only).
 */
export async function recordOrphanSweep(log: Pick<EventLog, 'append'>, sweep: OrphanSweep): Promise<void> {
  for (const sessionId of sweep.sessions) {
    const mine = sweep.processes.filter((p) => p.sessionId === sessionId);
    const event: NewEvent<'system.orphans_swept'> = {
      type: 'system.orphans_swept',
      data: {
        processes: mine.length,
        agents: [...new Set(mine.flatMap((p) => (p.agentId === undefined ? [] : [p.agentId])))],
        pids: mine.map((p) => p.pid),
      },
    };
    await log.append(sessionId, [event as NewEvent]);
  }
}

/** Live processes (zombies excluded) carrying an agent tag of this data directory. */
async function listTagged(dataDir: string): Promise<Tagged[]> {
  if (process.platform !== 'linux' || !procIsOwnNamespace()) return [];
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return [];
  }
  const scope = Buffer.from(`\0${PROCESS_SCOPE_VARIABLE}=${dataDir}\0`);
  const found: Tagged[] = [];
  await Promise.all(
    names.map(async (name) => {
      if (!/^\d+$/.test(name) || Number(name) === process.pid) return;
      let environ: Buffer;
      try {
        environ = await readFile(`/proc/${name}/environ`);
      } catch {
        return; // Gone already, or not ours to read.
      }
      // A leading NUL so that the scope matches whole variables, the first one included.
      if (!Buffer.concat([Buffer.from([0]), environ]).includes(scope)) return;
      const vars = environ.toString('utf8').split('\0');
      const value = (key: string) => vars.find((v) => v.startsWith(`${key}=`))?.slice(key.length + 1);
      const tag = value(PROCESS_TAG_VARIABLE);
      const owner = value(PROCESS_OWNER_VARIABLE);
      if (tag !== undefined && owner !== undefined) found.push({ pid: Number(name), tag, owner });
    }),
  );
  return found;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // ESRCH: gone already.
  }
}
