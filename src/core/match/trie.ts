/**
 * The production index: a trie of topic components, so a match costs one walk of the topic rather than a
 * test of every observation.
 *
 * Routing: `wildcard` and `tail` patterns follow a `WILDCARD` component through the node's `wild` child;
 * `exact` and `prefix` patterns treat it as an ordinary string (as `matches` does) and follow `children`.
 * So an exact or prefix observation only ever sits on a node whose path is all literal, and the walk needs
 * no flag to know whether it arrived by literals.
 */

import { compareForBest, startsWithDollar } from './matches.js';
import { WILDCARD, type AddResult, type MatchIndex, type Observation, type Policy } from './types.js';

interface Node<O, V> {
  readonly children: Map<string, Node<O, V>>;
  wild: Node<O, V> | undefined;
  exact: Observation<O, V> | undefined;
  wildcard: Observation<O, V> | undefined;
  tail: Observation<O, V> | undefined;
  /** Prefix patterns whose other components lead here, keyed by their last one. Created on demand: few nodes have any. */
  prefixes: Map<string, Observation<O, V>> | undefined;
}

function newNode<O, V>(): Node<O, V> {
  return { children: new Map(), wild: undefined, exact: undefined, wildcard: undefined, tail: undefined, prefixes: undefined };
}

function isEmpty<O, V>(node: Node<O, V>): boolean {
  return node.children.size === 0 && node.wild === undefined && node.exact === undefined
    && node.wildcard === undefined && node.tail === undefined && node.prefixes === undefined;
}

/** How many leading components lead to the observation's node: a prefix pattern keeps its last one as a key. */
function depthOf(pattern: readonly string[], policy: Policy): number {
  return policy === 'prefix' ? pattern.length - 1 : pattern.length;
}

export class TrieMatchIndex<O, V> implements MatchIndex<O, V> {
  private readonly root: Node<O, V> = newNode();
  private readonly byId = new Map<number, Observation<O, V>>();
  /** `prefix []` has no last component to key it by, and matches nothing, so it lives outside the trie. */
  private emptyPrefix: Observation<O, V> | undefined;
  /** Reused by matchBest so that a dealer call allocates nothing. */
  private readonly scratch: Observation<O, V>[] = [];
  private nextId = 1;

  add(pattern: readonly string[], policy: Policy, observer: O, value: V): AddResult<O, V> {
    let observation = this.lookup(pattern, policy);
    const first = observation === undefined;
    if (observation === undefined) {
      observation = {
        id: this.nextId++,
        pattern: Object.freeze([...pattern]),
        policy,
        observers: new Map(),
        created: Date.now(),
      };
      this.place(observation);
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
    this.byId.delete(observation.id);
    this.unplace(observation);
    return { removed: true, last: true };
  }

  lookup(pattern: readonly string[], policy: Policy): Observation<O, V> | undefined {
    if (policy === 'prefix' && pattern.length === 0) return this.emptyPrefix;
    let node: Node<O, V> | undefined = this.root;
    const depth = depthOf(pattern, policy);
    const wildAware = policy === 'wildcard' || policy === 'tail';
    for (let i = 0; i < depth && node !== undefined; i++) {
      const c = pattern[i] as string;
      node = wildAware && c === WILDCARD ? node.wild : node.children.get(c);
    }
    if (node === undefined) return undefined;
    switch (policy) {
      case 'exact': return node.exact;
      case 'wildcard': return node.wildcard;
      case 'tail': return node.tail;
      case 'prefix': return node.prefixes?.get(pattern[depth] as string);
    }
  }

  get(id: number): Observation<O, V> | undefined {
    return this.byId.get(id);
  }

  matchAll(topic: readonly string[], out: Observation<O, V>[]): void {
    this.walk(this.root, topic, 0, startsWithDollar(topic), out);
  }

  matchBest(topic: readonly string[]): Observation<O, V> | undefined {
    const found = this.scratch;
    this.walk(this.root, topic, 0, startsWithDollar(topic), found);
    let best: Observation<O, V> | undefined;
    for (const observation of found) {
      if (best === undefined || compareForBest(observation, best) < 0) best = observation;
    }
    // Don't keep removed observations alive until the next call.
    found.length = 0;
    return best;
  }

  get size(): number {
    return this.byId.size;
  }

  values(): IterableIterator<Observation<O, V>> {
    return this.byId.values();
  }

  /** @internal Number of trie nodes, root included: lets tests prove that removal prunes. */
  nodeCount(): number {
    let count = 0;
    const stack: Node<O, V>[] = [this.root];
    for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
      count++;
      for (const child of node.children.values()) stack.push(child);
      if (node.wild !== undefined) stack.push(node.wild);
    }
    return count;
  }

