import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';

describe('the agent cap and the node cap', () => {
  it('default to 4 agents and 64 other nodes at once', () => {
    const config = loadConfig({}, {});
    expect(config.maxConcurrentAgents).toBe(4);
    expect(config.maxConcurrentNodes).toBe(64);
  });

  it('read their environment variables, and a config value wins over the environment', () => {
    const env = { ORCHESTRATOR_MAX_AGENTS: '2', ORCHESTRATOR_MAX_NODES: '500' };
    expect(loadConfig({}, env)).toMatchObject({ maxConcurrentAgents: 2, maxConcurrentNodes: 500 });
    expect(loadConfig({ maxConcurrentNodes: 8 }, env).maxConcurrentNodes).toBe(8);
  });

  it('refuse a value below 1 or not a whole number, naming the variable', () => {
    expect(() => loadConfig({}, { ORCHESTRATOR_MAX_NODES: '0' })).toThrow(
      /maxConcurrentNodes \(ORCHESTRATOR_MAX_NODES\)/,
    );
    expect(() => loadConfig({}, { ORCHESTRATOR_MAX_NODES: 'many' })).toThrow(
      /maxConcurrentNodes \(ORCHESTRATOR_MAX_NODES\)/,
    );
  });
});
