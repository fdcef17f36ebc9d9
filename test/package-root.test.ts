import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packagePath, packageRoot } from '../src/package-root.ts';

// The built package is bundled (dist/index.js, dist/chunks/...), so files of the package are
// found from its root, not relative to a module's own file; test/package.int.test.ts runs the
// same lookups from an installed copy of the package (`--version`, `init`).

const REPO = path.resolve(import.meta.dirname, '..');

describe('packageRoot', () => {
  it('is the folder of the package.json named ai-orchestrator, with its version', () => {
    const manifest = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(packageRoot()).toEqual({ root: REPO, version: manifest.version });
    expect(packagePath('examples', 'hello', 'workflow.yaml')).toBe(
      path.join(REPO, 'examples', 'hello', 'workflow.yaml'),
    );
  });
});