  /**
   * Collects the observations at `node` (reached by `topic[0..depth)`) and descends. `dollar` bars, at the
   * root only, the wild child, the root tail and the root prefixes [MQTT-4.7.2-1].
   */
  private walk(node: Node<O, V>, topic: readonly string[], depth: number, dollar: boolean, out: Observation<O, V>[]): void {
    const barred = dollar && depth === 0;
    // A tail matches its own node too: MQTT `a/#` matches `a`.
    if (node.tail !== undefined && !barred) out.push(node.tail);
    if (depth === topic.length) {
      if (node.exact !== undefined) out.push(node.exact);
      if (node.wildcard !== undefined) out.push(node.wildcard);
      return;
    }
    const component = topic[depth] as string;
    if (node.prefixes !== undefined && !barred) {
      for (const [last, observation] of node.prefixes) {
        if (component.startsWith(last)) out.push(observation);
      }
    }
    const child = node.children.get(component);
    if (child !== undefined) this.walk(child, topic, depth + 1, dollar, out);
    if (node.wild !== undefined && !barred) this.walk(node.wild, topic, depth + 1, dollar, out);
  }

  private place(observation: Observation<O, V>): void {
    const { pattern, policy } = observation;
    if (policy === 'prefix' && pattern.length === 0) {
      this.emptyPrefix = observation;
      return;
    }
    const depth = depthOf(pattern, policy);
    const wildAware = policy === 'wildcard' || policy === 'tail';
    let node = this.root;
    for (let i = 0; i < depth; i++) {
      const c = pattern[i] as string;
      if (wildAware && c === WILDCARD) {
        node = node.wild ??= newNode();
      } else {
        let next = node.children.get(c);
        if (next === undefined) node.children.set(c, (next = newNode()));
        node = next;
      }
    }
    switch (policy) {
      case 'exact': node.exact = observation; break;
      case 'wildcard': node.wildcard = observation; break;
      case 'tail': node.tail = observation; break;
      case 'prefix': (node.prefixes ??= new Map()).set(pattern[depth] as string, observation); break;
    }
  }

  /** Clears the observation's slot, then walks back up detaching every node left empty, so the trie never leaks. */
  private unplace(observation: Observation<O, V>): void {
    const { pattern, policy } = observation;
    if (policy === 'prefix' && pattern.length === 0) {
      this.emptyPrefix = undefined;
      return;
    }
    const depth = depthOf(pattern, policy);
    const wildAware = policy === 'wildcard' || policy === 'tail';
    // path[i] is the node reached by pattern[0..i); the observation is on path[depth].
    const path: Node<O, V>[] = [this.root];
    let node = this.root;
    for (let i = 0; i < depth; i++) {
      const c = pattern[i] as string;
      const next = wildAware && c === WILDCARD ? node.wild : node.children.get(c);
      if (next === undefined) throw new Error('match trie: observation missing from its path');
      path.push((node = next));
    }
    switch (policy) {
      case 'exact': node.exact = undefined; break;
      case 'wildcard': node.wildcard = undefined; break;
      case 'tail': node.tail = undefined; break;
      case 'prefix':
        node.prefixes?.delete(pattern[depth] as string);
        if (node.prefixes?.size === 0) node.prefixes = undefined;
        break;
    }
    for (let i = depth; i > 0; i--) {
      const empty = path[i] as Node<O, V>;
      if (!isEmpty(empty)) return;
      const parent = path[i - 1] as Node<O, V>;
      const c = pattern[i - 1] as string;
      if (wildAware && c === WILDCARD) parent.wild = undefined;
      else parent.children.delete(c);
    }
  }
}
