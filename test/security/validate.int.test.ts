import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, runCli, tempDir } from '../support/cli-kit.ts';

// `orchestrator validate` checks agent types' security settings as Claude Code would read
// them, before anything runs: a rule Claude Code would skip is an error with file, line and field;
// so are graph policies that would let an agent skip an approval, secrets written as literals, and
// ids that are paths.

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir('validate-rules');
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe('orchestrator validate with security settings', () => {
  it('rejects malformed and ineffective rules, naming file, line and field (exit 2)', async () => {
    const file = path.join(tmp.dir, 'rules.yaml');
    await writeFile(
      file,
      [
        'name: rules',
        'agents:',
        '  dev:',
        '    tools: [Bash, Read]',
        '    permissions:',
        '      deny: ["Bash(rm *"]',
        '      ask: ["Write(secrets/**)"]',
        '    sandbox: { network: { allowedDomains: ["not a domain"] } }',
        'nodes:',
        '  - { id: a, agent: dev, task: t }',
        '',
      ].join('\n'),
    );
    const result = await runCli(['validate', file], { dataDir: path.join(tmp.dir, 'data') });
    expect(result.code, describeResult(result)).toBe(2);
    expect(result.stderr).toMatch(
      /rules\.yaml:6:\d+\s+agents\.dev\.permissions\.deny\[0\]\s+malformed rule "Bash\(rm \*"/,
    );
    expect(result.stderr).toMatch(
      /rules\.yaml:7:\d+\s+agents\.dev\.permissions\.ask\[0\]\s+.*write "Edit\(secrets\/\*\*\)"/,
    );
    expect(result.stderr).toMatch(/rules\.yaml:8:\d+\s+agents\.dev\.sandbox\.network\.allowedDomains\[0\]/);
  });

  it('checks graph policies, environments and ids too, each problem at its place (exit 2)', async () => {
    const file = path.join(tmp.dir, 'policies.yaml');
    await writeFile(
      file,
      [
        'name: policies',
        'agents:',
        '  lead:',
        '    tools: []',
        '    canModifyWorkflow: true',
        '    graph: { skipNodes: { kinds: [agent, approval] }, addNodes: { maxPerCall: 0 } }',
        '  dev:',
        '    tools: [Bash]',
        '    env: { API_TOKEN: abc }',
        '    passEnv: [HOME, ANTHROPIC_API_KEY]',
        '  other:',
        '    tools: [Read]',
        '    graph: { addNodes: true }',
        'nodes:',
        '  - { id: a, agent: lead, task: t }',
        '  - { id: "../b", agent: dev, task: t }',
        '',
      ].join('\n'),
    );
    const result = await runCli(['validate', file], { dataDir: path.join(tmp.dir, 'data') });
    expect(result.code, describeResult(result)).toBe(2);
    const problems = [
      /policies\.yaml:6:\d+\s+agents\.lead\.graph\.skipNodes\.kinds\s+human and approval nodes are protected/,
      /policies\.yaml:6:\d+\s+agents\.lead\.graph\.addNodes\.maxPerCall\s+expected a number >= 1/,
      /policies\.yaml:9:\d+\s+agents\.dev\.env\.API_TOKEN\s+.*looks like a secret/,
      /policies\.yaml:10:\d+\s+agents\.dev\.passEnv\[0\]\s+"HOME" is set by the orchestrator/,
      /policies\.yaml:10:\d+\s+agents\.dev\.passEnv\[1\]\s+"ANTHROPIC_API_KEY" is set by the orchestrator/,
      /policies\.yaml:13:\d+\s+agents\.other\.graph\s+.*add canModifyWorkflow: true/,
      /policies\.yaml:16:\d+\s+nodes\[1\]\.id\s+expected a node id/,
    ];
    for (const problem of problems) expect(result.stderr).toMatch(problem);
    expect(result.stderr).toContain(`(${problems.length} problems)`);
  });

  it('accepts a well-formed policy (exit 0)', async () => {
    const file = path.join(tmp.dir, 'good.yaml');
    await writeFile(
      file,
      [
        'name: good',
        'agents:',
        '  dev:',
        '    tools: ["Bash(npm *)", "Edit(src/**)", Read]',
        '    permissions: { ask: ["Bash(npm publish *)"], deny: ["Read(.env)"], askTimeout: 10m }',
        '    sandbox: { network: { allowedDomains: [registry.npmjs.org] } }',
        '    confine: { reads: true }',
        'nodes:',
        '  - { id: a, agent: dev, task: t }',
        '',
      ].join('\n'),
    );
    const result = await runCli(['validate', file], { dataDir: path.join(tmp.dir, 'data') });
    expect(result.code, describeResult(result)).toBe(0);
  });
});
