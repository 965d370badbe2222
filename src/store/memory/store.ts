import type { RetainedStore, Store } from '../types.js';
import { MemoryRetainedStore } from './retained.js';
import { MemorySessionStore } from './sessions.js';

/** `store.engine: memory`: nothing is written anywhere, so nothing ever waits and nothing survives the process. */
export class MemoryStore implements Store {
  readonly engine = 'memory';
  readonly sessions = new MemorySessionStore();
  private readonly realms = new Map<string, MemoryRetainedStore>();

  retained(realm: string): RetainedStore {
    let store = this.realms.get(realm);
    if (store === undefined) {
      store = new MemoryRetainedStore();
      this.realms.set(realm, store);
    }
    return store;
  }

  barrier(): undefined {
    return undefined;
  }

  async close(): Promise<void> {}
}
