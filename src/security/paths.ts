import path from 'node:path';
import { OrchestratorError } from '../errors/index.ts';
import { checkSafeName } from './names.ts';

/**
 * Paths built from names, checked to stay under their root: the second line of defence behind
 * {@link checkSafeName}, kept in front of every recursive removal. The check is lexical (on the
 * resolved path): a name cannot climb out, and removals never follow a symbolic link (Node's
 * `rm` removes the link itself).
 */

/** True when `candidate` is `root` itself or lies below it (lexically, both resolved). */
export function isWithin(root: string, candidate: string): boolean {
  const relative = path.relative(path.resolve(root), path.resolve(candidate));
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * `root` joined with safe names, resolved; each part is checked as a safe name.
 * @throws OrchestratorError `INVALID_ARGUMENT` naming the part that is not a safe name
 * @example childPath(worktreesRoot, [sessionId, label], ['sessionId', 'label'])
 */
export function childPath(root: string, parts: readonly string[], fields: readonly string[] = []): string {
  parts.forEach((part, i) => {
    checkSafeName(part, fields[i] ?? 'path part');
  });
  return assertBelow(root, path.join(root, ...parts), fields.join('/') || 'path');
}

/**
 * Returns `candidate` resolved when it lies strictly below `root` (never `root` itself).
 * @throws OrchestratorError `INVALID_ARGUMENT` when it does not
 */
export function assertBelow(root: string, candidate: string, what = 'path'): string {
  const resolved = path.resolve(candidate);
  if (!isWithin(root, resolved) || path.resolve(root) === resolved) {
    throw new OrchestratorError(
      'INVALID_ARGUMENT',
      `${what} ${JSON.stringify(resolved)} is not inside ${path.resolve(root)}`,
      {
        details: { field: what, root: path.resolve(root), path: resolved },
      },
    );
  }
  return resolved;
}
