import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, runCli, tempDir } from '../support/cli-kit.ts';

// `orchestrator validate` checks agent types' security settings as Claude Code would read
// them, before anything runs: a rule Claude Code would skip is an error with file, line and field.

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
