/**
 * The matching rules as pure functions. The naive index is built on them directly and the trie must
 * agree with them, so they are the single statement of what "matches" and "best" mean.
 */

import { WILDCARD, type Observation, type Policy } from './types.js';

/**
 * Whether `pattern` under `policy` matches `topic`. `WILDCARD` is special only to `wildcard` and `tail`;
 * `exact` and `prefix` compare it like any other string, and a literal `''` component is never a wildcard.
 */
export function matches(pattern: readonly string[], policy: Policy, topic: readonly string[]): boolean {
  const n = pattern.length;
  switch (policy) {
    case 'exact':
      return n === topic.length && equalUpTo(pattern, topic, n);
    case 'wildcard':
      return n === topic.length && !dollarBlocked(pattern, policy, topic) && wildUpTo(pattern, topic, n);
    case 'tail':
      return n <= topic.length && !dollarBlocked(pattern, policy, topic) && wildUpTo(pattern, topic, n);
    case 'prefix': {
      // A prefix needs a last component to compare with `startsWith`; `[]` has none, so it matches nothing.
      if (n === 0 || topic.length < n || !equalUpTo(pattern, topic, n - 1)) return false;
      if (n === 1 && startsWithDollar(topic)) return false;
      return (topic[n - 1] as string).startsWith(pattern[n - 1] as string);
    }
  }
}

/**
 * [MQTT-4.7.2-1]: `$` topics (`$SYS/...`) are only reached by patterns that name their first component.
 * A pattern "names" it unless it starts with a wildcard or is a root tail; root prefixes are handled by the
 * caller since their first component is a partial literal.
 */
function dollarBlocked(pattern: readonly string[], policy: Policy, topic: readonly string[]): boolean {
  if (!startsWithDollar(topic)) return false;
  return pattern.length === 0 ? policy === 'tail' : pattern[0] === WILDCARD;
}

export function startsWithDollar(topic: readonly string[]): boolean {
  return topic.length > 0 && (topic[0] as string).startsWith('$');
}

function equalUpTo(pattern: readonly string[], topic: readonly string[], n: number): boolean {
  for (let i = 0; i < n; i++) if (pattern[i] !== topic[i]) return false;
  return true;
}

function wildUpTo(pattern: readonly string[], topic: readonly string[], n: number): boolean {
  for (let i = 0; i < n; i++) {
    const p = pattern[i];
    if (p !== WILDCARD && p !== topic[i]) return false;
  }
  return true;
}

/** Sum of the lengths of the non-wildcard components: how much of a topic a prefix or tail pins down. */
export function literalChars(pattern: readonly string[]): number {
  let total = 0;
  for (const c of pattern) if (c !== WILDCARD) total += c.length;
  return total;
}

/** exact < prefix = tail < wildcard: prefix and tail are both "this much and anything after". */
function rankOf(policy: Policy): number {
  return policy === 'exact' ? 0 : policy === 'wildcard' ? 2 : 1;
}

/**
 * Orders two observations that match the same topic, best first (negative when `a` is better), for
 * `matchBest`. Only meaningful for observations that match one topic: that is what makes two wildcard
 * patterns equal wherever both are literal, so only the wildcard positions can tell them apart.
 */
export function compareForBest<O, V>(a: Observation<O, V>, b: Observation<O, V>): number {
  const rank = rankOf(a.policy);
  const byRank = rank - rankOf(b.policy);
  if (byRank !== 0) return byRank;
  if (rank === 1) {
    const byLiterals = literalChars(b.pattern) - literalChars(a.pattern);
    if (byLiterals !== 0) return byLiterals;
  } else if (rank === 2) {
    const byWildcards = compareWildcardPositions(a.pattern, b.pattern);
    if (byWildcards !== 0) return byWildcards;
  }
  return a.id - b.id;
}

/** The pattern that stays literal longer, reading from the left, is the more specific one. */
function compareWildcardPositions(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const aWild = a[i] === WILDCARD;
    if (aWild !== (b[i] === WILDCARD)) return aWild ? 1 : -1;
  }
  return 0;
}
