/**
 * Scheduler overhead per node with instant in-process nodes (no model) and the durable SQLite
 * log on, beside a bare in-memory dependency-counting executor on the same shapes (the floor).
 * Targets (issue 4): every shape <= 50 us/node, the 10,000-node DAG in under 1 s; with leases
 * and fencing on (issue 9): <= 50 us/node on a chain, <= 20 us/node on wide DAGs.
 *
 * Variants: as runs go (the session's lease held, every append carrying its fencing token),
 * without the lease for comparison, and with agent-shaped nodes: an executor with effects
 * outside the log, so each node reserves a process slot and awaits its `node.started` commit
 * before it runs, as an agent node does (the figure users pay, minus the model). On a chain
 * that is one durable commit (an fsync with synchronous=full) per node, which nothing can
 * overlap: the chain's figure is the commit latency of the disk, not scheduler overhead.
 *
 * Each figure is the median of RUNS runs, `full` and `normal` taken in turns: on a shared
 * 2-core machine a single run varied by 2x from one minute to the next. The CPU time of this
 * process per node is printed too; when wall time is well above it, the run waited for a CPU.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BenchFigure } from './run.ts';
import { type EngineMode, type EngineTiming, engineRun } from './support/engine-run.ts';
import { chain, fan, layered, type BenchShape as Shape } from './support/shapes.ts';

const RUNS = 5;

/** The floor: dependency counting over plain arrays, no events, no persistence. */
function bareExecutor(shape: Shape): number {
  const start = process.hrtime.bigint();
  const index = new Map(shape.nodes.map((n, i) => [n.id, i]));
  const remaining = shape.nodes.map((n) => n.dependsOn.length);
  const dependents: number[][] = shape.nodes.map(() => []);
  shape.nodes.forEach((n, i) => {
    for (const d of n.dependsOn) dependents[index.get(d) as number]?.push(i);
  });
  const ready = remaining.flatMap((r, i) => (r === 0 ? [i] : []));
  let done = 0;
  while (ready.length > 0) {
    const i = ready.pop() as number;
    done++;
    for (const d of dependents[i] ?? []) if (--(remaining[d] as number) === 0) ready.push(d);
  }
  if (done !== shape.nodes.length) throw new Error('bare executor did not finish');
  return Number(process.hrtime.bigint() - start) / 1000;
}

const MODES: readonly EngineMode[] = [
  { synchronous: 'full', fenced: true, agentShaped: false, label: 'engine + SQLite log, leased and fenced (full)' },
  { synchronous: 'full', fenced: false, agentShaped: false, label: 'engine + SQLite log, no lease (full)' },
  { synchronous: 'normal', fenced: true, agentShaped: false, label: 'engine + SQLite log, leased and fenced (normal)' },
  { synchronous: 'full', fenced: true, agentShaped: true, label: 'agent-shaped nodes, leased and fenced (full)' },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

export default async function (): Promise<BenchFigure[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-'));
  const figures: BenchFigure[] = [];
  try {
    for (const shape of [chain(1000), fan(1000), layered(50, 20), layered(100, 100)]) {
      const n = shape.nodes.length;
      // Warm-up, unmeasured: one run of the shape itself in each mode. A 200-node chain was
      // not enough: the first shape measured then ran ~1.5x slower than when measured later
      // (the engine's code was not optimized yet).
      for (const mode of MODES) await engineRun(shape, dir, mode);
      const bare = Math.min(bareExecutor(shape), bareExecutor(shape), bareExecutor(shape));
      const timings = MODES.map(() => [] as EngineTiming[]);
      for (let i = 0; i < RUNS; i++) {
        for (const [m, mode] of MODES.entries()) timings[m]?.push(await engineRun(shape, dir, mode));
      }
      const wide = shape.nodes.length > 1000 || !shape.name.startsWith('chain');
      figures.push({ name: `${shape.name}: bare dependency counting`, value: bare / n, unit: 'us/node' });
      for (const [m, mode] of MODES.entries()) {
        const runs = timings[m] as EngineTiming[];
        figures.push(
          {
            name: `${shape.name}: ${mode.label}`,
            value: median(runs.map((t) => t.wall)) / n,
            unit: 'us/node',
            ...(mode.fenced &&
              mode.synchronous === 'full' &&
              !mode.agentShaped && { target: wide ? '<= 20' : '<= 50' }),
          },
          {
            name: '  CPU time of this process (all threads)',
            value: median(runs.map((t) => t.cpu)) / n,
            unit: 'us/node',
          },
        );
      }
      const fullWall = median((timings[0] as EngineTiming[]).map((t) => t.wall));
      if (n >= 10_000)
        figures.push({ name: `${shape.name}: whole run (full)`, value: fullWall / 1000, unit: 'ms', target: '< 1000' });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return figures;
}
