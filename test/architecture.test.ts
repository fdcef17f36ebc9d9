import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// Each folder under src/ is one concern with one public entry (index.ts). These tests keep the
// layering honest: no reaching into another area's internals, no cycles between areas.

const SRC = path.resolve(import.meta.dirname, '../src');
const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : name.endsWith('.ts') ? [full] : [];
  });
}

function areaOf(file: string): string {
  const relative = path.relative(SRC, file);
  return relative.includes(path.sep) ? (relative.split(path.sep)[0] as string) : '';
}

const edges = sourceFiles(SRC).flatMap((file) =>
  [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => ({
    file,
    target: path.resolve(path.dirname(file), m[1] as string),
  })),
);

describe('architecture', () => {
  it('imports another area only through its index.ts', () => {
    const deep = edges
      .filter(({ file, target }) => areaOf(target) !== '' && areaOf(file) !== areaOf(target))
      .filter(({ target }) => path.relative(SRC, target) !== path.join(areaOf(target), 'index.ts'))
      .map(({ file, target }) => `${path.relative(SRC, file)} -> ${path.relative(SRC, target)}`);
    expect(deep).toEqual([]);
  });

  it('has no import cycle between areas', () => {
    const graph = new Map<string, Set<string>>();
    for (const { file, target } of edges) {
      const [from, to] = [areaOf(file), areaOf(target)];
      if (from === '' || to === '' || from === to) continue;
      if (!graph.has(from)) graph.set(from, new Set());
      graph.get(from)?.add(to);
    }
    const cycles: string[] = [];
    const visit = (area: string, trail: string[]) => {
      if (trail.includes(area)) {
        cycles.push([...trail.slice(trail.indexOf(area)), area].join(' -> '));
        return;
      }
      for (const next of graph.get(area) ?? []) visit(next, [...trail, area]);
    };
    for (const area of graph.keys()) visit(area, []);
    expect(cycles).toEqual([]);
  });

  it('found the areas it checks', () => {
    expect(new Set(edges.map(({ file }) => areaOf(file)))).toContain('workflow');
    expect(edges.length).toBeGreaterThan(50);
  });
});
