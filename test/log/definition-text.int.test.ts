import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knownJson, typedEvent } from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { Redactor } from '../../src/security/index.ts';
import { openEventStore } from '../../src/store/index.ts';
import { compileWorkflow } from '../../src/workflow/index.ts';
import { tempDir } from '../support/cli-kit.ts';

// A compiled definition's JSON is made by its compiler and spliced into the `workflow.started`
// payload (see src/events/frozen-json.ts). The stored row must be what serializing the payload
// gives, and a secret in the definition must still be redacted: the text made at compile time
// holds it, the stored one must not.

let tmp: Awaited<ReturnType<typeof tempDir>>;
let log: EventLog;
let dbPath: string;
const SECRET = 'sk-test-frozen-0123456789abcdef';

beforeAll(async () => {
  tmp = await tempDir('log-definition-text');
  dbPath = path.join(tmp.dir, 'events.db');
  const store = await openEventStore({ kind: 'sqlite', path: dbPath });
  log = new EventLog(store, { redactor: new Redactor([{ name: 'KEY', value: SECRET }]) });
});
afterAll(async () => {
  await log?.close();
  await tmp?.cleanup();
});

function started(definition: unknown) {
  return typedEvent({
    type: 'workflow.started',
    source: 'orchestrator',
    data: { workflowId: 'wf_1', name: 'texts', inputs: { n: 1 }, definition, file: 'w.yaml', workspace: '/w' },
  });
}

function storedData(sessionId: string): string {
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    const row = db.prepare("SELECT data FROM events WHERE session_id = ? AND type = 'workflow.started'").get(sessionId);
    return (row as { data: string }).data;
  } finally {
    db.close();
  }
}

describe('the workflow.started payload with its compiled definition', () => {
  it('is stored as the payload serialized, byte for byte', async () => {
    const compiled = compileWorkflow({
      name: 'texts',
      agents: { a: { systemPrompt: 'Be "brief" \u2028 é' } },
      nodes: Array.from({ length: 50 }, (_, i) => ({ id: `n${i}`, agent: 'a', task: `step ${i}` })),
    });
    expect(knownJson(compiled.definition)).toBeDefined();
    const event = started(compiled.definition);
    const [committed] = await log.append('ses_text', [event]);
    expect(storedData('ses_text')).toBe(JSON.stringify(event.data));
    const [read] = await log.store.read('ses_text');
    expect(read?.data).toEqual(committed?.data);
  });

  it('has a secret in the definition redacted, though the compiled text holds it', async () => {
    const compiled = compileWorkflow({
      name: 'leaky',
      agents: { a: { systemPrompt: `Use the key ${SECRET} for the API.` } },
      nodes: [{ id: 'one', agent: 'a', task: 'go' }],
    });
    expect(knownJson(compiled.definition)).toContain(SECRET);
    await log.append('ses_secret', [started(compiled.definition)]);
    const stored = storedData('ses_secret');
    expect(stored).not.toContain(SECRET);
    expect(stored).toContain('Use the key');
    expect(JSON.parse(stored).definition.name).toBe('leaky');
  });
});
