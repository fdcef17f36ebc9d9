import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentKit, dataOf, startAgentKit, testSpec, waitFor } from '../support/agent-kit.ts';

// Each Claude Code process gets a TMPDIR of its own under the agents' TMPDIR (src/agents/
// scratch.ts): processes of one configuration sharing one raced on the sandbox's settings file
// there (`bwrap: Can't find source path …/claude-settings-<hash>.json`). Tried for real: agents
// of one type at once, each in a workspace of its own, each running sandboxed commands. The race
// needed about 80 commands to show (it failed both times tried at 4 x 20; with the fix, 0
// failures in 240), so it is not what this test relies on: the four TMPDIRs being distinct is,
// and that fails without the fix at any size. A few commands each keep the overlap real.

const AGENTS = 4;
const COMMANDS = 6;

let kit: AgentKit;
beforeAll(async () => {
  const bash = (command: string) => ({
    content: [{ tool_use: { name: 'Bash', input: { command, description: 'tmp' } } }],
  });
  const scenario = {
    name: 'scratch',
    scripts: [
      {
        match: { user: '^tmp' },
        turns: [
          ...Array.from({ length: COMMANDS - 1 }, (_, i) => bash(`echo run-${i} >> runs.txt`)),
          bash('echo "TMP=$TMPDIR"; echo x > "$TMPDIR/mine" && echo wrote; wc -l < runs.txt'),
          'Done: {{last_tool_result}}',
        ],
      },
    ],
  };
  kit = await startAgentKit({ scenario: JSON.stringify(scenario) });
});
afterAll(async () => {
  await kit?.cleanup();
});

describe("an agent process's TMPDIR", () => {
  it('is its own, under the agents’ TMPDIR, writable from sandboxed Bash, and removed when it ends', async () => {
    const shared = kit.sdk.env.TMPDIR as string;
    const runtime = kit.runtime({ maxConcurrent: AGENTS });
    const runs = Array.from({ length: AGENTS }, (_, i) => `tmp-${i + 1}`);
    const sessions = runs.map(() => kit.session());
    const results = await Promise.all(
      runs.map(async (prompt, i) => {
        const cwd = await kit.workspace(prompt);
        const spec = testSpec({ timeoutMs: 90_000 });
        return runtime.spawn({ sessionId: sessions[i] as string, spec, prompt, cwd }).result;
      }),
    );
    for (const sessionId of sessions) {
      const outputs = dataOf(await kit.events(sessionId), 'agent.tool_result').map((r) => String(r.content));
      expect(outputs).toHaveLength(COMMANDS);
      expect(outputs.filter((output) => /bwrap:|Exit code/.test(output))).toEqual([]);
    }
    const dirs = results.map((result) => {
      expect(result.ok, JSON.stringify(result)).toBe(true);
      const text = result.ok ? result.text : '';
      expect(text, text).toContain('wrote');
      expect(text, text).toMatch(new RegExp(`^${COMMANDS - 1}$`, 'm'));
      // Claude Code gives sandboxed commands a folder inside its own TMPDIR.
      const seen = /TMP=(\S+)/.exec(text)?.[1] as string;
      const relative = path.relative(shared, seen);
      expect(relative.startsWith('..') || path.isAbsolute(relative), seen).toBe(false);
      return path.join(shared, relative.split(path.sep)[0] as string);
    });
    expect(new Set(dirs).size).toBe(AGENTS);
    // Gone with their processes (the runtime awaits the reaping before it frees a slot).
    expect(await waitFor(() => dirs.every((dir) => !existsSync(dir)), 10_000)).toBe(true);
    expect(existsSync(shared)).toBe(true);
  });
});
