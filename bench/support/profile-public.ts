/**
 * Public-API runs of one shape, for `node --cpu-prof` or a quick before/after comparison (not a
 * benchmark of its own: `npm run bench -- public-api` is). Prints the median over the runs of
 * wall time and this process's CPU from `startWorkflow` to the result per node (and the CPU with
 * `close()`, which waits for the last version), and the time `close()` takes. With
 * `PROFILE_MARKS=1` it prints each run's marks (start, startWorkflow returned, result, closed) on
 * the clock of a profile's samples:
 * `scripts/with-node node bench/support/profile-public.ts chain 10000 5`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Orchestrator } from '../../src/index.ts';
import { chain, fan, instantWorkflow, layered } from './shapes.ts';

const [kind = 'chain', size = '10000', times = '1'] = process.argv.slice(2);
const n = Number(size);
const shape = kind === 'fan' ? fan(n) : kind === 'layered' ? layered(n, n) : chain(n);
const here = path.dirname(new URL(import.meta.url).pathname);
const root = await mkdtemp(path.join(tmpdir(), 'orch-prof-'));
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;
try {
  const wall: number[] = [];
  const cpu: number[] = [];
  const start: number[] = [];
  const close: number[] = [];
  const cpuAll: number[] = [];
  for (let i = 0; i < Number(times); i++) {
    const dataDir = await mkdtemp(path.join(root, 'run-'));
    const { workflow, functions } = instantWorkflow(shape, 64);
    const orchestrator = await Orchestrator.open({
      config: { dataDir, sqliteSynchronous: 'full', logLevel: 'silent' },
      scenario: path.join(here, '..', '..', 'examples', 'hello', 'scenario.yaml'),
    });
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const handle = await orchestrator.startWorkflow(workflow, { functions });
    const t1 = process.hrtime.bigint();
    await handle.result;
    const t2 = process.hrtime.bigint();
    const used = process.cpuUsage(c0);
    await orchestrator.close();
    const t3 = process.hrtime.bigint();
    const usedAll = process.cpuUsage(c0);
    // Monotonic microseconds, the clock of a --cpu-prof profile's samples: to cut it by phase.
    if (process.env.PROFILE_MARKS) {
      const us = (t: bigint) => String(t / 1000n);
      process.stdout.write(`marks start=${us(t0)} started=${us(t1)} result=${us(t2)} closed=${us(t3)}\n`);
    }
    wall.push(Number(t2 - t0) / 1000 / shape.nodes.length);
    cpu.push((used.user + used.system) / shape.nodes.length);
    start.push(Number(t1 - t0) / 1e6);
    close.push(Number(t3 - t2) / 1e6);
    cpuAll.push((usedAll.user + usedAll.system) / shape.nodes.length);
  }
  const f = (v: number) => v.toFixed(1);
  process.stdout.write(
    `${shape.name}: to result ${f(median(wall))} us/node wall, ${f(median(cpu))} us/node CPU (${f(median(cpuAll))} with close); startWorkflow ${f(median(start))} ms, close ${f(median(close))} ms (median of ${times})\n`,
  );
} finally {
  await rm(root, { recursive: true, force: true });
}
