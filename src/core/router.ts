import { randomId } from './ids.js';
import { Realm, type RealmObserver, type RealmOptions } from './realm.js';
import { MemoryRetainedStore } from '../store/memory/retained.js';
import type { RetainedStoreFactory } from '../store/types.js';
import type { Authorizer } from './types.js';

/** The shared session core: every realm, whichever protocol its sessions speak. */
export class Router {
  private readonly realms = new Map<string, Realm>();
  /** Session ids are global in scope, so they are unique across realms. */
  private readonly sessionIds = new Set<number>();

  constructor(
    private readonly authorizer: Authorizer,
    private readonly observer: RealmObserver = {},
    private readonly retainedStores: RetainedStoreFactory = () => new MemoryRetainedStore(),
  ) {}

  addRealm(name: string, options: RealmOptions): Realm {
    const existing = this.realms.get(name);
    if (existing !== undefined) return existing;
    const realm = new Realm(name, options, this.authorizer, () => this.allocateSessionId(), this.retainedStores(name), {
      joined: (session) => this.observer.joined?.(session),
      left: (session) => {
        this.sessionIds.delete(session.id);
        this.observer.left?.(session);
      },
    });
    this.realms.set(name, realm);
    return realm;
  }

  realm(name: string): Realm | undefined {
    return this.realms.get(name);
  }

  get realmNames(): string[] {
    return [...this.realms.keys()];
  }

  /** Sessions joined to any realm (the realms' own system sessions are not counted). */
  get sessionCount(): number {
    let count = 0;
    for (const realm of this.realms.values()) count += realm.sessions.size;
    return count;
  }

  private allocateSessionId(): number {
    let id = randomId();
    while (this.sessionIds.has(id)) id = randomId();
    this.sessionIds.add(id);
    return id;
  }
}
