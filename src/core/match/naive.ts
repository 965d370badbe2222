/**
 * The reference index: every observation tested against every topic with `matches`. Too slow for a
 * broker, but obviously right, so the contract tests cross-check the trie against it.
 */

import { compareForBest, matches } from './matches.js';
import type { AddResult, MatchIndex, Observation, Policy } from './types.js';

export class NaiveMatchIndex<O, V> implements MatchIndex<O, V> {
  private readonly byKey = new Map<string, Observation<O, V>>();
  private readonly byId = new Map<number, Observation<O, V>>();
  private nextId = 1;

  add(pattern: readonly string[], policy: Policy, observer: O, value: V): AddResult<O, V> {
    const key = keyOf(pattern, policy);
    let observation = this.byKey.get(key);
    const first = observation === undefined;
    if (observation === undefined) {
      observation = {
        id: this.nextId++,
        pattern: Object.freeze([...pattern]),
        policy,
        observers: new Map(),
        created: Date.now(),
      };
      this.byKey.set(key, observation);
      this.byId.set(observation.id, observation);
    }
    const already = observation.observers.has(observer);
    observation.observers.set(observer, value);
    return { observation, first, already };
  }

  remove(observation: Observation<O, V>, observer: O): { removed: boolean; last: boolean } {
    // A stale handle (already removed, or from another index) must not touch whatever holds its id now.
    if (this.byId.get(observation.id) !== observation || !observation.observers.delete(observer)) {
      return { removed: false, last: false };
    }
    if (observation.observers.size > 0) return { removed: true, last: false };
    this.byKey.delete(keyOf(observation.pattern, observation.policy));
    this.byId.delete(observation.id);
    return { removed: true, last: true };
  }

  lookup(pattern: readonly string[], policy: Policy): Observation<O, V> | undefined {
    return this.byKey.get(keyOf(pattern, policy));
  }

  get(id: number): Observation<O, V> | undefined {
    return this.byId.get(id);
  }

  matchAll(topic: readonly string[], out: Observation<O, V>[]): void {
    for (const observation of this.byId.values()) {
      if (matches(observation.pattern, observation.policy, topic)) out.push(observation);
    }
  }

  matchBest(topic: readonly string[]): Observation<O, V> | undefined {
    let best: Observation<O, V> | undefined;
    for (const observation of this.byId.values()) {
      if (!matches(observation.pattern, observation.policy, topic)) continue;
      if (best === undefined || compareForBest(observation, best) < 0) best = observation;
    }
    return best;
  }

  get size(): number {
    return this.byId.size;
  }

  values(): IterableIterator<Observation<O, V>> {
    return this.byId.values();
  }
}

/** JSON keeps the key injective: no separator choice can collide with a component's own characters. */
function keyOf(pattern: readonly string[], policy: Policy): string {
  return JSON.stringify([policy, pattern]);
}
