import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewEvent } from '../src/events/index.ts';
import { EventLog } from '../src/log/index.ts';
import { type KnownSecret, Redactor } from '../src/security/index.ts';
import { openEventStore } from '../src/store/index.ts';

/**
 * The cost of redaction by value. A typical mix of agent events (messages, tool calls, tool
 * results of ~1.5 KB of command output, state changes, usage), none holding a secret (the
 * common case), with the secrets an orchestrator typically knows: the model key and 9 other
 * values of the host (tokens, passwords), each with its encoded forms (base64 at three
 * alignments, URL-encoded): about 70 alternatives in one regular expression.
 * Figures: redaction alone (events/s through `Redactor.redact`), then `EventLog.append` on
 * SQLite (`synchronous: normal`, appends of 20 events from 50 writers, so group commit
 * batches them) without and with a redactor, in alternating order. Median of five rounds.
 */

/** One measured figure. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  target?: string;
}

const EVENTS = 200_000;
const APPENDED = 60_000;
const PER_APPEND = 20;
const WRITERS = 50;
const ROUNDS = 5;

const OUTPUT = Array.from(
  { length: 30 },
  (_, i) => `drwxr-xr-x 2 root root 4096 Jan  1 00:00 folder-${i}-of-the-listing`,
)
  .join('\n')
  .slice(0, 1500);

function typicalEvents(count: number): NewEvent[] {
  const shapes: NewEvent[] = [
    { type: 'agent.message', data: { agentId: 'agt_1', text: 'I will list the files, then write the tests.' } },
    {
      type: 'agent.tool_use',
      data: {
        agentId: 'agt_1',
        toolUseId: 'toolu_1',
        tool: 'Bash',
        input: { command: 'ls -la src', description: 'List' },
      },
    },
    { type: 'agent.tool_result', data: { agentId: 'agt_1', toolUseId: 'toolu_1', isError: false, content: OUTPUT } },
    { type: 'agent.state_changed', data: { agentId: 'agt_1', from: 'thinking', to: 'using_tools' } },
    {
      type: 'agent.usage',
      data: { agentId: 'agt_1', model: 'claude-opus-5-5', inputTokens: 1200, outputTokens: 80, cacheReadTokens: 0 },
    },
  ] as NewEvent[];
  return Array.from({ length: count }, (_, i) => shapes[i % shapes.length] as NewEvent);
}

function typicalSecrets(): KnownSecret[] {
  const secrets: KnownSecret[] = [{ name: 'ANTHROPIC_API_KEY', value: `test-model-key-${'x9Yq'.repeat(24)}-AbCdEf` }];
  for (let i = 0; i < 9; i++) secrets.push({ name: `HOST_TOKEN_${i}`, value: `tok_${i}_${'Z7p/Q+'.repeat(6)}` });
  return secrets;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
}

function redactRate(redactor: Redactor, events: readonly NewEvent[]): number {
  const start = performance.now();
  let kept = 0;
  for (const event of events) if (redactor.redact(event.data) === event.data) kept++;
  const seconds = (performance.now() - start) / 1000;
  if (redactor.active && kept !== events.length) throw new Error('a clean event was changed');
  return events.length / seconds;
}

async function appendRate(redactor: Redactor | undefined): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-redact-'));
  try {
    const store = await openEventStore({ kind: 'sqlite', path: join(dir, 'events.db'), synchronous: 'normal' });
    const log = new EventLog(store, redactor ? { redactor } : {});
    const events = typicalEvents(PER_APPEND);
    const perWriter = APPENDED / PER_APPEND / WRITERS;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = 0; i < perWriter; i++) await log.append(`ses_${w % 4}`, events);
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    await log.close();
    return APPENDED / seconds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function bench(): Promise<BenchResult[]> {
  const events = typicalEvents(EVENTS);
  const secrets = typicalSecrets();
  const full = new Redactor(secrets);
  const plain = new Redactor(secrets, { encodedForms: false });
  const rates = { none: [] as number[], plain: [] as number[], full: [] as number[] };
  const appends = { without: [] as number[], with: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    rates.none.push(redactRate(Redactor.none, events));
    rates.plain.push(redactRate(plain, events));
    rates.full.push(redactRate(full, events));
    // Alternated, so that neither side always runs on a warmer (or more fragmented) heap.
    if (round % 2 === 0) {
      appends.without.push(await appendRate(undefined));
      appends.with.push(await appendRate(full));
    } else {
      appends.with.push(await appendRate(full));
      appends.without.push(await appendRate(undefined));
    }
  }
  const perEventUs = 1e6 / median(rates.full);
  return [
    { name: 'redact: no secret known (identity)', value: Math.round(median(rates.none)), unit: 'events/s' },
    { name: 'redact: 10 secrets, plain values only', value: Math.round(median(rates.plain)), unit: 'events/s' },
    { name: 'redact: 10 secrets with encoded forms', value: Math.round(median(rates.full)), unit: 'events/s' },
    { name: 'redact: cost per typical event (encoded forms)', value: perEventUs, unit: 'µs' },
    { name: 'EventLog.append on SQLite, no redactor', value: Math.round(median(appends.without)), unit: 'events/s' },
    {
      name: 'EventLog.append on SQLite, 10 secrets redacted',
      value: Math.round(median(appends.with)),
      unit: 'events/s',
    },
  ];
}
