import { constants } from 'node:fs';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Every Claude Code process whose Bash is sandboxed runs `npm root -g` once at start-up (its
 * sandbox runtime looks for a helper in the global npm folder): a Node process of its own,
 * about 0.25 s and 0.3 s of CPU per agent on these machines, on the critical path of every
 * cold start. The SDK has no setting that skips it. So the agents' PATH starts with a folder
 * holding an `npm` of ours: `npm root -g` answers from a cache (filled by the first call, from
 * the real npm), and every other command is the real npm's, unchanged (`exec`), so an agent's
 * own `npm install` or `npm test` works as before.
 *
 * The folder sits in the data directory. Claude Code runs the file outside its sandbox, so no
 * agent may write in that folder, even one whose workspace holds the data directory: the
 * sandbox's `denyWrite` and `Edit` deny rules keep it out (`protectedWritesOf`, policy.ts).
 */

/** The file name of the cached answer of `npm root -g`, beside the shim. */
export const NPM_ROOT_CACHE = '.npm-root-g';

/** Quotes a value for a POSIX shell: single quotes, a quote inside written as '\''. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The real `npm` on a PATH (the first executable one), leaving out `skip` (the shim's folder). */
export async function findNpm(searchPath: string | undefined, skip: string): Promise<string | undefined> {
  for (const folder of (searchPath ?? '').split(path.delimiter)) {
    if (folder === '' || !path.isAbsolute(folder) || path.resolve(folder) === path.resolve(skip)) continue;
    const candidate = path.join(folder, 'npm');
    const usable = await access(candidate, constants.X_OK).then(
      () => true,
      () => false,
    );
    if (usable) return candidate;
  }
  return undefined;
}

/** The shim's text: `npm root -g` from the cache (made once), anything else the real npm's. */
export function npmShimScript(realNpm: string, cacheFile: string): string {
  const npm = shellQuote(realNpm);
  const cache = shellQuote(cacheFile);
  return `#!/bin/sh
# Written by the AI Orchestrator (src/security/npm-shim.ts) for its agents' Claude Code
# processes: \`npm root -g\` answered from a cache, every other command by the real npm.
if [ "$#" -eq 2 ] && [ "$1" = root ] && [ "$2" = -g ]; then
  if [ -s ${cache} ]; then exec cat ${cache}; fi
  root=$(${npm} root -g) || exit $?
  # Inside a sandbox the folder is read-only: the answer is given, just not kept.
  { printf '%s\\n' "$root" > ${cache}.$$ && mv -f ${cache}.$$ ${cache}; } 2>/dev/null
  printf '%s\\n' "$root"
  exit 0
fi
exec ${npm} "$@"
`;
}

/**
 * Writes the `npm` shim into `folder` for the npm found on `searchPath`. The cached answer is
 * kept while the shim stays the same (the same npm), and forgotten when it changes. Without an
 * npm there is no shim: Claude Code's lookup then fails at once on its own. Not on Windows,
 * where Claude Code's Bash sandbox does not run. Returns the shim's path, or undefined.
 */
export async function writeNpmShim(folder: string, searchPath: string | undefined): Promise<string | undefined> {
  const shim = path.join(folder, 'npm');
  const cache = path.join(folder, NPM_ROOT_CACHE);
  if (process.platform === 'win32') return undefined;
  await mkdir(folder, { recursive: true, mode: 0o755 });
  const realNpm = await findNpm(searchPath, folder);
  if (realNpm === undefined) {
    await Promise.all([rm(shim, { force: true }), rm(cache, { force: true })]);
    return undefined;
  }
  const script = npmShimScript(realNpm, cache);
  if ((await readFile(shim, 'utf8').catch(() => undefined)) === script) return shim;
  await rm(cache, { force: true });
  // Written aside and renamed: a Claude Code process starting meanwhile runs the old or the new.
  const draft = `${shim}.${process.pid}.tmp`;
  await writeFile(draft, script, { mode: 0o755 });
  await rename(draft, shim);
  return shim;
}
