import { createRequire } from 'node:module';
import type { Environment, ParseResult } from '@marcbachmann/cel-js';

/** Parses CEL source in one environment; the environment is made at the first parse. */
export interface LazyCel {
  parse(source: string): ParseResult;
}

/**
 * A CEL environment with the project's limits and these variables, all maps. cel-js is loaded
 * by the first expression parsed, not by importing the library (issue 15: memory after import);
 * it is an ES module without top-level await, so `require` returns the instance `import()` would.
 */
export function lazyCel(mapVariables: readonly string[]): LazyCel {
  let environment: Environment | undefined;
  return {
    parse(source) {
      environment ??= makeEnvironment(mapVariables);
      return environment.parse(source);
    },
  };
}

function makeEnvironment(mapVariables: readonly string[]): Environment {
  const cel = createRequire(import.meta.url)('@marcbachmann/cel-js') as typeof import('@marcbachmann/cel-js');
  let environment = new cel.Environment({
    unlistedVariablesAreDyn: false,
    homogeneousAggregateLiterals: false,
    limits: { maxAstNodes: 2_000, maxDepth: 50 },
  });
  for (const name of mapVariables) environment = environment.registerVariable(name, 'map');
  return environment;
}
