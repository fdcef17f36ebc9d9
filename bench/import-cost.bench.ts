/**
 * What importing costs in resident memory (issue 15): each dependency alone, Node alone, and
 * the library from its sources and as the built package, each in a fresh process (median of
 * RUNS). The library's figure is what `import` pays; a dependency's is what its first use adds
 * (the heavy ones load lazily: `test/lazy-import.int.test.ts` pins which). Run it after adding
 * a dependency or a static import of one, to see what it would cost every user at import.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { BenchFigure } from './run.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const RUNS = 3;

/** Imported alone: the runtime dependencies, and Node built-ins the library uses or used to load at import. */
const MODULES = [
  '@anthropic-ai/claude-agent-sdk',
  'fastify',
  'zod',
  '@opentelemetry/api',
  '@opentelemetry/sdk-trace-base',
  'prom-client',
  '@cfworker/json-schema',
  'yaml',
  'pg',
  'pino',
  '@marcbachmann/cel-js',
  'fast-json-patch',
  'log-update',
  'node:http',
  'node:sqlite',
];

/** Resident MB of a fresh process that imported `specifier` (nothing when undefined). */
function residentAfter(specifier: string | undefined): number {
  const load = specifier ? `await import(${JSON.stringify(specifier)});` : '';
  const script = `${load} process.stdout.write('rss=' + process.memoryUsage().rss);`;
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const child = spawnSync(process.execPath, ['--input-type=module', '--eval', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const match = /rss=(\d+)/.exec(child.stdout);
    if (child.status !== 0 || !match) throw new Error(`import of ${specifier} failed: ${child.stderr}`);
    samples.push(Number(match[1]) / 1024 / 1024);
  }
  return samples.sort((a, b) => a - b)[Math.floor(RUNS / 2)] as number;
}

export default async function (): Promise<BenchFigure[]> {
  const bare = residentAfter(undefined);
  const figures: BenchFigure[] = [{ name: 'Node alone (the floor)', value: bare, unit: 'MB' }];
  const library = (name: string, specifier: string, target?: string) => {
    const value = residentAfter(specifier);
    figures.push({ name, value, unit: 'MB', ...(target && { target }) });
  };
  library('the library as a package (dist/)', 'ai-orchestrator', '<= 80');
  library('the library from src/ (type stripping included)', path.join(ROOT, 'src', 'index.ts'));
  // A small .ts file without imports: what Node's type stripping costs by itself.
  library('one small .ts file (type stripping alone)', path.join(ROOT, 'src', 'workflow', 'clock.ts'));
  for (const specifier of MODULES) {
    figures.push({ name: `+ ${specifier} alone`, value: residentAfter(specifier) - bare, unit: 'MB' });
  }
  return figures;
}
