import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import type { OrchestratorEvent } from '../../src/events/index.ts';
import { SqliteEventStore } from '../../src/store/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'orch-sqlite-procs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const worker = fileURLToPath(new URL('./fixtures/append-worker.ts', import.meta.url));
const versionWorker = fileURLToPath(new URL('./fixtures/version-worker.ts', import.meta.url));

interface Child<Result> {
  readonly process: ChildProcess;
  readonly ready: Promise<void>;
  readonly done: Promise<Result>;
}

type AppendResult = { tag: string; ranges: Array<[number, number, number]> };

function startWriter(file: string, sessionId: string, tag: string, appends: number, perAppend: number) {
  return startWorker<AppendResult>(worker, [file, sessionId, tag, String(appends), String(perAppend)]);
}

/** Starts a worker script; it prints `ready`, waits for `go` on stdin, and ends with one JSON line. */
function startWorker<Result>(script: string, args: string[]): Child<Result> {
  const tag = args[2];
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    if (out.startsWith('ready\n')) markReady();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const done = new Promise<Result>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`writer ${tag} exited with ${code}: ${err}`));
      else resolve(JSON.parse(out.split('\n').filter(Boolean).at(-1) as string));
    });
  });
  return { process: child, ready: Promise.race([ready, done.then(() => undefined)]), done };
}

it('keeps one session contiguous with two OS processes appending to the same file at once', async () => {
  const file = join(dir, 'shared.db');
  const sessionId = 'ses_two_processes';
  const appends = 150;
  const perAppend = 3;
  const writers = [
    startWriter(file, sessionId, 'p1', appends, perAppend),
    startWriter(file, sessionId, 'p2', appends, perAppend),
  ];
  await Promise.all(writers.map((w) => w.ready));
  for (const w of writers) w.process.stdin?.end('go\n');
  const results = await Promise.all(writers.map((w) => w.done));

  const store = await SqliteEventStore.open({ path: file });
  try {
    const total = 2 * appends * perAppend;
    const log: OrchestratorEvent[] = await store.read(sessionId, { limit: total + 10 });
    expect(log).toHaveLength(total);
    expect(log.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(new Set(log.map((e) => e.id)).size).toBe(total);
    expect(await store.lastSeq(sessionId)).toBe(total);
    for (const { tag, ranges } of results) {
      expect(ranges).toHaveLength(appends);
      for (const [index, first, last] of ranges) {
        // Each append landed whole and in order where its process was told it did.
        expect(last - first).toBe(perAppend - 1);
        const texts = log.slice(first - 1, last).map((e) => `${e.source}|${(e.data as { text: string }).text}`);
        expect(texts).toEqual(Array.from({ length: perAppend }, (_, k) => `${tag}|${index}:${k}`));
      }
    }
    // Each writer paused halfway until the other had written, so the log alternates at least twice.
    const switches = log.filter((e, i) => i > 0 && e.source !== log[i - 1]?.source).length;
    expect(switches).toBeGreaterThanOrEqual(2);
  } finally {
    await store.close();
  }
});

it('numbers versions 1..n exactly once with two OS processes putting versions of one session at once', async () => {
  const file = join(dir, 'versions.db');
  const sessionId = 'ses_two_version_writers';
  const count = 60;
  type VersionResult = { tag: string; numbers: Array<[string, number]> };
  const writers = ['p1', 'p2'].map((tag) =>
    startWorker<VersionResult>(versionWorker, [file, sessionId, tag, String(count)]),
  );
  await Promise.all(writers.map((w) => w.ready));
  for (const w of writers) w.process.stdin?.end('go\n');
  const results = await Promise.all(writers.map((w) => w.done));

  const store = await SqliteEventStore.open({ path: file });
  try {
    const listed = await store.listVersions(sessionId);
    expect(listed.map((v) => v.version)).toEqual(Array.from({ length: 2 * count }, (_, i) => i + 1));
    // Every number a process was given belongs to the version it put.
    const byLabel = new Map(listed.map((v) => [v.label, v.version]));
    for (const { numbers } of results) {
      expect(numbers).toHaveLength(count);
      for (const [label, version] of numbers) expect(byLabel.get(label)).toBe(version);
    }
    // The writers interleaved: the labels change process more than once along the numbers.
    const owners = listed.map((v) => v.label?.split(':')[0]);
    expect(owners.filter((o, i) => i > 0 && o !== owners[i - 1]).length).toBeGreaterThanOrEqual(2);
  } finally {
    await store.close();
  }
});
