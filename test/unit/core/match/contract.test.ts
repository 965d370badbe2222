/**
 * The MatchIndex contract, run over every implementation. To add an implementation, add one line to
 * IMPLEMENTATIONS: every test below, and the randomized cross-check against the naive reference, then
 * covers it.
 */

import { describe, expect, it } from 'vitest';
import { NaiveMatchIndex } from '../../../../src/core/match/naive.js';
import { TrieMatchIndex } from '../../../../src/core/match/trie.js';
import { WILDCARD, type MatchIndex, type Observation, type Policy } from '../../../../src/core/match/types.js';

type Index = MatchIndex<string, number>;

const IMPLEMENTATIONS: [string, () => Index][] = [
  ['naive', () => new NaiveMatchIndex<string, number>()],
  ['trie', () => new TrieMatchIndex<string, number>()],
];

const POLICIES: Policy[] = ['exact', 'prefix', 'wildcard', 'tail'];
const W = WILDCARD;

/** `'a/+/c'` -> `['a', WILDCARD, 'c']`; written with `/` for readability, whatever the protocol. */
function c(s: string): string[] {
  return s.split('/').map((x) => (x === '+' ? W : x));
}

function keyOf(o: Pick<Observation<unknown, unknown>, 'policy' | 'pattern'>): string {
  return `${o.policy} ${JSON.stringify(o.pattern)}`;
}

function all(index: Index, topic: readonly string[]): string[] {
  const out: Observation<string, number>[] = [];
  index.matchAll(topic, out);
  return out.map(keyOf).sort();
}

function best(index: Index, topic: readonly string[]): string | undefined {
  const o = index.matchBest(topic);
  return o === undefined ? undefined : keyOf(o);
}

/** Does the single (pattern, policy) observation match the topic, per this index? */
function hit(make: () => Index, pattern: readonly string[], policy: Policy, topic: readonly string[]): boolean {
  const index = make();
  index.add(pattern, policy, 'o', 0);
  const matched = all(index, topic).length === 1;
  // matchBest must agree with matchAll on whether there is any match at all.
  expect(index.matchBest(topic) !== undefined).toBe(matched);
  return matched;
}

