/**
 * Pure decisions of the graph-aware warm start (see `WarmPool.want`): how many spares to
 * start for the agents a workflow will need next, within the bounds.
 */

/** Resident memory of one parked Claude Code spare, as measured here (~210-230 MB). */
export const SPARE_BYTES = 240 * 1024 * 1024;

/**
 * How many more spares of each configuration to start. `wants` lists one entry per agent
 * that will need a process, most urgent first; `have` is what is parked or starting per
 * configuration (each covers one want); `room` is how many more spares the bounds allow in
 * all. Wants beyond `room` get nothing, the later ones first.
 */
export function sparesToStart(
  wants: readonly { readonly key: string }[],
  have: (key: string) => number,
  room: number,
): Map<string, number> {
  const start = new Map<string, number>();
  const covered = new Map<string, number>();
  let left = Math.max(0, room);
  for (const { key } of wants) {
    const used = covered.get(key) ?? 0;
    covered.set(key, used + 1);
    if (used < have(key)) continue;
    if (left === 0) continue;
    start.set(key, (start.get(key) ?? 0) + 1);
    left--;
  }
  return start;
}

/**
 * Spares the machine's memory leaves room for: each must leave `minFreeBytes` available after
 * it, counting {@link SPARE_BYTES} for each.
 */
export function memoryRoom(availableBytes: number, minFreeBytes: number, spareBytes = SPARE_BYTES): number {
  if (!(availableBytes > minFreeBytes)) return 0;
  return Math.floor((availableBytes - minFreeBytes) / spareBytes);
}
