import type { Principal } from '../auth/types.js';
import { Broker } from './broker.js';
import { Dealer } from './dealer.js';
import { TrieMatchIndex } from './match/trie.js';
import { Session } from './session.js';
import type { RetainedStore } from '../store/types.js';
import type { Authorizer, PeerFeatures, RegisterOptions, SessionSink, ShareGroup, SubscriberOptions, TransportInfo } from './types.js';

export interface RealmOptions {
  /** WAMP URI rule: `loose` or `strict`. */
  uriCheck: 'loose' | 'strict';
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
  ) {
    this.broker = new Broker(
      new TrieMatchIndex<Session, SubscriberOptions>(),
      new TrieMatchIndex<ShareGroup, ShareGroup>(),
      authorizer,
      retained,
    );
    this.dealer = new Dealer(new TrieMatchIndex<Session, RegisterOptions>(), authorizer);
  }

  private systemSession: Session | undefined;

  /**
   * The router's own session in this realm, for what the router publishes itself (`$SYS` topics). It is not
   * listed among the realm's sessions and receives nothing.
   */
  get system(): Session {
    this.systemSession ??= new Session(
      this.allocateSessionId(),
      this,
      { authid: 'switchboard', authrole: 'system', authmethod: 'internal', authprovider: 'internal' },
      { connectionId: 'internal', protocol: 'internal', transport: 'internal', remoteAddress: '' },
      DISCARDING_SINK,
      { interrupts: false },
    );
    return this.systemSession;
  }

  join(principal: Principal, transport: TransportInfo, sink: SessionSink, features: PeerFeatures): Session {
    const session = new Session(this.allocateSessionId(), this, principal, transport, sink, features);
    this.sessions.set(session.id, session);
    this.observer.joined?.(session);
    return session;
  }

  /** Called by Session.leave(): use that instead. */
  leave(session: Session): void {
    if (!this.sessions.delete(session.id)) return;
    this.broker.dropSession(session);
    this.dealer.dropSession(session);
    this.observer.left?.(session);
  }
}

/** The sink of the system session: it subscribes to nothing and registers nothing, so nothing arrives. */
const DISCARDING_SINK: SessionSink = {
  event: () => undefined,
  invocation: () => undefined,
  interrupt: () => undefined,
  result: () => undefined,
  callError: () => undefined,
  close: () => undefined,
};
