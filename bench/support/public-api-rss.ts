/**
 * Child of the public-API bench: prints `rss=<bytes>` after importing the library (`import`)
 * or at its peak over a 10,000-node run through it (`run`), so each figure has a process of its own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';

const mode = process.argv[2];
if (mode === 'import') {
  await import('../../src/index.ts');
} else {
  const { publicRun } = await import('../public-api.bench.ts');
  const { layered } = await import('./shapes.ts');
  const root = await mkdtemp(path.join(tmpdir(), 'orch-rss-'));
  await publicRun(layered(100, 100), root);
  await rm(root, { recursive: true, force: true });
}
// After import: resident now. After a run: the peak over the run (maxRSS is in KiB).
const rss = mode === 'import' ? process.memoryUsage().rss : process.resourceUsage().maxRSS * 1024;
process.stdout.write(`rss=${rss}\n`);
if (mode === 'run') {
  // V8 sizes its young generation from how much survives each scavenge and does not give it
  // back while the process stays busy: its committed size now is the largest it reached.
  const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  process.stdout.write(`young=${young?.space_size ?? 0}\n`);
}
