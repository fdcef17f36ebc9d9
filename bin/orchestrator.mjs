#!/usr/bin/env node
// The package's command. An installed package (and a clone after `npm run build`, which the
// bootstrap runs) has the compiled code in dist/ and runs it. A clone without a build runs the
// TypeScript sources directly through Node's type stripping; Node 22.13-22.17 need the flag
// that later versions turned on by default, and get it through a re-exec of this same file.
// The first line stays plain `env node`: `env -S node --flag` would cap V8's young generation
// here too, but BusyBox's env (Alpine images) has no -S and the command would not start. The
// clone's launcher passes --max-semi-space-size=16; an installed one takes it from NODE_OPTIONS.
import { existsSync } from 'node:fs';
import module from 'node:module';

// Node keeps the compiled code of the modules a command loads in its compile cache (in the
// system's temporary folder; NODE_DISABLE_COMPILE_CACHE=1 turns it off), so a command that
// loads the workflow parser does not compile it again every time; TypeScript's tsc does the
// same. Missing on Node before 22.1, where this is a no-op.
module.enableCompileCache?.();

const built = new URL('../dist/cli/index.js', import.meta.url);

if (existsSync(built)) {
  const { main } = await import(built.href);
  await main(process.argv);
} else if (!process.features.typescript) {
  const { spawnSync } = await import('node:child_process');
  const flags = ['--experimental-strip-types', '--disable-warning=ExperimentalWarning'];
  const child = spawnSync(process.execPath, [...process.execArgv, ...flags, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
} else {
  const { main } = await import('../src/cli/index.ts');
  await main(process.argv);
}
