/**
 * Authorization rules: the pattern syntax, the per-role rule sets (held in the shared match index) and the two
 * pure questions a pattern subscription or registration asks of a rule: does it cover the filter, and could it
 * overlap it.
 *
 * Pattern syntax (for configured rules and the permissions claim alike): components are separated by `.`;
 * `+` as a whole component stands for exactly one component; `#` as the whole last component stands for zero or
 * more trailing components (`sensors.#` covers `sensors`, `sensors.x` and `sensors.x.y`). A pattern without
 * wildcards is exact. Patterns apply to component lists, so they judge MQTT topics (split on `/`) and WAMP URIs
 * (split on `.`) alike.
 *
 * `$` topics follow MQTT [MQTT-4.7.2-1] on the allow side: a pattern whose first component is `+`, or the root
 * `#`, does not allow a topic whose first component starts with `$`; name it (`$SYS.#`). Deny patterns are
 * applied without that exception, so `#` under deny refuses `$SYS` topics too.
 */

import type { RoleConfig } from '../config/defaults.js';
import { startsWithDollar } from '../core/match/matches.js';
import { TrieMatchIndex } from '../core/match/trie.js';
import { WILDCARD, type Observation, type Policy } from '../core/match/types.js';
import type { Action } from '../core/types.js';

/** The four actions, in the order config and claims list them. */
export const ACTIONS: readonly Action[] = ['publish', 'subscribe', 'call', 'register'];

/** A parsed rule pattern. */
export interface RulePattern {
  /** The components, with `+` turned into {@link WILDCARD}; a trailing `#` is not among them (see `tail`). */
  readonly components: readonly string[];
  /** The pattern ended with `#`: any number of further components may follow, none included. */
  readonly tail: boolean;
}

/** A rule pattern that cannot be compiled. `key` names where it came from (a config key or a claim path). */
export class RuleError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
    this.name = 'RuleError';
  }
}

/**
 * What is wrong with a rule pattern, as a short message that quotes it, or undefined when it is valid. Refused:
 * the empty pattern, an empty component (`a..b`, `.a`: use `+`), `+` or `#` inside a component (`a+`, `#b`),
 * `#` anywhere but as the whole last component, whitespace, and U+0000 (the core's wildcard marker).
 */
export function patternProblem(text: string): string | undefined {
  const quoted = JSON.stringify(text);
  if (text.length === 0) return 'a pattern must not be empty';
  if (text.includes('\u0000')) return `pattern ${quoted} must not contain U+0000`;
  if (/\s/.test(text)) return `pattern ${quoted} must not contain whitespace`;
  const parts = text.split('.');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (part === '') return `pattern ${quoted} has an empty component (use '+' for any one component)`;
    if (part === '#') {
      if (i !== parts.length - 1) return `pattern ${quoted}: '#' may only be the whole last component`;
    } else if (part !== '+' && (part.includes('+') || part.includes('#'))) {
      return `pattern ${quoted}: '+' and '#' must be whole components`;
    }
  }
  return undefined;
}

/** Parses a rule pattern. Throws a {@link RuleError} keyed by `key` when {@link patternProblem} finds a fault. */
export function parsePattern(text: string, key = 'pattern'): RulePattern {
  const problem = patternProblem(text);
  if (problem !== undefined) throw new RuleError(key, problem);
  const parts = text.split('.');
  const tail = parts[parts.length - 1] === '#';
  if (tail) parts.pop();
  return { components: parts.map((part) => (part === '+' ? WILDCARD : part)), tail };
}

/** The match-index policy a rule pattern is stored under: `tail`, `wildcard`, or `exact` without wildcards. */
export function policyOf(rule: RulePattern): Policy {
  return rule.tail ? 'tail' : rule.components.includes(WILDCARD) ? 'wildcard' : 'exact';
}

// ---------------------------------------------------------------------------------------------------------
// Coverage and overlap: pure functions over component lists.
// ---------------------------------------------------------------------------------------------------------

/** What a filter demands of a topic's component at one position. */
type Constraint =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'any' };

const ANY: Constraint = { kind: 'any' };

/**
 * The constraint of the filter `(pattern, policy)` at position `i` (only called where the filter allows a
 * component at `i`). Following `matches` in the match index: `exact` and `prefix` compare {@link WILDCARD} as a
 * literal; `wildcard` and `tail` read it as "any one".
 */
