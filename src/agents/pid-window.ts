import { readFileSync, readlinkSync } from 'node:fs';

/**
 * Which pids the processes forked after a moment can have, so that the sweep after an agent's
 * exit reads the environment of those few processes instead of every process on the machine
 * (about 90 here, 65 of them kernel threads whose read fails with an exception: about 2 ms of
 * CPU after every agent, out of 18-22 that an agent costs the orchestrator).
 *
 * Linux hands out the pids of a namespace in a cycle: the next free one after the last given,
 * wrapping at `pid_max` back to 300 (`RESERVED_PIDS`). Every process forked after a mark (an
 * agent's descendants all are) therefore has a pid in the cyclic window after the mark's last
 * pid, up to the last pid now, unless the cycle has come round since. It comes round only if
 * its cursor travelled a whole cycle: each step either hands out a pid (a fork, counted by the
 * host's fork counter) or passes over one in use. A pid number is in use while some task has it
 * as its pid, process group or session, so at most 3 per task, and the tasks are those alive at
 * the mark or forked since. A whole cycle therefore needs `forks + 3 * (tasks + forks)` to reach
 * its length; below that, the window holds every such process.
 *
 * The host-wide counters are upper bounds in a container (its namespace forks and runs fewer).
 * A fork that fails after its pid was given (a cgroup's `pids.max` reached) moves the cycle
 * without being counted: a last pid further on than the counted forks allow tells some did,
 * and every process is read then; enough of them to go a whole cycle round (32,768 pids on
 * this machine, 4,194,304 where systemd sets `pid_max`) could hide the window's miss.
 * Not a bound against a hostile agent: one that can write `ns_last_pid` or fork with `set_tid`
 * (root) picks its pids, but one that can do that can also scrub its environment, which the
 * sweep by tag never caught.
 */

/** The kernel's counters at one moment; see {@link readPidMark}. */
export interface PidMark {
  /** Forks since boot, host-wide, threads included (`processes` in /proc/stat). */
  readonly forks: number;
  /** Tasks alive, host-wide, threads included (the total in the 4th field of /proc/loadavg). */
  readonly tasks: number;
  /** The last pid handed out in this process's pid namespace (the 5th field of /proc/loadavg). */
  readonly lastPid: number;
  /** `kernel.pid_max`. */
  readonly pidMax: number;
}

/** Pids after `after` up to `upTo` inclusive, in the kernel's cycle (so wrapped when `upTo < after`). */
export interface PidWindow {
  readonly after: number;
  readonly upTo: number;
}

/** The kernel's first pid after a wrap (`RESERVED_PIDS` in kernel/pid.c). */
const RESERVED_PIDS = 300;

/**
 * The window holding every process forked between two marks (`earlier` taken before the fork
 * of the agent, `now` at the sweep), or undefined when the cycle may have come round meanwhile
 * (or `pid_max` changed): then every process must be looked at.
 */
export function pidsForkedBetween(earlier: PidMark, now: PidMark): PidWindow | undefined {
  const forks = now.forks - earlier.forks;
  if (now.pidMax !== earlier.pidMax || !(forks >= 0)) return undefined;
  const cycle = earlier.pidMax - RESERVED_PIDS;
  const bound = forks + 3 * (earlier.tasks + forks);
  if (bound >= cycle) return undefined;
  // How far the last pid moved (over-counted by at most 300 across a wrap). Further than the
  // counted forks can take it means pids were handed out uncounted: forks that failed after
  // their pid was given (a cgroup's `pids.max` reached), which could also have gone round.
  const moved =
    now.lastPid >= earlier.lastPid ? now.lastPid - earlier.lastPid : earlier.pidMax - earlier.lastPid + now.lastPid;
  if (moved > bound) return undefined;
  return { after: earlier.lastPid, upTo: now.lastPid };
}

/** Whether `pid` is in the window. */
export function inPidWindow(pid: number, window: PidWindow): boolean {
  return window.after <= window.upTo
    ? pid > window.after && pid <= window.upTo
    : pid > window.after || pid <= window.upTo;
}

/**
 * The counters now, or undefined where they cannot be read (not Linux, no /proc). The fork
 * counter is read first when `forksFirst` (a mark before a fork: it then counts every pid handed
 * out after the last pid it notes), last otherwise (a mark after them: it counts every pid up
 * to the last pid it notes).
 */
export function readPidMark(forksFirst: boolean): PidMark | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    if (!procIsOwnNamespace()) return undefined;
    const before = forksFirst ? readForks() : undefined;
    const load = readFileSync('/proc/loadavg', 'latin1').split(' ');
    const tasks = Number(load[3]?.split('/')[1]);
    const lastPid = Number(load[4]);
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'latin1'));
    const forks = before ?? readForks();
    const mark = { forks, tasks, lastPid, pidMax };
    return Object.values(mark).every((value) => Number.isSafeInteger(value) && value >= 0) ? mark : undefined;
  } catch {
    return undefined;
  }
}

let ownNamespace: boolean | undefined;

/**
 * Whether /proc numbers processes as this process does. It does not when it is the /proc of
 * another pid namespace (`unshare --pid` without remounting it): a pid read there names another
 * process here, or none, so nothing read there may be signalled, and no window told.
 */
export function procIsOwnNamespace(): boolean {
  if (ownNamespace === undefined) {
    try {
      ownNamespace = readlinkSync('/proc/self') === String(process.pid);
    } catch {
      ownNamespace = false;
    }
  }
  return ownNamespace;
}

function readForks(): number {
  const stat = readFileSync('/proc/stat', 'latin1');
  const at = stat.indexOf('\nprocesses ');
  return at < 0 ? Number.NaN : Number.parseInt(stat.slice(at + 11, stat.indexOf('\n', at + 11)), 10);
}
