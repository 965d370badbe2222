/**
 * The deadline lists behind call timeouts (src/core/deadlines.ts): one timer per delay, items due in order,
 * removal from anywhere in a list, and no list or timer kept once its items are gone.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Deadlines, type DueLinks } from '../../../src/core/deadlines.js';

interface Item extends DueLinks {
  name: string;
}

const item = (name: string): Item => ({ name, dueAt: 0, dueList: undefined, duePrevious: undefined, dueNext: undefined });

function setup(): { deadlines: Deadlines<Item>; expired: string[] } {
  vi.useFakeTimers();
  const expired: string[] = [];
  const deadlines = new Deadlines<Item>((due) => expired.push(due.name));
  return { deadlines, expired };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Deadlines', () => {
  it('items of different delays fall due at their own times, with one timer per delay', () => {
    const { deadlines, expired } = setup();
    deadlines.add(item('a100'), 100);
    deadlines.add(item('b50'), 50);
    vi.advanceTimersByTime(10);
    deadlines.add(item('c100'), 100);
    deadlines.add(item('d50'), 50);
    expect(vi.getTimerCount()).toBe(2);
    vi.advanceTimersByTime(40);
    expect(expired).toEqual(['b50']);
    vi.advanceTimersByTime(10);
    expect(expired).toEqual(['b50', 'd50']);
    vi.advanceTimersByTime(40);
    expect(expired).toEqual(['b50', 'd50', 'a100']);
    vi.advanceTimersByTime(10);
    expect(expired).toEqual(['b50', 'd50', 'a100', 'c100']);
    expect(vi.getTimerCount()).toBe(0);
    expect(deadlines.listCount).toBe(0);
  });

  it('removes the first, a middle and the last item, which then never fall due', () => {
    const { deadlines, expired } = setup();
    const items = ['a', 'b', 'c', 'd', 'e'].map(item);
    for (const each of items) {
      deadlines.add(each, 100);
      vi.advanceTimersByTime(1);
    }
    deadlines.remove(items[0]!);
    deadlines.remove(items[2]!);
    deadlines.remove(items[4]!);
    deadlines.remove(items[4]!); // a second time does nothing
    vi.advanceTimersByTime(200);
    expect(expired).toEqual(['b', 'd']);
    expect(items.every((each) => each.dueList === undefined && each.dueNext === undefined && each.duePrevious === undefined)).toBe(true);
  });

  it('an item added from the expiry callback, or to an emptied list, still falls due', () => {
    vi.useFakeTimers();
    const expired: string[] = [];
    const deadlines: Deadlines<Item> = new Deadlines<Item>((due) => {
      expired.push(due.name);
      if (due.name === 'first') deadlines.add(item('again'), 100);
    });
    deadlines.add(item('first'), 100);
    vi.advanceTimersByTime(100);
    expect(expired).toEqual(['first']);
    vi.advanceTimersByTime(100);
    expect(expired).toEqual(['first', 'again']);
    // A list emptied by removal keeps its timer until that fires; an item added meanwhile is not missed.
    const early = item('early');
    deadlines.add(early, 100);
    deadlines.remove(early);
    vi.advanceTimersByTime(60);
    deadlines.add(item('late'), 100);
    vi.advanceTimersByTime(99);
    expect(expired).toEqual(['first', 'again']);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(['first', 'again', 'late']);
    expect(vi.getTimerCount()).toBe(0);
  });
});
