#!/usr/bin/env node
// Builds the package: compiles src/ to dist/ (JavaScript and .d.ts) with tsconfig.build.json,
// and the dashboard (web/, a Vite app) to dist/web/, which `orchestrator serve` serves at `/`.
//
//   node scripts/build.mjs             both (npm run build, prepack)
//   node scripts/build.mjs --only=lib  src/ only; the dashboard already built is kept
//   node scripts/build.mjs --only=web  the dashboard only (a couple of seconds)
//
// The sources import each other with `.ts` extensions; tsc rewrites them to `.js` in the
// JavaScript (rewriteRelativeImportExtensions) but keeps them in the declarations, which a
// consumer's tsc then cannot follow, so they are rewritten here. Each part ends by stamping its
// `.built` (dist/.built, dist/web/.built), the files the bootstrap compares with src/ and web/
// to decide which rebuild is due. Output is written beside its folder and swapped in, so a
// command running meanwhile sees the old build, the new one, or (for an instant) none and then
// runs the sources: never half a build.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, gzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');

const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);
if (only !== undefined && only !== 'lib' && only !== 'web') {
  console.error(`[build] --only must be lib or web, not ${JSON.stringify(only)}`);
  process.exit(2);
}
const withWeb = only !== 'lib' && existsSync(path.join(root, 'web', 'vite.config.ts'));

if (only === 'web') {
  // The dashboard alone, swapped into dist/web (dist/ itself is left as it is).
  const target = path.join(dist, 'web');
  const next = `${target}.next-${process.pid}`;
  mkdirSync(dist, { recursive: true });
  buildWeb(next);
  swap(next, target);
  process.exit(0);
}

const next = `${dist}.next-${process.pid}`;
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
await bundle(next);
if (withWeb) {
  buildWeb(path.join(next, 'web'));
} else if (existsSync(path.join(dist, 'web', '.built'))) {
  // A library-only build keeps the dashboard built before. Its stamp keeps its time: the
  // bootstrap compares web/ with it next, and a copy stamped now would hide a change to web/.
  cpSync(path.join(dist, 'web'), path.join(next, 'web'), { recursive: true, preserveTimestamps: true });
}
writeFileSync(path.join(next, '.built'), `${new Date().toISOString()}\n`);
swap(next, dist);
console.error(`[build] dist/ written (${files} declaration files)`);

/**
 * Bundles tsc's JavaScript in `dir` (its .d.ts stay as they are): the package's two entries,
 * `index.js` and `cli/index.js`, and `chunks/` for what they share and what they import
 * dynamically. A module is in a chunk with the modules loaded in exactly the same cases, so an
 * import still loads no module the per-file output would not have (the lazy loads stay lazy),
 * in a few files instead of about 230: importing the package takes about 6 MB less resident
 * memory (73 against 79 MB, with the two settings below) and a third less time. Packages and Node's modules stay imports. `.areas.json` names
 * the source areas (src/<area>/) each file holds, for the tests that check what an import loads.
 */
async function bundle(dir) {
  const { rolldown } = await import('rolldown');
  const out = `${dir}.bundle`;
  rmSync(out, { recursive: true, force: true });
  const bundler = await rolldown({
    input: { index: path.join(dir, 'index.js'), 'cli/index': path.join(dir, 'cli', 'index.js') },
    external: (id) => !id.startsWith('.') && !path.isAbsolute(id),
    platform: 'node',
    // No `// <module path>` comment per module: the path is the build's own folder (dist.next-<pid>),
    // which made every build's chunks differ, and so their hashed names. A process that had
    // loaded dist/ then failed to load a chunk once another build (`npm pack`) had replaced it.
    experimental: { attachDebugInfo: 'none' },
    onLog(level, log) {
      console.error(`[build] rolldown ${level}: ${log.message}`);
    },
  });
  const areas = {};
  try {
    const { output } = await bundler.write({
      dir: out,
      format: 'esm',
      entryFileNames: '[name].js',
      chunkFileNames: 'chunks/[name]-[hash].js',
      // V8 keeps each module's source in memory, as two bytes a character when one of them is
      // not ASCII: characters are escaped, and doc comments (the .d.ts files keep theirs) left out.
      charset: 'ascii',
      comments: { legal: true, annotation: true, jsdoc: false },
    });
    for (const file of output) {
      if (file.type !== 'chunk') continue;
      const of = file.moduleIds.map((id) => path.relative(dir, id).split(path.sep)).filter((parts) => parts.length > 1);
      areas[file.fileName] = [...new Set(of.map((parts) => parts[0]))].sort();
    }
  } finally {
    await bundler.close();
  }
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.js')) rmSync(path.join(entry.parentPath, entry.name));
  }
  cpSync(out, dir, { recursive: true });
  rmSync(out, { recursive: true, force: true });
  writeFileSync(path.join(dir, '.areas.json'), `${JSON.stringify(areas, null, 1)}\n`);
}

/** Builds the dashboard into `outDir`, reports its size (gzipped) and stamps `.built`. */
function buildWeb(outDir) {
  rmSync(outDir, { recursive: true, force: true });
  const built = spawnSync(
    process.execPath,
    [
      vite,
      'build',
      '--config',
      path.join(root, 'web', 'vite.config.ts'),
      '--outDir',
      outDir,
      '--emptyOutDir',
      '--logLevel',
      'warn',
      // Two commands started at once may both build: each writes a folder of its own.
      '--bypass-lock',
    ],
    { cwd: root, stdio: 'inherit' },
  );
  if (built.status !== 0) {
    rmSync(outDir, { recursive: true, force: true });
    process.exit(built.status ?? 1);
  }
  // What the browser downloads, gzipped as the server sends it (it compresses text on the fly).
  const sizes = { raw: 0, gzip: 0, firstLoad: 0 };
  const html = readFileSync(path.join(outDir, 'index.html'), 'utf8');
  for (const entry of readdirSync(outDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.(js|css|html|svg|json|map)$/.test(entry.name)) continue;
    const body = readFileSync(path.join(entry.parentPath, entry.name));
    const gz = gzipSync(body, { level: constants.Z_DEFAULT_COMPRESSION }).length;
    sizes.raw += body.length;
    sizes.gzip += gz;
    // The first load: the page and what it links (not the chunks loaded later, nor the layout workers).
    if (entry.name === 'index.html' || html.includes(`/assets/${entry.name}`)) sizes.firstLoad += gz;
  }
  writeFileSync(path.join(outDir, 'size.json'), `${JSON.stringify(sizes)}\n`);
  writeFileSync(path.join(outDir, '.built'), `${new Date().toISOString()}\n`);
  const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
  console.error(
    `[build] dashboard written: first load ${kb(sizes.firstLoad)} gzipped; all files ${kb(sizes.raw)} (${kb(sizes.gzip)} gzipped)`,
  );
}

/**
 * Puts `next` in the place of `target` (which may not exist yet). When another build swapped
 * its own output in meanwhile (two commands started at once), that one stays: it is as new.
 */
function swap(next, target) {
  const old = `${target}.old-${process.pid}`;
  if (existsSync(target)) {
    try {
      renameSync(target, old);
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
  }
  try {
    renameSync(next, target);
  } catch (error) {
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    rmSync(next, { recursive: true, force: true });
  }
  rmSync(old, { recursive: true, force: true });
}