function constraintAt(pattern: readonly string[], policy: Policy, i: number): Constraint {
  const n = pattern.length;
  switch (policy) {
    case 'exact':
      return { kind: 'literal', value: pattern[i] as string };
    case 'wildcard':
    case 'tail':
      if (i >= n || pattern[i] === WILDCARD) return ANY;
      return { kind: 'literal', value: pattern[i] as string };
    case 'prefix':
      if (i < n - 1) return { kind: 'literal', value: pattern[i] as string };
      return i === n - 1 ? { kind: 'prefix', value: pattern[i] as string } : ANY;
  }
}

/** The filter matches topics of exactly its length (else: of its length or longer). */
function fixedLength(policy: Policy): boolean {
  return policy === 'exact' || policy === 'wildcard';
}

/** The rule reads the first component as "anything": the MQTT `$` exception then applies to it when allowing. */
function openAtRoot(rule: RulePattern): boolean {
  return rule.components.length === 0 ? rule.tail : rule.components[0] === WILDCARD;
}

/**
 * Whether the allow rule `rule` COVERS the filter `(pattern, policy)`: every topic the filter can match (as the
 * match index defines it, `$` exception included) is matched by the rule (with the `$` exception: `+` first or a
 * root `#` does not match a `$` topic). Conservative where it has to be:
 * - a `prefix` filter (WAMP string prefix on its last component) is covered only by a `#` rule whose components
 *   match the filter's fixed components, optionally followed by one `+` over the partial component
 *   (`a.#` and `a.+.#` cover prefix `a.b`; `a.b.#` does not);
 * - the empty `prefix` filter is never covered.
 * One rule is judged at a time: a filter covered only by the union of several rules is not recognized.
 */
export function covers(rule: RulePattern, pattern: readonly string[], policy: Policy): boolean {
  const n = pattern.length;
  const m = rule.components.length;
  if (policy === 'prefix' && n === 0) return false;
  // Length: a rule without `#` matches one length only; a `#` rule any length from its own.
  if (rule.tail ? m > n : !(fixedLength(policy) && m === n)) return false;
  for (let i = 0; i < m; i++) {
    const component = rule.components[i] as string;
    if (component === WILDCARD) continue;
    const constraint = constraintAt(pattern, policy, i);
    if (constraint.kind !== 'literal' || constraint.value !== component) return false;
  }
  // A rule open at the root does not reach `$` topics, which the filter reaches only by naming one.
  if (openAtRoot(rule) && n > 0) {
    const first = constraintAt(pattern, policy, 0);
    if (first.kind === 'literal' && first.value.startsWith('$')) return false;
  }
  return true;
}

/**
 * Whether the deny rule `rule` could match some topic the filter `(pattern, policy)` can match. The rule is read
 * WITHOUT the `$` exception (a deny `#` reaches `$` topics too); the filter with it (a filter `+.x` never receives
 * `$SYS.x`, so a deny `$SYS.#` does not overlap it). Exact for the patterns the index holds.
 */
