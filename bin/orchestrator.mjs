#!/usr/bin/env node
// The package's command: the TypeScript sources run directly through Node's type stripping,
// so there is no build step between an edit and a run. Node 22.13-22.17 need the flag that
// later versions turned on by default; they get it through a re-exec of this same file.
import { spawnSync } from 'node:child_process';

if (!process.features.typescript) {
  const flags = ['--experimental-strip-types', '--disable-warning=ExperimentalWarning'];
  const child = spawnSync(process.execPath, [...flags, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
} else {
  const { main } = await import('../src/cli/index.ts');
  await main(process.argv);
}
