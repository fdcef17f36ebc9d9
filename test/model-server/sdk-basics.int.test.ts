import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createSdkMcpServer,
  query,
  type SDKMessage,
  type SDKResultMessage,
  tool,
} from '@anthropic-ai/claude-agent-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ModelServer, parseScenario, startModelServer } from '../../src/model-server/index.ts';
import { collectQuery, makeSdkEnv, type SdkEnv } from '../support/sdk-env.ts';

// The real SDK and Claude Code binary against the scripted server: one server, one scenario,
// one script per test selected by the prompt.

let server: ModelServer;
let sdk: SdkEnv;
let writeDir: string;

function scenarioYaml(filePath: string): string {
  return `
name: sdk-basics
scripts:
  - name: plain
    match: { user: '^Say hello$' }
    turns:
      - content:
          - text: Hello from the scripted model.
        usage: { input_tokens: 120, output_tokens: 7 }
  - name: write
    match: { user: '^Write the greeting file$' }
    turns:
      - content:
          - text: Writing it now.
          - tool_use: { name: Write, input: { file_path: ${JSON.stringify(filePath)}, content: "hello, file\\n" } }
      - The file is written.
  - name: structured
    match: { user: '^Report the answer$' }
    turns:
      - content:
          - structured_output: { answer: forty-two, count: 42 }
  - name: mcp
    match: { user: '^Call the echo tool$' }
    turns:
      # MCP tools are deferred: load the schema through ToolSearch first, as a real model does.
      - content:
          - tool_use: { name: ToolSearch, input: { query: 'select:mcp__probe__echo', max_results: 1 } }
      - content:
          - tool_use: { name: mcp__probe__echo, input: { text: ping } }
      - 'Tool said: {{last_tool_result}}'
`;
}

function resultOf(messages: readonly SDKMessage[]): SDKResultMessage {
  const result = messages.find((m): m is SDKResultMessage => m.type === 'result');
  if (!result) throw new Error(`no result message among ${messages.map((m) => m.type).join(', ')}`);
  return result;
}

beforeAll(async () => {
  server = await startModelServer({ scenario: parseScenario('name: placeholder\nscripts: [{turns: []}]') });
  sdk = await makeSdkEnv(server.url, { maxRetries: 0 });
  writeDir = join(sdk.workDir, 'write');
  await mkdir(writeDir);
  await server.setScenario(parseScenario(scenarioYaml(join(writeDir, 'greeting.txt')), 'sdk-basics.yaml'));
});

afterAll(async () => {
  await server?.close();
  await sdk?.cleanup();
});

describe('scripted model server with the real SDK', () => {
  it('answers a plain text turn', async () => {
    const run = await collectQuery(query({ prompt: 'Say hello', options: { cwd: sdk.workDir, env: sdk.env } }));
    expect(run.error).toBeUndefined();
    const result = resultOf(run.messages);
    expect(result.subtype).toBe('success');
    expect(result.is_error).toBe(false);
    expect(result.subtype === 'success' && result.result).toBe('Hello from the scripted model.');
    expect(result.usage.input_tokens).toBe(120);
    expect(result.usage.output_tokens).toBe(7);
    const mine = server.requests.filter((r) => r.script === 'plain');
    expect(mine.map((r) => [r.path, r.turn, r.answer, r.stream])).toEqual([['/v1/messages', 0, 'turn', true]]);
    // With nonessential traffic off, Claude Code calls nothing but the Messages API.
    expect(server.requests.filter((r) => r.path !== '/v1/messages')).toEqual([]);
  });

  it('makes Claude Code run a Write tool call for real', async () => {
    const run = await collectQuery(
      query({
        prompt: 'Write the greeting file',
        options: { cwd: writeDir, env: sdk.env, allowedTools: ['Write'] },
      }),
    );
    expect(run.error).toBeUndefined();
    expect(await readFile(join(writeDir, 'greeting.txt'), 'utf8')).toBe('hello, file\n');
    const result = resultOf(run.messages);
    expect(result.subtype === 'success' && result.result).toBe('The file is written.');
    expect(server.requests.filter((r) => r.script === 'write').map((r) => r.turn)).toEqual([0, 1]);
  });

  it('produces structured output through outputFormat', async () => {
    const run = await collectQuery(
      query({
        prompt: 'Report the answer',
        options: {
          cwd: sdk.workDir,
          env: sdk.env,
          outputFormat: {
            type: 'json_schema',
            schema: {
              type: 'object',
              properties: { answer: { type: 'string' }, count: { type: 'number' } },
              required: ['answer', 'count'],
            },
          },
        },
      }),
    );
    expect(run.error).toBeUndefined();
    const result = resultOf(run.messages);
    expect(result.subtype).toBe('success');
    expect(result.subtype === 'success' && result.structured_output).toEqual({ answer: 'forty-two', count: 42 });
  });

  it('calls an in-process MCP tool by name with the scripted input', async () => {
    const received: unknown[] = [];
    const probe = createSdkMcpServer({
      name: 'probe',
      tools: [
        tool('echo', 'Echoes its text', { text: z.string() }, async (args) => {
          received.push(args);
          return { content: [{ type: 'text', text: `echo:${args.text}` }] };
        }),
      ],
    });
    const run = await collectQuery(
      query({
        prompt: 'Call the echo tool',
        options: { cwd: sdk.workDir, env: sdk.env, mcpServers: { probe }, allowedTools: ['mcp__probe__echo'] },
      }),
    );
    expect(run.error).toBeUndefined();
    expect(received).toEqual([{ text: 'ping' }]);
    const result = resultOf(run.messages);
    expect(result.subtype === 'success' && result.result).toBe('Tool said: echo:ping');
  });
});
