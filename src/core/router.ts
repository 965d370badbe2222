import { CoreError } from './errors.js';
import { randomId } from './ids.js';
import { Realm, type RealmObserver, type RealmOptions } from './realm.js';
import { noMetrics, type Metrics } from '../observability/metrics.js';
import { MemoryRetainedStore } from '../store/memory/retained.js';
import type { RetainedStoreFactory } from '../store/types.js';
import type { Authorizer } from './types.js';

/** The shared session core: every realm, whichever protocol its sessions speak. */
export class Router {
  private readonly realms = new Map<string, Realm>();
  /**
   * The ids of the realms' own system sessions, which no realm lists. Other ids in use are looked up in the realms'
   * session maps, which hold every joined session anyway: a set of all ids would cost an entry per session.
   */
  private readonly systemIds = new Set<number>();

  constructor(
    private readonly authorizer: Authorizer,
    private readonly observer: RealmObserver = {},
    private readonly retainedStores: RetainedStoreFactory = () => new MemoryRetainedStore(),
    private readonly metrics: Metrics = noMetrics,
  ) {}

  addRealm(name: string, options: RealmOptions): Realm {
    const existing = this.realms.get(name);
    if (existing !== undefined) return existing;
    const realm = new Realm(name, options, this.authorizer, () => this.allocateSessionId(), this.retainedStores(name), {
      joined: (session) => this.observer.joined?.(session),
      left: (session) => this.observer.left?.(session),
    }, this.metrics);
    this.systemIds.add(realm.system.id);
    this.realms.set(name, realm);
    return realm;
  }

  realm(name: string): Realm | undefined {
    return this.realms.get(name);
  }

  get realmNames(): string[] {
    return [...this.realms.keys()];
  }

  /**
   * After the authorization rules changed: every subscription and registration is checked again, and those no
   * longer allowed are removed; each affected session's sink hears which ones. Returns how many were removed.
   */
  revalidate(): number {
    let removed = 0;
    for (const realm of this.realms.values()) {
      for (const session of [...realm.sessions.values()]) {
        const subscriptions: number[] = [];
        const registrations: number[] = [];
        for (const subscription of [...session.subscriptions.values()]) {
          if (this.authorizer.authorize(session, 'subscribe', subscription.pattern, subscription.policy)) continue;
          session.unsubscribe(subscription.id);
          subscriptions.push(subscription.id);
        }
        for (const { subscription, group } of [...session.sharedSubscriptions.values()]) {
          if (this.authorizer.authorize(session, 'subscribe', subscription.pattern, subscription.policy)) continue;
          session.unsubscribeShared(group.name, subscription.pattern, subscription.policy);
          subscriptions.push(subscription.id);
        }
        for (const registration of [...session.registrations.values()]) {
          if (this.authorizer.authorize(session, 'register', registration.pattern, registration.policy)) continue;
          session.unregister(registration.id);
          registrations.push(registration.id);
        }
        if (subscriptions.length + registrations.length === 0) continue;
        removed += subscriptions.length + registrations.length;
        session.sink.revoked?.(subscriptions, registrations, CoreError.NotAuthorized);
      }
    }
    return removed;
  }

  /** Sessions joined to any realm (the realms' own system sessions are not counted). */
  get sessionCount(): number {
    let count = 0;
    for (const realm of this.realms.values()) count += realm.sessions.size;
    return count;
  }

  /** Session ids are global in scope, so they are unique across realms. A realm adds the session at once. */
  private allocateSessionId(): number {
    let id = randomId();
    while (this.idInUse(id)) id = randomId();
    return id;
  }

  private idInUse(id: number): boolean {
    if (this.systemIds.has(id)) return true;
    for (const realm of this.realms.values()) if (realm.sessions.has(id)) return true;
    return false;
  }
}
