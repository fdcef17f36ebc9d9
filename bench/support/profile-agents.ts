/**
 * Agents run one after another through `AgentRuntime.spawn()` against the scripted model in a
 * process of its own, for `node --cpu-prof`: what this (the orchestrator's) process spends per
 * agent. Prints the medians per agent of the time from spawn to result, of this process's CPU
 * and of its agent processes' CPU; `npm run bench -- agents` is the benchmark.
 * `scripts/with-node node bench/support/profile-agents.ts 20`.
 */
import { startAgentKit, testSpec } from '../../test/support/agent-kit.ts';
import { modelServerProcess, ONE_TURN_SCENARIO as scenario } from '../agents.bench.ts';
import { processCpuMs } from './proc-cpu.ts';

/** CPU ms of this process's reaped children (Claude Code and what it ran). */
const childrenCpuMs = (): number => processCpuMs()?.children ?? Number.NaN;

const [times = '20'] = process.argv.slice(2);
const model = await modelServerProcess(scenario);
const kit = await startAgentKit({ scenario, sdk: { maxRetries: 0 }, modelUrl: model.url });
try {
  const runtime = kit.runtime({ maxConcurrent: 1, resourceSampleMs: 0 });
  const cwd = await kit.workspace('profile');
  const cpu: number[] = [];
  const systemCpu: number[] = [];
  const childCpu: number[] = [];
  const wall: number[] = [];
  // Monotonic microseconds, the clock of a --cpu-prof profile's samples: to cut out start-up.
  if (process.env.PROFILE_MARKS) process.stdout.write(`marks start=${process.hrtime.bigint() / 1000n}\n`);
  for (let i = 0; i < Number(times); i++) {
    const c0 = process.cpuUsage();
    const k0 = childrenCpuMs();
    const t0 = performance.now();
    const result = await runtime.spawn({ sessionId: kit.session(), spec: testSpec(), prompt: 'Answer', cwd }).result;
    if (!result.ok) throw new Error(`agent failed: ${result.error.code}`);
    wall.push(performance.now() - t0);
    const used = process.cpuUsage(c0);
    cpu.push((used.user + used.system) / 1000);
    systemCpu.push(used.system / 1000);
    childCpu.push(childrenCpuMs() - k0);
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]?.toFixed(1);
  process.stdout.write(
    `per agent (median of ${times}): ${median(wall)} ms spawn to result; CPU ${median(cpu)} ms here (${median(systemCpu)} ms of it in the kernel), ${median(childCpu)} ms in its processes\n`,
  );
} finally {
  await kit.cleanup();
  model.stop();
}
