/**
 * `npm run bench`: runs every `bench/*.bench.ts` (or those named on the command line, e.g.
 * `npm run bench -- store bus`) and prints its figures. Figures are printed, never asserted:
 * timing on shared machines belongs in benchmarks, not in tests.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** One figure of a benchmark. */
export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  target?: string;
}

const dir = path.dirname(new URL(import.meta.url).pathname);
const wanted = process.argv.slice(2);
const files = (await readdir(dir))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

let failed = 0;
for (const file of files) {
  process.stdout.write(`\n== ${file}\n`);
  try {
    const module = (await import(path.join(dir, file))) as { default: () => Promise<BenchFigure[]> };
    for (const figure of await module.default()) {
      const value = Number.isInteger(figure.value)
        ? figure.value.toLocaleString('en-US')
        : figure.value.toLocaleString('en-US', { maximumFractionDigits: 2 });
      process.stdout.write(
        `  ${figure.name.padEnd(64)} ${value.padStart(14)} ${figure.unit}${figure.target ? `   (target ${figure.target})` : ''}\n`,
      );
    }
  } catch (error) {
    failed++;
    process.stdout.write(`  failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
