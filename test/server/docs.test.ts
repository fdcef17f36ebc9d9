import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../src/server/contract/index.ts';

// docs/api.md lists every route of the contract with its scope, and nothing else.

const docs = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
const documented = [...docs.matchAll(/^\| `(GET|POST|DELETE) ([^`]+)`\s*\|\s*(\w+)\s*\|/gm)].map(
  (m) => `${m[1]} ${m[2]} ${m[3]}`,
);

describe('docs/api.md', () => {
  it('documents every route with its scope, and only routes that exist', () => {
    const routes = Object.values(API_ROUTES).map((route) => `${route.method} ${route.path} ${route.scope}`);
    expect([...documented].sort()).toEqual([...routes].sort());
  });
});
