import { describe, expect, it } from 'vitest';
import { compareForBest, literalChars, matches, startsWithDollar } from '../../../../src/core/match/matches.js';
import { WILDCARD as W, type Observation, type Policy } from '../../../../src/core/match/types.js';

type Case = [pattern: string[], topic: string[], expected: boolean];

describe('matches', () => {
  describe('exact', () => {
    it.each<Case>([
      [['a', 'b'], ['a', 'b'], true],
      [['a', 'b'], ['a', 'b', 'c'], false],
      [['a', 'b'], ['a'], false],
      [['a', 'b'], ['b', 'a'], false],
      [[], [], true],
      [[], [''], false],
      [[''], [''], true],
      [[''], ['a'], false],
      [[W], ['a'], false], // a wildcard means nothing to exact
      [[W], [W], true],
    ])('%j ~ %j: %s', (pattern, topic, expected) => {
      expect(matches(pattern, 'exact', topic)).toBe(expected);
    });
  });

  describe('wildcard', () => {
    it.each<Case>([
      [['a', W, 'c'], ['a', 'b', 'c'], true],
      [['a', W, 'c'], ['a', '', 'c'], true],
      [['a', W, 'c'], ['a', 'b', 'd'], false],
      [['a', W, 'c'], ['a', 'b'], false],
      [['a', W, 'c'], ['a', 'b', 'c', 'd'], false],
      [['a', '', 'c'], ['a', 'b', 'c'], false], // empty is a literal
      [['a', '', 'c'], ['a', '', 'c'], true],
      [[W], ['x'], true],
      [[W], [], false],
      [[], [], true],
      [[W], ['$x'], false],
      [['$x', W], ['$x', 'y'], true],
    ])('%j ~ %j: %s', (pattern, topic, expected) => {
      expect(matches(pattern, 'wildcard', topic)).toBe(expected);
    });
  });

  describe('tail', () => {
    it.each<Case>([
      [['a'], ['a'], true],
      [['a'], ['a', 'b'], true],
      [['a'], ['a', 'b', 'c'], true],
      [['a'], [], false],
      [['a'], ['b'], false],
      [['a', 'b'], ['a'], false],
      [['a', W], ['a'], false],
      [['a', W], ['a', 'x', 'y'], true],
      [[''], [''], true],
      [[''], ['a'], false],
      [[], [], true],
      [[], ['a', 'b'], true],
      [[], ['$x'], false],
      [[], ['$x', 'a'], false],
      [[W], ['$x'], false],
      [['$x'], ['$x', 'a'], true],
      [[], ['a', '$x'], true],
    ])('%j ~ %j: %s', (pattern, topic, expected) => {
      expect(matches(pattern, 'tail', topic)).toBe(expected);
    });
  });

  describe('prefix', () => {
    it.each<Case>([
      [['a', 'b', 'emergency'], ['a', 'b', 'emergency-low'], true],
      [['a', 'b', 'emergency'], ['a', 'b', 'emergency', 'x'], true],
      [['a', 'b', 'emergency'], ['a', 'b', 'emergency'], true],
      [['a', 'b', 'emergency'], ['a', 'b', 'emerg'], false],
      [['a', 'b', 'emergency'], ['a', 'b'], false],
      [['a', 'b', 'emergency'], ['a', 'bb', 'emergency'], false],
      [['a', ''], ['a', 'anything'], true],
      [['a', ''], ['a'], false],
      [[''], ['x'], true],
      [[''], [], false],
      [[''], ['$x'], false], // root-level prefix [MQTT-4.7.2-1]
      [['$'], ['$x'], false],
      [['$x', ''], ['$x', 'y'], true],
      [[], [], false],
      [[], ['a'], false],
      [['a', W], ['a', 'b'], false], // a wildcard means nothing to prefix
    ])('%j ~ %j: %s', (pattern, topic, expected) => {
      expect(matches(pattern, 'prefix', topic)).toBe(expected);
    });
  });
});

describe('startsWithDollar', () => {
  it('looks at the first component only', () => {
    expect(startsWithDollar(['$SYS'])).toBe(true);
    expect(startsWithDollar(['$'])).toBe(true);
    expect(startsWithDollar(['a', '$SYS'])).toBe(false);
    expect(startsWithDollar(['a$'])).toBe(false);
    expect(startsWithDollar([''])).toBe(false);
    expect(startsWithDollar([])).toBe(false);
  });
});

describe('literalChars', () => {
  it('sums the non-wildcard component lengths', () => {
    expect(literalChars([])).toBe(0);
    expect(literalChars(['ab', W, 'c'])).toBe(3);
    expect(literalChars([W, W])).toBe(0);
    expect(literalChars(['', ''])).toBe(0);
  });
});

describe('compareForBest', () => {
  let id = 0;
  const o = (policy: Policy, pattern: string[], at = ++id): Observation<string, number> =>
    ({ id: at, pattern, policy, observers: new Map<string, number>(), created: 0 });
  const better = (a: Observation<string, number>, b: Observation<string, number>): void => {
    expect(compareForBest(a, b)).toBeLessThan(0);
    expect(compareForBest(b, a)).toBeGreaterThan(0);
  };

  it('puts exact before prefix and tail, and those before wildcard', () => {
    better(o('exact', ['a'], 9), o('prefix', ['a', 'b', 'c'], 1));
    better(o('exact', ['a'], 9), o('tail', ['a', 'b', 'c'], 1));
    better(o('tail', [], 9), o('wildcard', ['aaa', 'bbb'], 1));
    better(o('prefix', [''], 9), o('wildcard', ['aaa', 'bbb'], 1));
  });

  it('ranks prefix and tail together by literal characters', () => {
    better(o('prefix', ['a', 'bcd'], 9), o('tail', ['a', 'b'], 1));
    better(o('tail', ['a', 'bcd'], 9), o('prefix', ['a', 'b'], 1));
    better(o('prefix', ['aaaa'], 9), o('tail', [W, W, 'bbb'], 1));
  });

  it('ranks wildcards by the first position where only one is literal', () => {
    better(o('wildcard', ['a', W, W], 9), o('wildcard', [W, 'b', 'c'], 1));
    better(o('wildcard', ['a', 'b', W], 9), o('wildcard', ['a', W, 'c'], 1));
    better(o('wildcard', ['', W], 9), o('wildcard', [W, ''], 1));
  });

  it('breaks ties by the lower id', () => {
    better(o('tail', ['a', 'b'], 1), o('prefix', ['a', 'b'], 2));
    better(o('prefix', ['a', 'b'], 1), o('tail', ['a', 'b'], 2));
    better(o('wildcard', ['a', W], 1), o('wildcard', ['a', W], 2));
    better(o('tail', [W, 'ab'], 1), o('tail', ['ab', W], 2));
    expect(compareForBest(o('exact', ['a'], 5), o('exact', ['a'], 5))).toBe(0);
  });
});
