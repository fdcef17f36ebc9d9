import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';

describe('warm pool configuration', () => {
  it('is off by default, with a 30 s age limit', () => {
    const config = loadConfig({}, {});
    expect(config.warmPool).toBe(0);
    expect(config.warmMaxAgeMs).toBe(30_000);
  });

  it('reads its environment variables', () => {
    const config = loadConfig({}, { ORCHESTRATOR_WARM_POOL: '2', ORCHESTRATOR_WARM_MAX_AGE_MS: '5000' });
    expect(config.warmPool).toBe(2);
    expect(config.warmMaxAgeMs).toBe(5000);
  });

  it('reports bad values of both at once, naming their variables', () => {
    expect(() => loadConfig({}, { ORCHESTRATOR_WARM_POOL: '-1', ORCHESTRATOR_WARM_MAX_AGE_MS: 'soon' })).toThrow(
      /warmPool \(ORCHESTRATOR_WARM_POOL\)[\s\S]*warmMaxAgeMs \(ORCHESTRATOR_WARM_MAX_AGE_MS\)/,
    );
  });
});
