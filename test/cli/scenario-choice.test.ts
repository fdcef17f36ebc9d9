import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resumeScenario } from '../../src/cli/scenario-choice.ts';
import { isOrchestratorError } from '../../src/errors/index.ts';
import type { AnyEvent, EventDataMap, EventType } from '../../src/events/index.ts';

// Which scenario `sessions resume` gives the scripted model, decided from the session's events
// and real files: the flag, else the recorded scenario, else as a run would.

let dir: string;
let seq = 0;

function event<T extends EventType>(type: T, data: EventDataMap[T]): AnyEvent {
  seq += 1;
  return {
    id: `evt_${seq}`,
    type,
    sessionId: 'ses_1',
    seq,
    ts: new Date(0).toISOString(),
    source: 'test',
    correlationId: null,
    causationId: null,
    data,
  } as AnyEvent;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-scenario-choice-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('resumeScenario', () => {
  it('uses the scenario file the session recorded, whether or not a key is set now', async () => {
    const file = path.join(dir, 'custom.yaml');
    await writeFile(file, 'name: custom\n');
    const events = [
      event('session.created', {
        model: { kind: 'scripted', scenario: file, scenarioSha256: sha256('name: custom\n') },
      }),
      event('workflow.started', { workflowId: 'wf_1', name: 'w', file: path.join(dir, 'workflow.yaml') }),
    ];
    await writeFile(path.join(dir, 'scenario.yaml'), 'name: beside\n');
    for (const apiKey of [false, true]) {
      expect(await resumeScenario({ flag: undefined, events, apiKey })).toEqual({ scenario: file });
    }
  });

  it('takes the latest recorded one (a resume given another scenario), and lets --model-server win', async () => {
    const first = path.join(dir, 'first.yaml');
    const second = path.join(dir, 'second.yaml');
    await writeFile(first, 'a');
    await writeFile(second, 'b');
    const events = [
      event('session.created', { model: { kind: 'scripted', scenario: first } }),
      event('session.resumed', { fromSeq: 1, model: { kind: 'scripted', scenario: second } }),
      event('session.resumed', { fromSeq: 2 }),
    ];
    expect(await resumeScenario({ flag: undefined, events, apiKey: false })).toEqual({ scenario: second });
    expect(await resumeScenario({ flag: 'mine.yaml', events, apiKey: false })).toEqual({ scenario: 'mine.yaml' });
  });

  it('says when the recorded file changed since, and fails naming it when it is gone', async () => {
    const file = path.join(dir, 'custom.yaml');
    await writeFile(file, 'name: edited\n');
    const events = [
      event('session.created', {
        model: { kind: 'scripted', scenario: file, scenarioSha256: sha256('name: custom\n') },
      }),
    ];
    const changed = await resumeScenario({ flag: undefined, events, apiKey: false });
    expect(changed.scenario).toBe(file);
    expect(changed.notice).toContain(`the scenario ${file} changed since the session last ran`);

    await rm(file);
    const gone = await resumeScenario({ flag: undefined, events, apiKey: false }).catch((error: unknown) => error);
    expect(isOrchestratorError(gone) && gone.code).toBe('INVALID_ARGUMENT');
    expect((gone as Error).message).toContain(
      `${file}, which cannot be read now (ENOENT); give one with --model-server`,
    );
  });

  it('goes on as a run would after the Anthropic API, a built-in scenario or nothing recorded', async () => {
    const workflow = path.join(dir, 'workflow.yaml');
    await writeFile(path.join(dir, 'scenario.yaml'), 'name: beside\n');
    const started = event('workflow.started', { workflowId: 'wf_1', name: 'w', file: workflow });
    for (const model of [
      { kind: 'anthropic' as const },
      { kind: 'scripted' as const, scenarioName: 'fallback' },
      undefined,
    ]) {
      const events = [event('session.created', model ? { model } : {}), started];
      expect(await resumeScenario({ flag: undefined, events, apiKey: false })).toEqual({
        scenario: path.join(dir, 'scenario.yaml'),
      });
      expect(await resumeScenario({ flag: undefined, events, apiKey: true })).toEqual({ scenario: undefined });
    }
  });
});
