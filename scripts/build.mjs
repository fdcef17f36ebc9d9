#!/usr/bin/env node
// Builds the package: compiles src/ to dist/ (JavaScript and .d.ts) with tsconfig.build.json.
// The sources import each other with `.ts` extensions; tsc rewrites them to `.js` in the
// JavaScript (rewriteRelativeImportExtensions) but keeps them in the declarations, which a
// consumer's tsc then cannot follow, so they are rewritten here. Ends by stamping dist/.built,
// the file the bootstrap compares with src/ to decide whether a rebuild is due. The output is
// written beside dist/ and swapped in, so a command running meanwhile sees the old build, the
// new one, or (for an instant) none and then runs the sources: never half a build.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

const next = `${dist}.next-${process.pid}`;
const old = `${dist}.old-${process.pid}`;
rmSync(next, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', next], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status !== 0) {
  rmSync(next, { recursive: true, force: true });
  process.exit(result.status ?? 1);
}

// `from './x.ts'`, `import('./x.ts')` and `declare module './x.ts'` in declarations.
const relativeTs = /(['"])(\.{1,2}\/[^'"]*?)\.(m|c)?ts\1/g;
let files = 0;
for (const entry of readdirSync(next, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const file = path.join(entry.parentPath, entry.name);
  const text = readFileSync(file, 'utf8');
  const rewritten = text.replace(relativeTs, (_m, quote, base, kind) => `${quote}${base}.${kind ?? ''}js${quote}`);
  if (rewritten !== text) writeFileSync(file, rewritten);
  files += 1;
}
writeFileSync(path.join(next, '.built'), `${new Date().toISOString()}\n`);
if (existsSync(dist)) renameSync(dist, old);
renameSync(next, dist);
rmSync(old, { recursive: true, force: true });
console.error(`[build] dist/ written (${files} declaration files)`);
