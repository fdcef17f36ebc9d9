import type { Profiler } from 'node:inspector';
import { Session } from 'node:inspector/promises';

/** One node of a V8 CPU profile, as the inspector gives it. */
interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly url: string; readonly functionName: string };
  readonly children?: readonly number[];
}

/**
 * The share (percent) of this process's CPU, while `work` runs, spent under a function whose
 * module URL `ours` accepts anywhere in its stack: the samples of a CPU profile (Node's
 * inspector, one sample per `intervalUs`) with such a frame, of all samples but idle ones.
 * The profiler slows everything it samples about alike, so the share holds where times do not.
 * `work` may call `mark()` once: the share up to that moment is returned too (`toMark`).
 */
export async function cpuShare(
  work: (mark: () => void) => Promise<void>,
  ours: (url: string) => boolean,
  intervalUs = 100,
): Promise<{ all: number; toMark: number }> {
  const session = new Session();
  session.connect();
  let profile: Profiler.Profile;
  let markedAt: number | undefined;
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
    await session.post('Profiler.start');
    try {
      // The profile's clock: monotonic microseconds, as process.hrtime gives them.
      await work(() => {
        markedAt ??= Number(process.hrtime.bigint() / 1000n);
      });
    } finally {
      ({ profile } = await session.post('Profiler.stop'));
    }
  } finally {
    session.disconnect();
  }
  const nodes = new Map<number, ProfileNode>(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of nodes.values()) for (const child of node.children ?? []) parent.set(child, node.id);
  const under = new Map<number, boolean>();
  const isOurs = (id: number): boolean => {
    const known = under.get(id);
    if (known !== undefined) return known;
    const node = nodes.get(id) as ProfileNode;
    const up = parent.get(id);
    const answer = ours(node.callFrame.url) || (up !== undefined && isOurs(up));
    under.set(id, answer);
    return answer;
  };
  let all = 0;
  let mine = 0;
  let allToMark = 0;
  let mineToMark = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    at += deltas[i] ?? 0;
    // A sample's time is the gap to the next one.
    const time = deltas[i + 1] ?? 0;
    if ((nodes.get(id) as ProfileNode).callFrame.functionName === '(idle)') continue;
    const counted = isOurs(id) ? time : 0;
    all += time;
    mine += counted;
    if (markedAt !== undefined && at < markedAt) {
      allToMark += time;
      mineToMark += counted;
    }
  }
  const percent = (part: number, whole: number) => (whole === 0 ? 0 : (100 * part) / whole);
  return { all: percent(mine, all), toMark: percent(mineToMark, allToMark) };
}
