/**
 * What a user pays through the public API (issue 15): `Orchestrator.open`, `startWorkflow`,
 * `await handle.result`, `close()`, with instant `function` nodes, workflow concurrency 64 and
 * SQLite with synchronous=FULL, on the four shapes of the scheduler bench (whose engine-only
 * figures are the reference). Each run is its own orchestrator on a fresh data directory, so
 * `close()` pays for what the run left behind (the final version, the workspace history).
 *
 * Figures per shape (the median of its runs, spread over the bench in rounds, after WARM_UPS
 * unmeasured ones): us/node from `startWorkflow` to the result, the
 * same including `close()`, the time `startWorkflow` takes before returning (and
 * `defineWorkflow` before it: validation and compile of the definition), and this process's
 * CPU per node. Memory is measured in child processes: resident size right after
 * importing the library, and after a 10,000-node run.
 *
 * Beside each public-API run, the same shape runs once on the engine alone (the scheduler
 * bench's leased and fenced run, at the same concurrency): this machine's speed swings by 30-50%
 * within minutes, so what the public API adds above the engine, both measured in the same
 * rounds, is the figure that tells a change of the code from a change of the machine.
 *
 * Targets (issue 15): <= 20 us/node on each shape, flat from 1k to 10k nodes; 10,000 nodes
 * in <= 0.2 s including `close()`; <= 80 MB resident after import, <= 200 MB at 10k nodes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Orchestrator } from '../src/index.ts';
import type { BenchFigure } from './run.ts';
import { cpuShare } from './support/cpu-share.ts';
import { type EngineMode, type EngineTiming, engineRun } from './support/engine-run.ts';
import { type BenchShape, instantWorkflow, publicApiShapes } from './support/shapes.ts';

/**
 * Measured runs: ROUNDS rounds, each running every shape in turn (a 1,000-node shape
 * SMALL_PER_ROUND times), so that a slow spell of the machine, which lasts seconds here, falls
 * on every shape alike instead of on whichever ran then; the median of each shape's runs.
 */
const ROUNDS = 7;
const SMALL_PER_ROUND = 3;
/**
 * Unmeasured runs of each shape first: with one, the first shape (a 1,000-node chain) still ran
 * its code half-optimized by the JIT (44-61 us/node against 25-30 once warm). The process's very
 * first run, what a one-shot CLI process pays, is a figure of its own.
 */
const WARM_UPS = 3;
const here = path.dirname(new URL(import.meta.url).pathname);
/** The engine-alone reference: as a run goes (leased, fenced), synchronous=FULL like the public runs. */
const ENGINE_ALONE: EngineMode = { synchronous: 'full', fenced: true, agentShaped: false, label: 'engine alone' };

interface Timing {
  /** startWorkflow to result, microseconds. */
  run: number;
  /** startWorkflow to the end of close(), microseconds. */
  withClose: number;
  /** Time startWorkflow took to return, microseconds. */
  start: number;
  /** CPU of this process over the run and close, microseconds. */
  cpu: number;
  /** `defineWorkflow` of the shape (validation and compile, before `startWorkflow`), microseconds. */
  define: number;
}

