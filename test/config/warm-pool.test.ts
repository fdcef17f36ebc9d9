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

  it('starts spares from the graph by default, as many as the agent cap, with 1 GB kept free', () => {
    const config = loadConfig({}, { ORCHESTRATOR_MAX_AGENTS: '6' });
    expect(config.warmStart).toBe('graph');
    expect(config.warmMaxSpares).toBe(6);
    expect(config.warmMinFreeMb).toBe(1024);
  });

  it('reads the warm start variables, and refuses an unknown mode by name', () => {
    const config = loadConfig(
      {},
      { ORCHESTRATOR_WARM_START: 'off', ORCHESTRATOR_WARM_MAX_SPARES: '2', ORCHESTRATOR_WARM_MIN_FREE_MB: '0' },
    );
    expect(config.warmStart).toBe('off');
    expect(config.warmMaxSpares).toBe(2);
    expect(config.warmMinFreeMb).toBe(0);
    expect(() => loadConfig({}, { ORCHESTRATOR_WARM_START: 'always' })).toThrow(
      /warmStart \(ORCHESTRATOR_WARM_START\)/,
    );
  });
});
