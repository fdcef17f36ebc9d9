import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc counts CPU time in ticks of 10 ms. */
const TICK_MS = 10;

/**
 * CPU time (ms) a process has used (`self`: utime + stime) and that of its children it has
 * reaped (`children`: cutime + cstime), from /proc/PID/stat; undefined once it is gone (or off
 * Linux). The fields are counted after the command's closing parenthesis, which a command
 * name may itself contain.
 */
export function processCpuMs(pid: number | 'self' = 'self'): { self: number; children: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    self: (Number(fields[11]) + Number(fields[12])) * TICK_MS,
    children: (Number(fields[13]) + Number(fields[14])) * TICK_MS,
  };
}
