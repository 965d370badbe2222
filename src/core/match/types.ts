/**
 * The one matching index shared by the broker (every match), the dealer (the best match) and the
 * authorizer. Topics and URIs reach it as component lists: MQTT splits on `/`, WAMP on `.`.
 */

/**
 * How a pattern matches a topic.
 * - `exact`: equal component lists.
 * - `wildcard`: same length; a {@link WILDCARD} component matches any one component.
 * - `tail`: the pattern's components (which may hold wildcards) match the topic's first components, and any
 *   number of further components may follow, none included (MQTT `a/#` matches `a`, `a/b`, `a/b/c`).
 * - `prefix`: WAMP string prefix: every component but the last is equal, and the topic's component at the
 *   last position starts with the pattern's last component; further components may follow
 *   (`a.b.emergency` matches `a.b.emergency-low` and `a.b.emergency.x`).
 */
export type Policy = 'exact' | 'prefix' | 'wildcard' | 'tail';

/**
 * The component that stands for "any one component" in `wildcard` and `tail` patterns. U+0000 can occur
 * neither in an MQTT topic [MQTT-1.5.4-2] nor in a WAMP URI as Switchboard validates them, so it cannot
 * collide with a literal component.
 */
export const WILDCARD = '\u0000';

/** One (pattern, policy) pair and everyone observing it: a subscription, a registration or a rule. */
export interface Observation<O, V> {
  /** Stable id, unique within the index; WAMP uses it as the subscription or registration id. */
  readonly id: number;
  readonly pattern: readonly string[];
  readonly policy: Policy;
  /** The observers and the value each one attached (options, QoS, a rule...). */
  readonly observers: Map<O, V>;
  /** When the first observer arrived (ms since epoch); meta APIs report it. */
  readonly created: number;
}

export interface AddResult<O, V> {
  observation: Observation<O, V>;
  /** The observation did not exist before this call. */
  first: boolean;
  /** The observer was already observing it; its value was replaced. */
  already: boolean;
}

export interface MatchIndex<O, V> {
  /** Adds an observer, creating the observation when it is the first. */
  add(pattern: readonly string[], policy: Policy, observer: O, value: V): AddResult<O, V>;
  /**
   * Removes an observer from an observation. `last` is true when it was the last one: the observation
   * is then gone from the index. Removing an observer that is not there returns `{ removed: false }`.
   */
  remove(observation: Observation<O, V>, observer: O): { removed: boolean; last: boolean };
  /** The observation for exactly this (pattern, policy), if any. */
  lookup(pattern: readonly string[], policy: Policy): Observation<O, V> | undefined;
  /** The observation with this id, if any. */
  get(id: number): Observation<O, V> | undefined;
  /**
   * Every observation that matches the topic, appended to `out` (no order promised). A topic whose first
   * component starts with `$` is not matched by a pattern whose first component is a wildcard, nor by a
   * root `tail` or a root `prefix` pattern [MQTT-4.7.2-1].
   */
  matchAll(topic: readonly string[], out: Observation<O, V>[]): void;
  /**
   * The single best match for the dealer: `exact` first; then `prefix` and `tail` by the most literal
   * characters matched (longest first); then `wildcard`, where comparing component by component from the
   * left, a literal beats a wildcard at the first position they differ. Ties go to the older observation.
   */
  matchBest(topic: readonly string[]): Observation<O, V> | undefined;
  /** Number of observations. */
  readonly size: number;
  /** Every observation, for meta APIs and reloads. */
  values(): IterableIterator<Observation<O, V>>;
}
