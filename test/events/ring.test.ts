import { describe, expect, it } from 'vitest';
import { RingQueue } from '../../src/events/ring.ts';

describe('RingQueue', () => {
  it('is FIFO across wrap-around and growth', () => {
    const queue = new RingQueue<number>();
    const expected: number[] = [];
    const got: number[] = [];
    let next = 0;
    // Interleave pushes and shifts so the head wraps before and after each doubling.
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < (round % 9) + 1; i++) {
        queue.push(next);
        expected.push(next++);
      }
      for (let i = 0; i < (round % 5) + 1 && queue.size > 0; i++) got.push(queue.shift() as number);
    }
    while (queue.size > 0) got.push(queue.shift() as number);
    expect(got).toEqual(expected);
    expect(queue.shift()).toBeUndefined();
  });

  it('clear() empties it and it keeps working', () => {
    const queue = new RingQueue<string>(100);
    for (let i = 0; i < 150; i++) queue.push(`x${i}`);
    queue.clear();
    expect(queue.size).toBe(0);
    queue.push('a');
    queue.push('b');
    expect([queue.shift(), queue.shift(), queue.shift()]).toEqual(['a', 'b', undefined]);
  });
});
