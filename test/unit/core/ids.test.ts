import { describe, expect, it } from 'vitest';
import { IdSequence, isValidId, MAX_ID, randomId } from '../../../src/core/ids.js';

describe('MAX_ID', () => {
  it('is 2^53 - 1', () => {
    expect(MAX_ID).toBe(2 ** 53 - 1);
  });
});

describe('randomId', () => {
  // Several pools' worth (the pool holds 512 ids), so that refills are exercised too.
  const DRAWS = 50_000;
  const ids = Array.from({ length: DRAWS }, () => randomId());

  it('draws integers in [1, 2^53 - 1]', () => {
    // One expectation over all draws keeps this fast; the offenders, if any, are listed.
    const bad = ids.filter((id) => !(Number.isInteger(id) && Number.isSafeInteger(id) && id >= 1 && id <= MAX_ID && isValidId(id)));
    expect(bad).toEqual([]);
  });

  it('uses the whole range: high ids appear, and ids are not confined to 32 bits', () => {
    // Half of all draws are >= 2^52; with 50000 draws, missing them all is impossible in practice.
    expect(ids.some((id) => id >= 2 ** 52)).toBe(true);
    expect(ids.filter((id) => id > 2 ** 32).length).toBeGreaterThan(DRAWS * 0.99);
    // Both parities: the low 32 bits are random too.
    expect(ids.some((id) => id % 2 === 0)).toBe(true);
    expect(ids.some((id) => id % 2 === 1)).toBe(true);
  });

  it('does not repeat itself', () => {
    expect(new Set(ids).size).toBe(DRAWS);
  });
});

describe('IdSequence', () => {
  it('starts at 1 and counts up by one', () => {
    const sequence = new IdSequence();
    expect([sequence.next(), sequence.next(), sequence.next()]).toEqual([1, 2, 3]);
  });

  it('sequences are independent of each other', () => {
    const a = new IdSequence();
    const b = new IdSequence();
    a.next();
    a.next();
    expect(b.next()).toBe(1);
    expect(a.next()).toBe(3);
  });

  it('reaches 2^53 - 1 and then wraps to 1, never 0 and never past the top', () => {
    const sequence = new IdSequence();
    // Counting to 2^53 is not an option: start near the top through the private counter.
    (sequence as unknown as { last: number }).last = MAX_ID - 2;
    expect(sequence.next()).toBe(MAX_ID - 1);
    expect(sequence.next()).toBe(MAX_ID);
    expect(sequence.next()).toBe(1);
    expect(sequence.next()).toBe(2);
  });
});

describe('isValidId', () => {
  it.each<[unknown, boolean]>([
    [1, true],
    [2, true],
    [2 ** 32, true],
    [MAX_ID, true],
    [0, false],
    [-1, false],
    [-0, false],
    [2 ** 53, false],
    [2 ** 53 + 2, false],
    [1.5, false],
    [0.5, false],
    [Number.NaN, false],
    [Number.POSITIVE_INFINITY, false],
    ['1', false],
    [1n, false],
    [null, false],
    [undefined, false],
    [[1], false],
    [{}, false],
    [true, false],
  ])('%s -> %s', (value, expected) => {
    expect(isValidId(value)).toBe(expected);
  });
});