describe.each(IMPLEMENTATIONS)('MatchIndex contract: %s', (_name, make) => {
  describe('add / remove / lookup / get / size / values', () => {
    it('reports first on the first observer and already on a repeated add, replacing the value', () => {
      const index = make();
      const a = index.add(c('a/b'), 'exact', 'x', 1);
      expect(a).toMatchObject({ first: true, already: false });
      expect(a.observation.observers.get('x')).toBe(1);
      const b = index.add(c('a/b'), 'exact', 'y', 2);
      expect(b).toMatchObject({ first: false, already: false });
      expect(b.observation).toBe(a.observation);
      const again = index.add(c('a/b'), 'exact', 'x', 3);
      expect(again).toMatchObject({ first: false, already: true });
      expect(a.observation.observers.get('x')).toBe(3);
      expect(a.observation.observers.size).toBe(2);
      expect(index.size).toBe(1);
    });

    it('keeps one observation per (pattern, policy): same pattern under another policy is another one', () => {
      const index = make();
      const ids = POLICIES.map((p) => index.add(c('a/b'), p, 'x', 0).observation.id);
      expect(new Set(ids).size).toBe(4);
      expect(index.size).toBe(4);
      for (const p of POLICIES) expect(index.lookup(c('a/b'), p)?.policy).toBe(p);
    });

    it('copies the pattern so the caller may reuse its array', () => {
      const index = make();
      const pattern = c('a/b');
      const { observation } = index.add(pattern, 'exact', 'x', 0);
      pattern[1] = 'z';
      expect(observation.pattern).toEqual(['a', 'b']);
      expect(index.lookup(c('a/b'), 'exact')).toBe(observation);
      expect(all(index, c('a/b'))).toHaveLength(1);
    });

    it('reports last only when the last observer leaves, and then forgets the observation everywhere', () => {
      const index = make();
      const { observation } = index.add(c('a/+'), 'wildcard', 'x', 0);
      index.add(c('a/+'), 'wildcard', 'y', 0);
      expect(index.remove(observation, 'x')).toEqual({ removed: true, last: false });
      expect(index.lookup(c('a/+'), 'wildcard')).toBe(observation);
      expect(index.remove(observation, 'y')).toEqual({ removed: true, last: true });
      expect(index.size).toBe(0);
      expect(index.lookup(c('a/+'), 'wildcard')).toBeUndefined();
      expect(index.get(observation.id)).toBeUndefined();
      expect([...index.values()]).toEqual([]);
      expect(all(index, c('a/b'))).toEqual([]);
      expect(index.matchBest(c('a/b'))).toBeUndefined();
    });

    it('returns removed: false for an observer that is not there, and for a stale observation', () => {
      const index = make();
      const { observation } = index.add(c('a'), 'tail', 'x', 0);
      expect(index.remove(observation, 'nobody')).toEqual({ removed: false, last: false });
      expect(index.size).toBe(1);
      expect(index.remove(observation, 'x')).toEqual({ removed: true, last: true });
      expect(index.remove(observation, 'x')).toEqual({ removed: false, last: false });
      // A stale handle must not disturb the observation that now holds the same (pattern, policy).
      const fresh = index.add(c('a'), 'tail', 'x', 0).observation;
      expect(index.remove(observation, 'x')).toEqual({ removed: false, last: false });
      expect(index.lookup(c('a'), 'tail')).toBe(fresh);
      expect(fresh.observers.has('x')).toBe(true);
    });

    it('returns removed: false for an observation of another index, even one with the same id', () => {
      const index = make();
      const other = make();
      const mine = index.add(c('a'), 'exact', 'x', 0).observation;
      const theirs = other.add(c('b'), 'exact', 'x', 0).observation;
      expect(theirs.id).toBe(mine.id);
      expect(index.remove(theirs, 'x')).toEqual({ removed: false, last: false });
      expect(theirs.observers.has('x')).toBe(true);
      expect(index.get(mine.id)).toBe(mine);
      expect(all(index, c('a'))).toEqual(['exact ["a"]']);
    });

    it('gives ids from 1, unique across remove and re-add, and finds each by get', () => {
      const index = make();
      const a = index.add(c('a'), 'exact', 'x', 0).observation;
      const b = index.add(c('b'), 'exact', 'x', 0).observation;
      expect([a.id, b.id]).toEqual([1, 2]);
      index.remove(b, 'x');
      const b2 = index.add(c('b'), 'exact', 'x', 0).observation;
      expect(b2.id).toBe(3);
      expect(b2).not.toBe(b);
      expect(index.get(1)).toBe(a);
      expect(index.get(2)).toBeUndefined();
      expect(index.get(3)).toBe(b2);
      expect(index.get(0)).toBeUndefined();
    });

    it('lists every observation in values, and sets created', () => {
      const index = make();
      const before = Date.now();
      const a = index.add(c('a'), 'exact', 'x', 0).observation;
      const b = index.add([], 'tail', 'x', 0).observation;
      const d = index.add([], 'prefix', 'x', 0).observation;
      expect(new Set(index.values())).toEqual(new Set([a, b, d]));
      expect(a.created).toBeGreaterThanOrEqual(before);
      expect(a.created).toBeLessThanOrEqual(Date.now());
    });

    it('does not find what was never added', () => {
      const index = make();
      index.add(c('a/b'), 'exact', 'x', 0);
      index.add(c('a/b'), 'prefix', 'x', 0);
      expect(index.lookup(c('a'), 'exact')).toBeUndefined();
      expect(index.lookup(c('a/b/c'), 'exact')).toBeUndefined();
      expect(index.lookup(c('a/b'), 'tail')).toBeUndefined();
      expect(index.lookup(c('a/bb'), 'prefix')).toBeUndefined();
      expect(index.lookup(c('a'), 'prefix')).toBeUndefined();
      expect(index.lookup([], 'prefix')).toBeUndefined();
    });
  });

  describe('matchAll', () => {
    it('appends to out without clearing it', () => {
      const index = make();
      index.add(c('a'), 'exact', 'x', 0);
      const sentinel = index.add(c('z'), 'exact', 'x', 0).observation;
      const out = [sentinel];
      index.matchAll(c('a'), out);
      expect(out.map(keyOf)).toEqual([keyOf(sentinel), 'exact ["a"]']);
    });

    it('returns every matching observation under every policy at once', () => {
      const index = make();
      for (const [p, policy] of [
        ['a/b/c', 'exact'], ['a/b/c', 'wildcard'], ['a/+/c', 'wildcard'], ['+/+/+', 'wildcard'],
        ['a/b', 'tail'], ['a', 'tail'], ['+', 'tail'], ['a/b/c', 'tail'], ['a/b', 'prefix'], ['a/b/', 'prefix'],
        ['a/b/c/d', 'tail'], ['a/b', 'exact'], ['a/+', 'wildcard'], ['a/c', 'prefix'],
      ] as const) {
        index.add(c(p), policy, 'x', 0);
      }
      index.add([], 'tail', 'x', 0);
      expect(all(index, c('a/b/c'))).toEqual([
        'exact ["a","b","c"]',
        'prefix ["a","b"]',
        'prefix ["a","b",""]',
        'tail []',
        'tail ["\\u0000"]',
        'tail ["a"]',
        'tail ["a","b"]',
        'tail ["a","b","c"]',
        'wildcard ["\\u0000","\\u0000","\\u0000"]',
        'wildcard ["a","\\u0000","c"]',
        'wildcard ["a","b","c"]',
      ].sort());
    });
  });

  describe('exact', () => {
    it.each([
      [['a', 'b'], ['a', 'b'], true],
      [['a', 'b'], ['a'], false],
      [['a', 'b'], ['a', 'b', 'c'], false],
      [['a', 'b'], ['a', 'c'], false],
      [[], [], true],
      [[], [''], false],
      [[''], [''], true],
      [['a', ''], ['a', 'x'], false],
      [['$SYS', 'x'], ['$SYS', 'x'], true],
    ])('%j matches %j: %s', (pattern, topic, expected) => {
      expect(hit(make, pattern, 'exact', topic)).toBe(expected);
    });
  });

  describe('wildcard', () => {
    it.each([
      [['a', W], ['a', 'b'], true],
      [['a', W], ['a', ''], true],
      [['a', W], ['a'], false],
      [['a', W], ['a', 'b', 'c'], false],
      [[W, 'b'], ['a', 'b'], true],
      [[W, 'b'], ['a', 'c'], false],
      [[W, W], ['x', 'y'], true],
      [[W], [''], true],
      [[], [], true],
      [[], ['a'], false],
      [['a', 'b'], ['a', 'b'], true],
    ])('%j matches %j: %s', (pattern, topic, expected) => {
      expect(hit(make, pattern, 'wildcard', topic)).toBe(expected);
    });
  });

  describe('literal empty components are not wildcards', () => {
    it.each(POLICIES)('%s: an empty component matches only an empty component', (policy) => {
      expect(hit(make, ['a', '', 'c'], policy, ['a', 'b', 'c'])).toBe(false);
      expect(hit(make, ['a', '', 'c'], policy, ['a', '', 'c'])).toBe(true);
    });

    it('a wildcard and a literal empty component at the same place are separate observations', () => {
      const index = make();
      const literal = index.add(['a', ''], 'wildcard', 'x', 0).observation;
      const wild = index.add(['a', W], 'wildcard', 'x', 0).observation;
      expect(literal).not.toBe(wild);
      expect(all(index, ['a', 'b'])).toEqual([keyOf(wild)]);
      expect(all(index, ['a', ''])).toEqual([keyOf(literal), keyOf(wild)].sort());
      index.remove(wild, 'x');
      expect(all(index, ['a', 'b'])).toEqual([]);
      expect(all(index, ['a', ''])).toEqual([keyOf(literal)]);
    });
  });

  describe('tail', () => {
    it.each([
      [['a'], ['a'], true], // the parent: MQTT `a/#` matches `a`
      [['a'], ['a', 'b'], true],
      [['a'], ['a', 'b', 'c'], true],
      [['a'], ['b'], false],
      [['a'], [], false],
      [['a', 'b'], ['a'], false],
      [['a', 'b'], ['a', 'b'], true],
      [['a', 'b'], ['a', 'bb'], false],
      [['a', 'b'], ['a', 'c', 'b'], false],
      [[W], ['x'], true],
      [[W], [], false],
      [['a', W], ['a'], false], // `a/+/#` needs the `+` level
      [['a', W], ['a', 'b'], true],
      [['a', W, 'c'], ['a', 'b', 'c', 'd'], true],
      [['a', W, 'c'], ['a', 'b', 'd'], false],
      [[], [], true],
      [[], ['a'], true],
      [[], ['a', 'b', 'c'], true],
      [[], [''], true],
    ])('%j matches %j: %s', (pattern, topic, expected) => {
      expect(hit(make, pattern, 'tail', topic)).toBe(expected);
    });
  });

  describe('prefix', () => {
    it.each([
      [['a', 'b', 'emergency'], ['a', 'b', 'emergency'], true],
      [['a', 'b', 'emergency'], ['a', 'b', 'emergency-low'], true],
      [['a', 'b', 'emergency'], ['a', 'b', 'emergency', 'x'], true],
      [['a', 'b', 'emergency'], ['a', 'b', 'emergency-low', 'x', 'y'], true],
      [['a', 'b', 'emergency'], ['a', 'b', 'emerg'], false],
      [['a', 'b', 'emergency'], ['a', 'b'], false],
      [['a', 'b', 'emergency'], ['a', 'c', 'emergency'], false],
      [['a', 'b', 'emergency'], ['a', 'bb', 'emergency'], false], // only the last component is a string prefix
      [['a', 'b', 'emergency'], ['x', 'a', 'b', 'emergency'], false],
      [['a', ''], ['a', 'x'], true], // `a.` : everything one level under `a`
      [['a', ''], ['a', ''], true],
      [['a', ''], ['a'], false],
      [['a'], ['ab', 'c'], true],
      [[''], ['anything', 'at', 'all'], true],
      [[''], [], false],
      [[], [], false], // no last component to compare: matches nothing
      [[], ['a'], false],
    ])('%j matches %j: %s', (pattern, topic, expected) => {
      expect(hit(make, pattern, 'prefix', topic)).toBe(expected);
    });

    it('keeps several prefixes of one parent apart', () => {
      const index = make();
      for (const last of ['', 'e', 'em', 'emergency', 'x']) index.add(['a', last], 'prefix', 'o', 0);
      expect(all(index, ['a', 'emerg'])).toEqual(['prefix ["a",""]', 'prefix ["a","e"]', 'prefix ["a","em"]']);
      expect(best(index, ['a', 'emerg'])).toBe('prefix ["a","em"]');
      expect(best(index, ['a', 'emergency', 'z'])).toBe('prefix ["a","emergency"]');
    });
  });

  describe('[MQTT-4.7.2-1] topics starting with $', () => {
    it.each([
      [[W], 'wildcard', ['$SYS'], false],
      [[W, 'x'], 'wildcard', ['$SYS', 'x'], false],
      [[W, 'x'], 'wildcard', ['a$', 'x'], true], // only a leading `$` counts
      [['$SYS', W], 'wildcard', ['$SYS', 'x'], true],
      [['a', W], 'wildcard', ['a', '$x'], true], // only the first component counts
      [[], 'tail', ['$SYS'], false],
      [[], 'tail', ['$SYS', 'a', 'b'], false],
      [[], 'tail', ['$'], false],
      [[W], 'tail', ['$SYS', 'a'], false],
      [[W, 'a'], 'tail', ['$SYS', 'a'], false],
      [['$SYS'], 'tail', ['$SYS'], true],
      [['$SYS'], 'tail', ['$SYS', 'broker', 'load'], true],
      [['$SYS', W], 'tail', ['$SYS', 'x', 'y'], true],
      [[], 'tail', ['a', '$x'], true],
      [[''], 'prefix', ['$SYS'], false],
      [['$'], 'prefix', ['$SYS'], false], // root prefix: barred even when it names the `$`
      [['$SYS'], 'prefix', ['$SYS', 'x'], false],
      [['$SYS', ''], 'prefix', ['$SYS', 'x'], true],
      [['$SYS', 'br'], 'prefix', ['$SYS', 'broker'], true],
      [[''], 'prefix', ['a', '$x'], true],
      [['$SYS'], 'exact', ['$SYS'], true],
      [['$SYS', 'x'], 'exact', ['$SYS', 'x'], true],
    ] as [string[], Policy, string[], boolean][])('%j %s matches %j: %s', (pattern, policy, topic, expected) => {
      expect(hit(make, pattern, policy, topic)).toBe(expected);
    });

    it('matchAll and matchBest both skip the barred patterns among others', () => {
      const index = make();
      index.add([], 'tail', 'o', 0);
      index.add([W, 'a'], 'wildcard', 'o', 0);
      index.add([''], 'prefix', 'o', 0);
      const named = index.add(['$SYS'], 'tail', 'o', 0).observation;
      expect(all(index, ['$SYS', 'a'])).toEqual([keyOf(named)]);
      expect(index.matchBest(['$SYS', 'a'])).toBe(named);
      expect(all(index, ['x', 'a'])).toHaveLength(3);
    });
  });

  describe('matchBest', () => {
    /** Adds the patterns in order (so earlier ones are older) and returns the key of the best for the topic. */
    function bestOf(entries: [string[], Policy][], topic: string[]): string | undefined {
      const index = make();
      for (const [pattern, policy] of entries) index.add(pattern, policy, 'o', 0);
      const chosen = best(index, topic);
      // Insertion order must not matter, other than through the tie on age.
      const reversed = make();
      for (const [pattern, policy] of [...entries].reverse()) reversed.add(pattern, policy, 'o', 0);
      const distinctRanks = !entries.some(([p, pol], i) => entries.some(([q, qol], j) => i !== j && tied(p, pol, q, qol)));
      if (distinctRanks) expect(best(reversed, topic)).toBe(chosen);
      return chosen;
    }

    /** The same rank under the rules, so age decides: used only to skip the order-independence check. */
    function tied(p: string[], pp: Policy, q: string[], qp: Policy): boolean {
      const lit = (x: string[]): number => x.filter((y) => y !== W).reduce((n, y) => n + y.length, 0);
      const group = (x: Policy): number => (x === 'exact' ? 0 : x === 'wildcard' ? 2 : 1);
      if (group(pp) !== group(qp)) return false;
      if (group(pp) === 1) return lit(p) === lit(q);
      if (group(pp) === 2) return p.every((x, i) => (x === W) === (q[i] === W));
      return true;
    }

    it('returns undefined when nothing matches', () => {
      expect(bestOf([[['a'], 'exact']], ['b'])).toBeUndefined();
    });

    it('puts exact first, even against longer prefixes and tails', () => {
      expect(bestOf([
        [['a', 'b', 'c'], 'tail'],
        [['a', 'b', 'c'], 'prefix'],
        [['a', 'b', 'c'], 'wildcard'],
        [['a', 'b', 'c'], 'exact'],
      ], ['a', 'b', 'c'])).toBe('exact ["a","b","c"]');
    });

    it('puts prefix and tail before wildcard, even a wildcard with more literal characters', () => {
      expect(bestOf([
        [['aaaa', 'bbbb', 'cccc'], 'wildcard'],
        [['a'], 'prefix'],
      ], ['aaaa', 'bbbb', 'cccc'])).toBe('prefix ["a"]');
      expect(bestOf([
        [['aaaa', 'bbbb', 'cccc'], 'wildcard'],
        [[], 'tail'],
      ], ['aaaa', 'bbbb', 'cccc'])).toBe('tail []');
    });

    it('ranks prefix and tail together by literal characters, more first', () => {
      expect(bestOf([
        [['a', 'b'], 'prefix'],
        [['a', 'bc'], 'prefix'],
      ], ['a', 'bcd'])).toBe('prefix ["a","bc"]');
      expect(bestOf([
        [['a'], 'prefix'],
        [['a', 'b'], 'tail'],
      ], ['a', 'b', 'c'])).toBe('tail ["a","b"]');
      expect(bestOf([
        [['ab', 'cd'], 'tail'],
        [['ab', 'c'], 'prefix'],
      ], ['ab', 'cd', 'e'])).toBe('tail ["ab","cd"]');
      expect(bestOf([
        [['a'], 'prefix'],
        [['a', 'b'], 'tail'],
        [['a', 'bcd'], 'prefix'],
        [['a'], 'tail'],
        [[''], 'prefix'],
        [[], 'tail'],
      ], ['a', 'bcde'])).toBe('prefix ["a","bcd"]');
    });

    it('counts characters, not components, and only the literal ones of a tail that holds wildcards', () => {
      // The tail has more components, the prefix more literal characters (1 against 5).
      expect(bestOf([
        [[W, W, 'c'], 'tail'],
        [['aaa', 'bb'], 'prefix'],
      ], ['aaa', 'bb', 'c'])).toBe('prefix ["aaa","bb"]');
      // `+/bbb/#` has 3 literal characters, `a/#` 1, `aaaa/#` 4.
      expect(bestOf([
        [['a'], 'tail'],
        [[W, 'bbb'], 'tail'],
      ], ['a', 'bbb', 'c'])).toBe('tail ["\\u0000","bbb"]');
      expect(bestOf([
        [['aaaa'], 'tail'],
        [[W, 'bbb'], 'tail'],
      ], ['aaaa', 'bbb', 'c'])).toBe('tail ["aaaa"]');
      expect(bestOf([
        [['aaaa'], 'prefix'],
        [[W, W, W, 'bbbbb'], 'tail'],
      ], ['aaaa', 'x', 'y', 'bbbbb'])).toBe('tail ["\\u0000","\\u0000","\\u0000","bbbbb"]');
    });

    it('ranks wildcards by the first position where one is literal and the other is not', () => {
      expect(bestOf([
        [[W, 'b', 'c'], 'wildcard'],
        [['a', W, W], 'wildcard'],
      ], ['a', 'b', 'c'])).toBe('wildcard ["a","\\u0000","\\u0000"]');
      expect(bestOf([
        [['a', W, 'c'], 'wildcard'],
        [['a', 'b', W], 'wildcard'],
      ], ['a', 'b', 'c'])).toBe('wildcard ["a","b","\\u0000"]');
      expect(bestOf([
        [[W, W, W], 'wildcard'],
        [[W, W, 'c'], 'wildcard'],
        [[W, 'b', W], 'wildcard'],
      ], ['a', 'b', 'c'])).toBe('wildcard ["\\u0000","b","\\u0000"]');
      // Literal empty components are literals here too.
      expect(bestOf([
        [[W, ''], 'wildcard'],
        [['', W], 'wildcard'],
      ], ['', ''])).toBe('wildcard ["","\\u0000"]');
    });

    it('breaks ties by age: the older observation, and a re-added one becomes the younger', () => {
      const index = make();
      const tail = index.add(['a', 'b'], 'tail', 'o', 0).observation; // 2 literal characters
      const prefix = index.add(['a', 'b'], 'prefix', 'o', 0).observation; // 2 as well
      expect(index.matchBest(['a', 'b', 'c'])).toBe(tail);
      index.remove(tail, 'o');
      const tail2 = index.add(['a', 'b'], 'tail', 'o', 0).observation;
      expect(index.matchBest(['a', 'b', 'c'])).toBe(prefix);
      index.remove(prefix, 'o');
      expect(index.matchBest(['a', 'b', 'c'])).toBe(tail2);

      const wild = make();
      const first = wild.add([W, 'b'], 'wildcard', 'o', 0).observation;
      wild.add([W, 'c'], 'wildcard', 'o', 0);
      expect(wild.matchBest(['a', 'b'])).toBe(first);
      const older = wild.add(['a', W], 'tail', 'o', 0).observation; // tails beat wildcards whatever their age
      expect(wild.matchBest(['a', 'b'])).toBe(older);
    });

    it('agrees with matchAll: the best is always one of the matches', () => {
      const index = make();
      index.add(['a', W], 'wildcard', 'o', 0);
      index.add(['a'], 'tail', 'o', 0);
      const out: Observation<string, number>[] = [];
      index.matchAll(['a', 'b'], out);
      expect(out).toContain(index.matchBest(['a', 'b']));
    });
  });

  describe('randomized cross-check against the naive reference', () => {
    it.each([1, 2, 3, 42, 2024])('seed %i', (seed) => {
      crossCheck(make(), seed);
    });
  });
});

