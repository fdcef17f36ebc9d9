import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The package's name in its package.json: the folder that has it is the package's root. */
const PACKAGE_NAME = 'ai-orchestrator';

let found: { root: string; version: string } | undefined;

/**
 * The package's root folder (where package.json, examples/ and dist/ are) and version, found
 * by walking up from this module: the built package is bundled (dist/index.js and its chunks
 * in dist/chunks/), so a path relative to a module's own file is not the same in a clone's
 * sources and in the package.
 * @throws Error when no folder above this module holds the package's package.json
 */
export function packageRoot(): { readonly root: string; readonly version: string } {
  if (found) return found;
  for (let dir = import.meta.dirname; ; ) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const json = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (json.name === PACKAGE_NAME && typeof json.version === 'string') {
        found = { root: dir, version: json.version };
        return found;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json of ${PACKAGE_NAME} above ${import.meta.dirname}`);
    dir = parent;
  }
}

/** A path inside the package (see {@link packageRoot}). */
export function packagePath(...parts: string[]): string {
  return path.join(packageRoot().root, ...parts);
}
