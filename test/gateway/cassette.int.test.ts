import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import {
  buildCassette,
  cassetteToYaml,
  type Exchange,
  ExchangeRecorder,
  loadRecording,
} from '../../src/gateway/index.ts';
import {
  type ModelExchangeRecord,
  type ModelServer,
  parseScenario,
  startModelServer,
} from '../../src/model-server/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { Redactor } from '../../src/security/index.ts';
import { type OrchestratorStore, openEventStore } from '../../src/store/index.ts';
import { parseWorkflow } from '../../src/workflow/index.ts';

// Record and replay end to end, without the gateway: a small workflow runs with real Claude Code
// agents against the scripted model server, which keeps what it answered; those exchanges go
// through the recorder (as the gateway will hand them over) into a SQLite store, become a
// cassette file, and the same workflow runs again against the cassette alone. The workflow's
// result and the files its agents wrote are the same.

const scenario = `
name: record-me
scripts:
  - name: writer
    match: { system: "You write notes" }
    turns:
      - content:
          - text: I will write the notes.
          - tool_use: { name: Write, input: { file_path: notes.txt, content: "alpha\\nbeta\\n" } }
      - content: [{ tool_use: { name: Edit, input: { file_path: notes.txt, old_string: beta, new_string: gamma } } }]
      - "Wrote notes.txt."
  - name: reader
    match: { system: "You read notes" }
    turns:
      - content: [{ tool_use: { name: Read, input: { file_path: notes.txt } } }]
      - content: [{ tool_use: { name: Write, input: { file_path: summary.txt, content: "two lines\\n" } } }]
      - "Summary written."
`;

const workflow = parseWorkflow(
  `
name: notes
agents:
  writer: { systemPrompt: "You write notes.", tools: [Read, Write, Edit] }
  reader: { systemPrompt: "You read notes.", tools: [Read, Write] }
nodes:
  - { id: write, agent: writer, task: "Write notes.txt." }
  - { id: summarize, agent: reader, task: "Summarize notes.txt into summary.txt.", dependsOn: [write] }
`,
  'notes.yaml',
);

/** What a run leaves behind that must not depend on where the answers came from. */
interface RunOutcome {
  readonly status: string;
  readonly outputs: Record<string, unknown>;
  readonly files: Record<string, string>;
}

async function runWorkflow(dataDir: string, server: ModelServer): Promise<RunOutcome & { sessionId: string }> {
  const orchestrator = await Orchestrator.open({
    config: loadConfig(
      { dataDir, logLevel: 'silent', anthropicApiKey: 'test-key-not-secret', anthropicBaseUrl: server.url },
      {},
    ),
  });
  try {
    const handle = await orchestrator.startWorkflow(workflow);
    const final = await handle.result;
    const outputs: Record<string, unknown> = {};
    for await (const event of orchestrator.log.readAll(handle.sessionId)) {
      if (event.type === 'node.completed') {
        const data = event.data as { nodeId: string; output: unknown };
        outputs[data.nodeId] = data.output;
      }
    }
    const files: Record<string, string> = {};
    for (const name of (await readdir(handle.workspace)).filter((n) => n.endsWith('.txt')).sort()) {
      files[name] = await readFile(path.join(handle.workspace, name), 'utf8');
    }
    return { sessionId: handle.sessionId, status: final.status, outputs, files };
  } finally {
    await orchestrator.close();
  }
}

/** An exchange the scripted server kept, as the gateway's proxy will hand it to `observe`. */
function asExchange(sessionId: string, record: ModelExchangeRecord): Exchange {
  const body = JSON.parse(record.requestBody.toString('utf8')) as Record<string, unknown>;
  return {
    request: {
      requestId: randomUUID(),
      agent: { sessionId, agentId: record.sessionHeader ?? 'unknown', agentType: 'agent' },
      path: record.path,
      model: String(body.model),
      stream: body.stream === true,
      maxTokens: Number(body.max_tokens ?? 0),
      inputTokensEstimate: Math.ceil(record.requestBody.length / 4),
      bodyDigest: createHash('sha256').update(record.requestBody).digest('hex'),
      body,
    },
    status: record.status,
    contentType: record.contentType,
    body: record.responseBody,
  };
}

describe('record and replay with real Claude Code agents', () => {
  let dir: string;
  let store: OrchestratorStore;
  const servers: ModelServer[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'orch-cassette-'));
    store = await openEventStore({ kind: 'sqlite', path: path.join(dir, 'recordings.db') });
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('replays a recorded run into the same result and files, offline', async () => {
    const live = await startModelServer({ scenario: parseScenario(scenario, 'record-me.yaml'), keepExchanges: true });
    servers.push(live);
    const recorded = await runWorkflow(path.join(dir, 'recorded'), live);
    expect(recorded.status).toBe('completed');
    expect(recorded.files).toEqual({ 'notes.txt': 'alpha\ngamma\n', 'summary.txt': 'two lines\n' });
    const turns = live.requests.filter((r) => r.path === '/v1/messages');
    expect(live.exchanges).toHaveLength(turns.length);

    // Through the recorder, as the gateway will call it.
    const recorder = new ExchangeRecorder({ store, redactor: new Redactor([]) });
    for (const record of live.exchanges) recorder.observe(asExchange(recorded.sessionId, record));
    await recorder.flush();
    expect(recorder.failed).toBe(0);
    expect(recorder.recorded).toBe(live.exchanges.length);

    const cassette = buildCassette(recorded.sessionId, await loadRecording(store, recorded.sessionId));
    expect(new Set(cassette.replay.map((e) => e.conversation))).toEqual(new Set(['c1', 'c2']));
    const file = path.join(dir, 'notes.cassette.yaml');
    await writeFile(file, cassetteToYaml(cassette));

    const replayer = await startModelServer({ scenario: file });
    servers.push(replayer);
    const replayed = await runWorkflow(path.join(dir, 'replayed'), replayer);
    expect(replayer.requests.map((r) => r.answer)).toEqual(turns.map(() => 'replay'));
    expect({ ...replayed, sessionId: undefined }).toEqual({ ...recorded, sessionId: undefined });
  });
});