/** One run of a shape through the public API, on a fresh data directory. */
export async function publicRun(shape: BenchShape, root: string): Promise<Timing> {
  const dataDir = await mkdtemp(path.join(root, 'run-'));
  const d0 = process.hrtime.bigint();
  const { workflow, functions } = instantWorkflow(shape, 64);
  const define = Number(process.hrtime.bigint() - d0) / 1000;
  const orchestrator = await Orchestrator.open({
    config: { dataDir, sqliteSynchronous: 'full', logLevel: 'silent' },
    scenario: path.join(here, '..', 'examples', 'hello', 'scenario.yaml'),
  });
  const cpu = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const handle = await orchestrator.startWorkflow(workflow, { functions });
  const t1 = process.hrtime.bigint();
  const final = await handle.result;
  const t2 = process.hrtime.bigint();
  await orchestrator.close();
  const t3 = process.hrtime.bigint();
  const used = process.cpuUsage(cpu);
  if (final.status !== 'completed') throw new Error(`bench workflow ended ${final.status}`);
  await rm(dataDir, { recursive: true, force: true });
  return {
    run: Number(t2 - t0) / 1000,
    withClose: Number(t3 - t0) / 1000,
    start: Number(t1 - t0) / 1000,
    cpu: used.user + used.system,
    define,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const PACKAGE_RSS = "await import('ai-orchestrator'); process.stdout.write('rss=' + process.memoryUsage().rss);";

/** Resident memory (MB) a child process reports: after import (sources or package), or after a 10k-node run. */
function childRss(mode: 'import' | 'package' | 'run'): number {
  return childMemory(mode).rss;
}

/** What a child process reports, in MB: resident size, and after a run V8's young generation. */
function childMemory(mode: 'import' | 'package' | 'run', nodeFlags: string[] = []): { rss: number; young: number } {
  // The package as an installed user imports it (`ai-orchestrator` resolves to dist/ through its
  // `exports`), from plain JavaScript: a .ts child would load Node's type stripper too.
  const args =
    mode === 'package'
      ? ['--input-type=module', '--eval', PACKAGE_RSS]
      : mode === 'run'
        ? [path.join(here, 'support', 'public-api-rss-dist.mjs')]
        : [path.join(here, 'support', 'public-api-rss.ts')];
  const child = spawnSync(process.execPath, [...nodeFlags, ...args], {
    cwd: path.join(here, '..'),
    encoding: 'utf8',
    env: { ...process.env, ANTHROPIC_API_KEY: '' },
  });
  const match = /rss=(\d+)/.exec(child.stdout);
  if (child.status !== 0 || !match) throw new Error(`rss child (${mode}) failed: ${child.stderr || child.stdout}`);
  const young = /young=(\d+)/.exec(child.stdout);
  return { rss: Number(match[1]) / 1024 / 1024, young: young ? Number(young[1]) / 1024 / 1024 : 0 };
}

/**
 * What versions cost a run (issue 15: at most 5% of its CPU during a run): the share of the CPU
 * of a 10,000-node chain spent under the sessions area's code (src/sessions/: the version
 * follower's projection of the committed events, its cuts, its versions and the store calls
 * they make), from `startWorkflow` to the result, and to the end of `close()` (which waits for
 * the last version). Medians of three profiled runs.
 */
async function versionsShare(root: string): Promise<{ toResult: number; all: number }> {
  const shape = publicApiShapes().find((s) => s.name === 'chain of 10000');
  if (!shape) throw new Error('no 10,000-node chain among the public API shapes');
  const shares: Array<{ all: number; toMark: number }> = [];
  for (let i = 0; i < 3; i++) {
    const dataDir = await mkdtemp(path.join(root, 'share-'));
    const { workflow, functions } = instantWorkflow(shape, 64);
    const orchestrator = await Orchestrator.open({
      config: { dataDir, sqliteSynchronous: 'full', logLevel: 'silent' },
      scenario: path.join(here, '..', 'examples', 'hello', 'scenario.yaml'),
    });
    shares.push(
      await cpuShare(
        async (mark) => {
          const handle = await orchestrator.startWorkflow(workflow, { functions });
          await handle.result;
          mark();
          await orchestrator.close();
        },
        (url) => url.includes('/src/sessions/'),
      ),
    );
    await rm(dataDir, { recursive: true, force: true });
  }
  const one = (pick: (share: { all: number; toMark: number }) => number) =>
    Math.round(median(shares.map(pick)) * 10) / 10;
  return { toResult: one((share) => share.toMark), all: one((share) => share.all) };
}

export default async function (): Promise<BenchFigure[]> {
  const root = await mkdtemp(path.join(tmpdir(), 'orch-public-'));
  const figures: BenchFigure[] = [];
  try {
    const shapes = publicApiShapes();
    const first = shapes[0] as BenchShape;
    const cold = await publicRun(first, root);
    figures.push({
      name: `${first.name}: the process's first run (JIT cold), to result`,
      value: cold.run / first.nodes.length,
      unit: 'us/node',
    });
    for (const shape of shapes) for (let i = 0; i < WARM_UPS; i++) await publicRun(shape, root);
    for (const shape of shapes) await engineRun(shape, root, ENGINE_ALONE, 64);
    const runs = new Map<BenchShape, Timing[]>(shapes.map((shape) => [shape, []]));
    const engine = new Map<BenchShape, EngineTiming[]>(shapes.map((shape) => [shape, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const shape of shapes) {
        const times = shape.nodes.length < 10_000 ? SMALL_PER_ROUND : 1;
        for (let i = 0; i < times; i++) {
          runs.get(shape)?.push(await publicRun(shape, root));
          engine.get(shape)?.push(await engineRun(shape, root, ENGINE_ALONE, 64));
        }
      }
    }
    for (const shape of shapes) {
      const n = shape.nodes.length;
      const measured = runs.get(shape) as Timing[];
      const per = (pick: (t: Timing) => number) => median(measured.map(pick)) / n;
      const engineAlone = median((engine.get(shape) as EngineTiming[]).map((t) => t.wall)) / n;
      figures.push(
        { name: `${shape.name}: startWorkflow to result`, value: per((t) => t.run), unit: 'us/node', target: '<= 20' },
        { name: `  the engine alone, in the same rounds`, value: engineAlone, unit: 'us/node' },
        { name: `  what the public API adds to it`, value: per((t) => t.run) - engineAlone, unit: 'us/node' },
        { name: `  the public API over the engine alone`, value: per((t) => t.run) / engineAlone, unit: 'x' },
        { name: `${shape.name}: including close()`, value: per((t) => t.withClose), unit: 'us/node' },
        { name: `${shape.name}: CPU of this process`, value: per((t) => t.cpu), unit: 'us/node' },
        {
          name: `${shape.name}: startWorkflow returns after`,
          value: median(measured.map((t) => t.start)) / 1000,
          unit: 'ms',
        },
        // What a user pays before the run: validating and compiling the definition.
        {
          name: `${shape.name}: defineWorkflow before it`,
          value: median(measured.map((t) => t.define)) / 1000,
          unit: 'ms',
        },
      );
      if (n >= 10_000) {
        figures.push({
          name: `${shape.name}: whole run including close()`,
          value: median(measured.map((t) => t.withClose)) / 1e6,
          unit: 's',
          target: '<= 0.2',
        });
      }
    }
    const versions = await versionsShare(root);
    figures.push(
      {
        name: "versions: share of a 10,000-node chain's CPU, to its result (profiled)",
        value: versions.toResult,
        unit: '%',
        target: '<= 5',
      },
      { name: '  the same to the end of close() (its last version)', value: versions.all, unit: '%' },
    );
    figures.push(
      // The sources go through Node's type stripping, which alone adds about 30 MB (its
      // WebAssembly compiler and the stripped copies): what users pay is the built package.
      { name: 'resident memory right after import (src/, type-stripped)', value: childRss('import'), unit: 'MB' },
      {
        name: 'resident memory right after import of the package (dist/)',
        value: childRss('package'),
        unit: 'MB',
        target: '<= 80',
      },
    );
    // The young generation's share of the peak is V8's sizing (semi-spaces grown up to
    // --max-semi-space-size, 64 MB each by default on a large machine), not data the run keeps.
    const run = childMemory('run');
    figures.push(
      {
        name: 'resident memory at peak of a 10,000-node run (the package, dist/)',
        value: run.rss,
        unit: 'MB',
        target: '<= 200',
      },
      { name: 'of which V8 young generation (committed at the end)', value: run.young, unit: 'MB' },
    );
    // How the clone's ./orchestrator runs it (and NODE_OPTIONS can for an installed bin).
    const capped = childMemory('run', ['--max-semi-space-size=16']);
    figures.push(
      {
        name: 'same, Node started with --max-semi-space-size=16 (as ./orchestrator does)',
        value: capped.rss,
        unit: 'MB',
        target: '<= 200',
      },
      { name: 'of which V8 young generation', value: capped.young, unit: 'MB' },
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return figures;
}
