/**
 * Start-up time of the CLI, wall clock, as a user sees it (issue 12 targets: `--help` and
 * `--version` <= 150 ms, `validate` of the demo <= 400 ms). Each command runs RUNS times in a
 * fresh process after one unmeasured run (which fills the OS file cache and Node's compile
 * cache); the variants are interleaved, so a load that comes and goes on a shared machine
 * touches all of them alike. Figures: median and p95. Also printed, for scale: Node itself
 * (`node -e 0`, the floor no CLI on this machine can go under), and `./orchestrator --help`
 * through the bootstrap script, the way the README has users run it.
 *
 * `node bin/orchestrator.mjs` runs dist/ when it is built (the bootstrap builds it), else the
 * sources through type stripping; this bench times whichever a user would get.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { BenchFigure } from './run.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 20);

interface Variant {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly target?: string;
}

const bin = path.join(ROOT, 'bin', 'orchestrator.mjs');
const VARIANTS: readonly Variant[] = [
  { name: 'node -e 0 (Node start-up alone)', command: process.execPath, args: ['-e', '0'] },
  { name: 'orchestrator --help', command: process.execPath, args: [bin, '--help'], target: '<= 150' },
  { name: 'orchestrator --version', command: process.execPath, args: [bin, '--version'], target: '<= 150' },
  {
    name: 'orchestrator validate examples/feature-team/workflow.yaml',
    command: process.execPath,
    args: [bin, 'validate', path.join(ROOT, 'examples', 'feature-team', 'workflow.yaml')],
    target: '<= 400',
  },
  { name: './orchestrator --help (bootstrap script)', command: path.join(ROOT, 'orchestrator'), args: ['--help'] },
];

/** Runs a command to its end; resolves with its wall time in ms, rejects on a non-zero exit. */
function timeOnce(variant: Variant): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(variant.command, variant.args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve(ms);
      else reject(new Error(`${variant.name} exited ${code}: ${stderr}`));
    });
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export default async function (): Promise<BenchFigure[]> {
  const times = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
  for (const variant of VARIANTS) await timeOnce(variant);
  for (let run = 0; run < RUNS; run++) {
    for (const variant of VARIANTS) times.get(variant)?.push(await timeOnce(variant));
  }
  return VARIANTS.flatMap((variant) => {
    const sorted = [...(times.get(variant) ?? [])].sort((a, b) => a - b);
    const target = variant.target === undefined ? {} : { target: variant.target };
    return [
      { name: `${variant.name}: median`, value: percentile(sorted, 50), unit: 'ms', ...target },
      { name: `${variant.name}: p95`, value: percentile(sorted, 95), unit: 'ms', ...target },
    ];
  });
}