describe('TrieMatchIndex pruning', () => {
  it('removes nodes left empty, and keeps nodes still in use', () => {
    const index = new TrieMatchIndex<string, number>();
    const deep = index.add(['a', 'b', 'c', 'd'], 'exact', 'o', 0).observation;
    const mid = index.add(['a', 'b'], 'tail', 'o', 0).observation;
    const wild = index.add(['a', W, 'c'], 'wildcard', 'o', 0).observation;
    const prefix = index.add(['a', 'b', 'c', 'x'], 'prefix', 'o', 0).observation;
    const root = index.add([], 'prefix', 'o', 0).observation;
    expect(index.nodeCount()).toBe(1 + 4 + 2); // root, a/b/c/d, a/+/c
    index.remove(deep, 'o');
    expect(index.nodeCount()).toBe(1 + 3 + 2); // a/b/c stays for the prefix
    index.remove(prefix, 'o');
    expect(index.nodeCount()).toBe(1 + 2 + 2);
    index.remove(wild, 'o');
    expect(index.nodeCount()).toBe(1 + 2);
    index.remove(mid, 'o');
    index.remove(root, 'o');
    expect(index.nodeCount()).toBe(1);
    expect(index.size).toBe(0);
  });
});

// ---- randomized cross-check ----

/** mulberry32: a tiny seeded PRNG, so a failure replays exactly. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// `ab` and `$` let `startsWith` succeed without equality; WILDCARD in topics checks that exact and prefix
// take it literally in both implementations.
const ALPHABET = ['a', 'b', 'c', '', '$x', 'ab', '$', W];
const OBSERVERS = ['o1', 'o2', 'o3'];

function crossCheck(subject: Index, seed: number): void {
  const random = prng(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const components = (n: number): string[] => Array.from({ length: n }, () => pick(ALPHABET));
  const reference = new NaiveMatchIndex<string, number>();
  const bestPolicies = new Set<Policy>();
  let nonEmptyMatches = 0;

  /** Random topics rarely hit random patterns, so half the topics are grown from a stored pattern. */
  function topicNear(): string[] {
    const stored = [...reference.values()];
    if (stored.length === 0 || random() < 0.5) return components(int(6));
    const base = pick(stored).pattern.map((x) => (x === W ? pick(ALPHABET) : x));
    const r = random();
    if (r < 0.3 && base.length > 0) base[base.length - 1] += pick(['a', 'b', 'x']);
    else if (r < 0.6) base.push(...components(1 + int(2)));
    else if (r < 0.7) base.pop();
    return base;
  }

  function compare(topic: string[], context: string): void {
    const expected = all(reference, topic);
    expect(all(subject, topic), context).toEqual(expected);
    const expectedBest = reference.matchBest(topic);
    const actualBest = subject.matchBest(topic);
    expect(actualBest && keyOf(actualBest), context).toBe(expectedBest && keyOf(expectedBest));
    expect(actualBest?.id, context).toBe(expectedBest?.id);
    if (expected.length > 0) nonEmptyMatches++;
    if (expectedBest) bestPolicies.add(expectedBest.policy);
  }

  for (let step = 0; step < 600; step++) {
    const context = `seed ${seed} step ${step}`;
    if (reference.size > 0 && random() < 0.4) {
      const target = pick([...reference.values()]);
      const observer = pick(OBSERVERS);
      const theirs = subject.lookup(target.pattern, target.policy);
      expect(theirs?.id, context).toBe(target.id);
      expect(subject.remove(theirs as Observation<string, number>, observer), context)
        .toEqual(reference.remove(target, observer));
    } else {
      const pattern = components(int(5));
      const policy = pick(POLICIES);
      const observer = pick(OBSERVERS);
      const want = reference.add(pattern, policy, observer, step);
      const got = subject.add(pattern, policy, observer, step);
      expect({ ...got, observation: got.observation.id }, context)
        .toEqual({ ...want, observation: want.observation.id });
    }
    expect(subject.size, context).toBe(reference.size);
    for (let k = 0; k < 4; k++) compare(topicNear(), context);
  }
  expect(new Set([...subject.values()].map(keyOf))).toEqual(new Set([...reference.values()].map(keyOf)));

  // Drain everything: lookups must agree to the end, and then nothing may match.
  for (const o of [...reference.values()]) {
    const theirs = subject.lookup(o.pattern, o.policy) as Observation<string, number>;
    for (const observer of [...o.observers.keys()]) subject.remove(theirs, observer);
  }
  expect(subject.size).toBe(0);
  expect(all(subject, ['a'])).toEqual([]);
  if (subject instanceof TrieMatchIndex) expect(subject.nodeCount()).toBe(1);

  // Guard the guard: a run that never matched anything would prove nothing.
  expect(nonEmptyMatches).toBeGreaterThan(300);
  expect(bestPolicies).toEqual(new Set(POLICIES));
}
