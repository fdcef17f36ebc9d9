import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentKit, dataOf, startAgentKit, testSpec } from '../support/agent-kit.ts';

// Network from sandboxed Bash is off unless the agent type lists domains (the hostile suite tries
// the "off"); a listed domain is reached through Claude Code's proxy, and only it. Here the
// listed name is `localhost` (so the test needs no outside network) and the unlisted one is
// 127.0.0.1, the same server. Commands use the proxy explicitly (--noproxy ""): the sandbox's
// no_proxy list sends loopback names around it, where its network namespace refuses them.

let kit: AgentKit;
const hits: string[] = [];
const server = createServer((request, response) => {
  hits.push(String(request.url));
  response.end('reached\n');
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const command = [
    `curl -sS -m 5 --noproxy "" http://localhost:${port}/listed; echo`,
    `curl -sS -m 5 --noproxy "" http://127.0.0.1:${port}/unlisted; echo`,
    `curl -sS -m 5 http://127.0.0.1:${port}/direct; echo "rc=$?"`,
  ].join('; ');
  const scenario = {
    name: 'network',
    scripts: [
      {
        turns: [
          { content: [{ tool_use: { name: 'Bash', input: { command, description: 'reach the server' } } }] },
          'Done: {{last_tool_result}}',
        ],
      },
    ],
  };
  kit = await startAgentKit({ scenario: JSON.stringify(scenario) });
});
afterAll(async () => {
  await kit?.cleanup();
  server.close();
});

describe('network of an agent type that lists a domain', () => {
  it('reaches the listed domain through the sandbox, and no other host', { timeout: 60_000 }, async () => {
    const sessionId = kit.session();
    const cwd = await kit.workspace('network');
    const spec = testSpec({ tools: ['Bash'], sandbox: { allowedDomains: ['localhost'] } });
    const result = await kit.runtime().spawn({ sessionId, spec, prompt: 'reach it', cwd }).result;
    expect(result.ok, JSON.stringify(result)).toBe(true);
    const text = result.ok ? result.text : '';
    expect(text).toMatch(/^Done: reached$/m);
    expect(text).toContain('Connection blocked by network allowlist');
    expect(text).toMatch(/Couldn't connect to server[\s\S]*rc=7/);
    expect(hits).toEqual(['/listed']);
    expect(dataOf(await kit.events(sessionId), 'security.policy')).toEqual([
      expect.objectContaining({ sandbox: 'on', allowedDomains: ['localhost'] }),
    ]);
  });
});
