import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { liveOutput, plainOutput, wantsLiveView } from '../../src/cli/live-output.ts';
import { Screen } from '../support/screen.ts';

// The I/O part of the live view, with the real log-update writing to a stream that says it is
// an 80x24 terminal; what it wrote is played on a small terminal (./screen.ts) to see what a
// person would see. Timers are faked, so redraws are counted exactly.

/** A writable that claims to be a terminal and keeps what was written. */
function fakeTerminal(): { stream: NodeJS.WriteStream; written: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: true, columns: 80, rows: 24 });
  return { stream, written: () => text };
}

describe('wantsLiveView', () => {
  const terminal = { isTTY: true, columns: 80, rows: 24, json: false, live: true, env: { TERM: 'xterm' } };

  it('is on for a person at a sized terminal', () => {
    expect(wantsLiveView(terminal)).toBe(true);
    expect(wantsLiveView({ ...terminal, env: { CI: 'false' } })).toBe(true);
    expect(wantsLiveView({ ...terminal, env: { CI: '0' } })).toBe(true);
  });

  it('is off for a pipe, JSON, --no-live, CI, a dumb terminal, or a terminal that reports no size', () => {
    expect(wantsLiveView({ ...terminal, isTTY: undefined })).toBe(false);
    expect(wantsLiveView({ ...terminal, json: true })).toBe(false);
    expect(wantsLiveView({ ...terminal, live: false })).toBe(false);
    expect(wantsLiveView({ ...terminal, env: { CI: 'true' } })).toBe(false);
    expect(wantsLiveView({ ...terminal, env: { CI: '1' } })).toBe(false);
    expect(wantsLiveView({ ...terminal, env: { TERM: 'dumb' } })).toBe(false);
    expect(wantsLiveView({ ...terminal, columns: 0, rows: 0 })).toBe(false);
  });
});

describe('plainOutput', () => {
  it('writes each line as it is, and holds nothing', () => {
    const { stream, written } = fakeTerminal();
    const out = plainOutput(stream);
    const release = out.hold();
    out.lines(['one', 'two']);
    release();
    out.close();
    out.lines(['three']);
    expect(written()).toBe('one\ntwo\nthree\n');
  });
});

describe('liveOutput', () => {
  let now = 0;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 1_000_000;
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const advance = (ms: number) => {
    now += ms;
    vi.advanceTimersByTime(ms);
  };

  it('keeps the block at the bottom, below lines written byte for byte, and ends without it', async () => {
    const { stream, written } = fakeTerminal();
    let frame = '── block 1';
    const out = await liveOutput(stream, { frame: () => frame, now: () => now });
    advance(100);
    out.lines(['first line', 'second line']);
    advance(100);
    expect(new Screen(80).write(written()).lines()).toEqual(['first line', 'second line', '── block 1']);
    frame = '── block 2\n  ▸ a node';
    advance(100);
    out.lines(['third line']);
    advance(100);
    expect(new Screen(80).write(written()).lines()).toEqual([
      'first line',
      'second line',
      'third line',
      '── block 2',
      '  ▸ a node',
    ]);
    out.close();
    out.lines(['after the end']);
    expect(new Screen(80).write(written()).lines()).toEqual([
      'first line',
      'second line',
      'third line',
      'after the end',
    ]);
    // Long lines are not cut by the live output: the terminal wraps them, as it does plain lines.
    expect(written()).toContain('third line\n');
  });

  it('draws at most once per interval, however many lines come', async () => {
    const { stream } = fakeTerminal();
    let frames = 0;
    const out = await liveOutput(stream, {
      frame: () => {
        frames++;
        return '── block';
      },
      now: () => now,
      intervalMs: 100,
    });
    advance(100);
    const before = frames;
    // A burst: 50 lines within 50 ms.
    for (let i = 0; i < 50; i++) {
      out.lines([`line ${i}`]);
      advance(1);
    }
    advance(50);
    // One timer tick and at most one redraw after lines, in 100 ms: never one per line.
    expect(frames - before).toBeLessThanOrEqual(2);
    out.close();
  });

  it('takes the block down and holds lines while a prompt is open', async () => {
    const { stream, written } = fakeTerminal();
    const out = await liveOutput(stream, { frame: () => '── block', now: () => now });
    out.lines(['before']);
    advance(100);
    const release = out.hold();
    expect(new Screen(80).write(written()).lines()).toEqual(['before']);
    // What the prompt writes is alone on the screen: no redraw, no line in between.
    stream.write('    approve? [y/N] ');
    out.lines(['during the prompt']);
    advance(500);
    expect(new Screen(80).write(written()).lines()).toEqual(['before', '    approve? [y/N]']);
    stream.write('y\n');
    release();
    expect(new Screen(80).write(written()).lines()).toEqual([
      'before',
      '    approve? [y/N] y',
      'during the prompt',
      '── block',
    ]);
    out.close();
  });

  it('goes on with lines when a frame cannot be drawn', async () => {
    const { stream, written } = fakeTerminal();
    let fail = false;
    const out = await liveOutput(stream, {
      frame: () => {
        if (fail) throw new Error('a bug in the block');
        return '── block';
      },
      now: () => now,
    });
    advance(100);
    fail = true;
    out.lines(['a line']);
    advance(300);
    fail = false;
    out.lines(['another line']);
    advance(300);
    expect(new Screen(80).write(written()).lines()).toEqual(['a line', 'another line']);
    out.close();
  });

  it('draws nothing while the frame is empty, and removes a block whose frame became empty', async () => {
    const { stream, written } = fakeTerminal();
    let frame = '';
    const out = await liveOutput(stream, { frame: () => frame, now: () => now });
    advance(300);
    expect(written()).toBe('');
    frame = '── block';
    advance(100);
    expect(new Screen(80).write(written()).lines()).toEqual(['── block']);
    frame = '';
    advance(100);
    expect(new Screen(80).write(written()).lines()).toEqual([]);
    out.close();
  });
});