export function overlaps(rule: RulePattern, pattern: readonly string[], policy: Policy): boolean {
  const n = pattern.length;
  const m = rule.components.length;
  if (policy === 'prefix') {
    // Matches nothing: no last component, or a root `$` prefix (barred by [MQTT-4.7.2-1]).
    if (n === 0 || (n === 1 && (pattern[0] as string).startsWith('$'))) return false;
  }
  if (fixedLength(policy) ? (rule.tail ? m > n : m !== n) : !rule.tail && m < n) return false;
  for (let i = 0; i < m; i++) {
    const component = rule.components[i] as string;
    if (component === WILDCARD) continue;
    const constraint = constraintAt(pattern, policy, i);
    switch (constraint.kind) {
      case 'literal':
        if (constraint.value !== component) return false;
        break;
      case 'prefix':
        if (!component.startsWith(constraint.value)) return false;
        break;
      case 'any':
        break;
    }
    // A filter that does not name its first component never receives a `$` topic.
    if (i === 0 && constraint.kind !== 'literal' && component.startsWith('$')) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// Rule sets
// ---------------------------------------------------------------------------------------------------------

/** The index value: a rule's observer is its pattern text, so a repeated pattern is stored once. */
type RuleIndex = TrieMatchIndex<string, true>;
type RuleObservation = Observation<string, true>;

function ruleOf(observation: RuleObservation): RulePattern {
  return { components: observation.pattern, tail: observation.policy === 'tail' };
}

/**
 * The allow and deny patterns of one role for one action, each held in a {@link TrieMatchIndex}. Immutable once
 * built. A topic or URI is permitted when an allow pattern matches it and no deny pattern does (deny wins).
 *
 * Cost: an exact check (publish, call, exact subscribe or register) is one walk of the allow index and one of
 * the deny index (two for a `$` topic). A pattern check walks the allow index once for the rules that could
 * cover the filter, then tests each deny pattern of this role and action for overlap; that happens once per
 * subscription or registration, never per message.
 */
export class RuleSet {
  private readonly allow: RuleIndex = new TrieMatchIndex();
  private readonly deny: RuleIndex = new TrieMatchIndex();
  /** Reused by every check (checks are synchronous), so an exact check allocates nothing. */
  private readonly found: RuleObservation[] = [];

  /**
   * Parses and indexes the patterns. A bad pattern throws a {@link RuleError} keyed `${keys.allow}.N` or
   * `${keys.deny}.N`, N being its position in its list.
   */
  constructor(allow: readonly string[], deny: readonly string[] = [], keys: { allow: string; deny: string } = { allow: 'allow', deny: 'deny' }) {
    allow.forEach((text, i) => add(this.allow, text, `${keys.allow}.${i}`));
    deny.forEach((text, i) => add(this.deny, text, `${keys.deny}.${i}`));
  }

  /** Number of distinct allow and deny patterns. */
  get size(): { allow: number; deny: number } {
    return { allow: this.allow.size, deny: this.deny.size };
  }

  /**
   * Whether a session holding these rules may act on `(pattern, policy)`: for `exact`, the topic itself; for
   * `wildcard`, `tail` and `prefix`, every topic the filter can match (see {@link covers} and {@link overlaps}).
   */
  permits(pattern: readonly string[], policy: Policy): boolean {
    return policy === 'exact' ? this.permitsTopic(pattern) : this.permitsFilter(pattern, policy);
  }

  private permitsTopic(topic: readonly string[]): boolean {
    const found = this.found;
    try {
      this.allow.matchAll(topic, found);
      if (found.length === 0) return false;
      found.length = 0;
      this.deny.matchAll(topic, found);
      // The index applies the `$` exception; deny must not. Walking again with the first component replaced by
      // a component no rule names literally reaches exactly the rules open at the root.
      if (found.length === 0 && startsWithDollar(topic)) this.deny.matchAll([WILDCARD, ...topic.slice(1)], found);
      return found.length === 0;
    } finally {
      found.length = 0;
    }
  }

  private permitsFilter(pattern: readonly string[], policy: Policy): boolean {
    const found = this.found;
    try {
      // Treated as a topic, the filter's WILDCARD components follow only `+` rules (no rule names U+0000
      // literally): so the walk yields every rule that could cover it, and `covers` decides.
      const probe = policy === 'prefix' ? [...pattern.slice(0, -1), WILDCARD] : pattern;
      if (policy !== 'prefix' || pattern.length > 0) this.allow.matchAll(probe, found);
      if (!found.some((observation) => covers(ruleOf(observation), pattern, policy))) return false;
    } finally {
      found.length = 0;
    }
    for (const observation of this.deny.values()) {
      if (overlaps(ruleOf(observation), pattern, policy)) return false;
    }
    return true;
  }
}

function add(index: RuleIndex, text: string, key: string): void {
  const rule = parsePattern(text, key);
  index.add(rule.components, policyOf(rule), text, true);
}

/** One role's rule sets, one per action. */
export type RoleRules = Readonly<Record<Action, RuleSet>>;

/** One realm's roles by name. */
export type RealmRules = ReadonlyMap<string, RoleRules>;

/**
 * Compiles the `roles` of one realm. A role listed with no patterns for an action may do nothing of it.
 * `key` prefixes the keys of errors (`realms.<realm>.roles`). Throws a {@link RuleError} on a bad pattern.
 */
export function compileRoles(roles: Readonly<Record<string, RoleConfig>> | undefined, key = 'roles'): RealmRules {
  const compiled = new Map<string, RoleRules>();
  for (const [role, config] of Object.entries(roles ?? {})) {
    const rules = {} as Record<Action, RuleSet>;
    for (const action of ACTIONS) {
      rules[action] = new RuleSet(config.allow?.[action] ?? [], config.deny?.[action] ?? [], {
        allow: `${key}.${role}.allow.${action}`,
        deny: `${key}.${role}.deny.${action}`,
      });
    }
    compiled.set(role, Object.freeze(rules));
  }
  return compiled;
}
