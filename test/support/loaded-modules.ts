import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cliEnv, type ProcessResult, REPO_ROOT } from './cli-kit.ts';

/** What a Node process loaded, as test/support/module-recorder.mjs recorded it. */
export interface Loaded {
  readonly result: ProcessResult;
  /** Packages under node_modules, by name. */
  readonly packages: Set<string>;
  /** Areas of the project (`src/<area>`, or those the bundled files of dist/ hold). */
  readonly areas: Set<string>;
  /** Node built-ins. */
  readonly builtins: Set<string>;
}

const RECORDER = path.join(REPO_ROOT, 'test', 'support', 'module-recorder.mjs');

/**
 * Runs `node --import <recorder> ...args` from the repository root and sorts every module it
 * loaded into packages, project areas and built-ins. `recordFile` is where the recorder writes.
 */
export async function loadedModules(args: readonly string[], recordFile: string): Promise<Loaded> {
  const result = await new Promise<ProcessResult>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', RECORDER, ...args], {
      cwd: REPO_ROOT,
      env: cliEnv({ MODULE_RECORD_FILE: recordFile }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const urls = (await readFile(recordFile, 'utf8')).split('\n').filter(Boolean);
  const packages = new Set<string>();
  const areas = new Set<string>();
  const builtins = new Set<string>();
  const root = pathToFileURL(REPO_ROOT).href;
  const dist = `${pathToFileURL(path.join(REPO_ROOT, 'dist')).href}/`;
  // Read once per process recorded, when it loaded a file of dist/.
  let recorded: Record<string, string[]> | undefined;
  for (const url of urls) {
    const inPackage = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    const inSources = /\/src\/([a-z-]+)\//.exec(url);
    if (url.startsWith('node:')) builtins.add(url.slice('node:'.length));
    else if (inPackage) packages.add(inPackage[1] as string);
    else if (url.startsWith(dist)) {
      recorded ??= await readAreas();
      for (const area of bundledAreas(url.slice(dist.length), recorded)) areas.add(area);
    } else if (inSources && url.startsWith(root)) areas.add(inSources[1] as string);
  }
  return { result, packages, areas, builtins };
}

/** The build's record of the areas each bundled file of dist/ holds (dist/.areas.json). */
async function readAreas(): Promise<Record<string, string[]>> {
  return JSON.parse(await readFile(path.join(REPO_ROOT, 'dist', '.areas.json'), 'utf8')) as Record<string, string[]>;
}

/**
 * The areas whose code a file of the bundled package holds (dist/index.js, dist/chunks/...), as
 * the build recorded them.
 * @throws Error for a file the build did not record (a stale dist/, or one built otherwise)
 */
function bundledAreas(file: string, recorded: Record<string, string[]>): readonly string[] {
  const areas = recorded[file];
  if (areas === undefined) throw new Error(`dist/${file} is not in dist/.areas.json: rebuild with scripts/build.mjs`);
  return areas;
}
