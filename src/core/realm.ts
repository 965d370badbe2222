import type { Principal } from '../auth/types.js';
import { Broker } from './broker.js';
import { MetaApi } from './meta.js';
import { Dealer } from './dealer.js';
import { TrieMatchIndex } from './match/trie.js';
import { Session } from './session.js';
import { noMetrics, type Metrics } from '../observability/metrics.js';
import type { RetainedStore } from '../store/types.js';
import type { Authorizer, PeerFeatures, RegisterOptions, SessionSink, ShareGroup, SubscriberOptions, TransportInfo } from './types.js';

export interface RealmOptions {
  /** WAMP URI rule: `loose` or `strict`. */
  uriCheck: 'loose' | 'strict';
  /**
   * End a session's connection when its token's `exp` passes, this many milliseconds later. Unset: tokens are
   * only checked at login.
   */
  tokenExpiryGraceMs?: number;
  /** Timeout of calls that set none, in milliseconds; 0 or unset: none. */
  callTimeoutMs?: number;
}

/** Hooks that see sessions come and go (meta events, metrics). */
export interface RealmObserver {
  joined?(session: Session): void;
  left?(session: Session): void;
}

/** A routing namespace: its own sessions, broker and dealer. */
export class Realm {
  readonly sessions = new Map<number, Session>();
  readonly broker: Broker;
  readonly dealer: Dealer;

  constructor(
    readonly name: string,
    readonly options: RealmOptions,
    authorizer: Authorizer,
    private readonly allocateSessionId: () => number,
    retained: RetainedStore,
    private readonly observer: RealmObserver = {},
    metrics: Metrics = noMetrics,
  ) {
    this.broker = new Broker(
      new TrieMatchIndex<Session, SubscriberOptions>(),
      new TrieMatchIndex<ShareGroup, ShareGroup>(),
      authorizer,
      retained,
    );
    this.dealer = new Dealer(new TrieMatchIndex<Session, RegisterOptions>(), authorizer, options.callTimeoutMs ?? 0, metrics);
    this.meta = new MetaApi(this);
    this.system = new Session(
      this.allocateSessionId(),
      this,
      { authid: 'switchboard', authrole: 'system', authmethod: 'internal', authprovider: 'internal' },
      { connectionId: 'internal', protocol: 'internal', transport: 'internal', remoteAddress: '' },
      this.meta,
      { interrupts: false },
    );
    this.meta.start(this.system);
  }

  private readonly meta: MetaApi;
  /**
   * The router's own session in this realm: it publishes what the router says itself (`$SYS` topics, meta
   * events) and serves the meta procedures. It is not listed among the realm's sessions.
   */
  readonly system: Session;

  join(principal: Principal, transport: TransportInfo, sink: SessionSink, features: PeerFeatures): Session {
    const session = new Session(this.allocateSessionId(), this, principal, transport, sink, features);
    this.sessions.set(session.id, session);
    if (this.options.tokenExpiryGraceMs !== undefined) session.watchExpiry(this.options.tokenExpiryGraceMs);
    this.observer.joined?.(session);
    this.meta.joined(session);
    return session;
  }

  /** Called by Session.leave(): use that instead. */
  leave(session: Session): void {
    if (!this.sessions.delete(session.id)) return;
    this.broker.dropSession(session);
    this.dealer.dropSession(session);
    this.observer.left?.(session);
    this.meta.left(session);
  }
}

