import type { Principal } from '../auth/types.js';
import type { Result } from './errors.js';
import { sharedKey } from './broker.js';
import { MAX_ID } from './ids.js';
import type { Policy } from './match/types.js';
import type { Payload } from './payload.js';
import type { Realm } from './realm.js';
import type {
  CallOptions,
  CancelMode,
  Invocation,
  PeerFeatures,
  Publication,
  PublishOptions,
  RegisterOptions,
  ShareGroup,
  SharedSubscription,
  Registration,
  SessionSink,
  SubscribeResult,
  SubscriberOptions,
  Subscription,
  TransportInfo,
} from './types.js';

/** A shared subscription of a session, with the group the session is a member of. */
export interface SharedMembership {
  subscription: SharedSubscription;
  group: ShareGroup;
}

/**
 * What every session without entries reads. Nothing writes to it: writers go through a session's `*ForWrite`
 * methods, and `set` throws should a cast reach it anyway.
 */
class EmptyMap<K, V> extends Map<K, V> {
  override set(): this {
    throw new TypeError('a session map is read-only here; write through its *ForWrite method');
  }
}
const NONE: ReadonlyMap<never, never> = new EmptyMap<never, never>();

/** The close reason when a session's token expires. */
export const TOKEN_EXPIRED = 'wamp.close.token_expired';

/**
 * A session joined to a realm. Protocol modules act through these methods; the core answers through the
 * session's sink. The session keeps back-references to everything it holds in the realm's indexes, so that
 * leaving removes exactly those entries and never scans an index.
 */
export class Session {
  // The five maps below are made on first use: an idle session (most of a large router's) needs none of them, and
  // each empty Map costs about 200 bytes with its hash table. Readers get a shared empty map instead, so a lookup
  // or a walk at teardown never creates one; the broker and dealer write through the `*ForWrite` methods.
  private subscriptionMap: Map<number, Subscription> | undefined;
  private sharedSubscriptionMap: Map<string, SharedMembership> | undefined;
  private registrationMap: Map<number, Registration> | undefined;
  private callOutMap: Map<number, Invocation> | undefined;
  private callInMap: Map<number, Invocation> | undefined;
  /** The last invocation id handed out for this session as callee (a number, not an IdSequence object). */
  private lastInvocationId = 0;
  /**
   * Whether the session can take a message right now (its client is connected and not saturated). Share groups
   * skip members that cannot; the protocol module keeps it current.
   */
  available = true;
  private open = true;
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    readonly realm: Realm,
    private currentPrincipal: Principal,
    readonly transport: TransportInfo,
    readonly sink: SessionSink,
    readonly features: PeerFeatures,
  ) {}

  /** Subscriptions by id (the same ids WAMP puts on the wire). */
  get subscriptions(): ReadonlyMap<number, Subscription> {
    return this.subscriptionMap ?? NONE;
  }

  /** Shared subscriptions, with the group this session is a member of, by group and subscription id. */
  get sharedSubscriptions(): ReadonlyMap<string, SharedMembership> {
    return this.sharedSubscriptionMap ?? NONE;
  }

  /** Registrations by id. */
  get registrations(): ReadonlyMap<number, Registration> {
    return this.registrationMap ?? NONE;
  }

  /** Calls this session made that are still waiting, by the caller's request id. */
  get callsOut(): ReadonlyMap<number, Invocation> {
    return this.callOutMap ?? NONE;
  }

  /** Invocations routed to this session as callee, by invocation id. */
  get callsIn(): ReadonlyMap<number, Invocation> {
    return this.callInMap ?? NONE;
  }

  /** For the broker: `subscriptions`, created if need be. */
  subscriptionsForWrite(): Map<number, Subscription> {
    return (this.subscriptionMap ??= new Map());
  }

  /** For the broker: `sharedSubscriptions`, created if need be. */
  sharedSubscriptionsForWrite(): Map<string, SharedMembership> {
    return (this.sharedSubscriptionMap ??= new Map());
  }

  /** For the dealer: `registrations`, created if need be. */
  registrationsForWrite(): Map<number, Registration> {
    return (this.registrationMap ??= new Map());
  }

  /** For the dealer: `callsOut`, created if need be. */
  callsOutForWrite(): Map<number, Invocation> {
    return (this.callOutMap ??= new Map());
  }

  /** For the dealer: `callsIn`, created if need be. */
  callsInForWrite(): Map<number, Invocation> {
    return (this.callInMap ??= new Map());
  }

  /** A fresh invocation id for a call routed to this session, sequential in [1, 2^53 - 1] and wrapping. */
  nextInvocationId(): number {
    this.lastInvocationId = this.lastInvocationId >= MAX_ID ? 1 : this.lastInvocationId + 1;
    return this.lastInvocationId;
  }

  get principal(): Principal {
    return this.currentPrincipal;
  }

  /**
   * Ends the session's connection when its credential expires (`exp` plus the grace): the sink is asked to close
   * with `wamp.close.token_expired`. Called at join and again after a re-authentication.
   */
  watchExpiry(graceMs: number): void {
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    const expiresAt = this.currentPrincipal.expiresAt;
    if (expiresAt === undefined || !this.open) return;
    const delay = Math.min(Math.max(0, expiresAt * 1000 + graceMs - Date.now()), 2 ** 31 - 1);
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      if (this.open) this.sink.close(TOKEN_EXPIRED, 'the token expired');
    }, delay);
    this.expiryTimer.unref?.();
  }

  /** A fresh credential for the same identity (MQTT 5 re-authentication): the expiry watch starts over. */
  reauthenticated(principal: Principal, graceMs: number): void {
    this.currentPrincipal = principal;
    this.watchExpiry(graceMs);
  }

  get authid(): string {
    return this.principal.authid;
  }

  get authrole(): string {
    return this.principal.authrole;
  }

  /** False once the session has left its realm. */
  get active(): boolean {
    return this.open;
  }

  subscribe(pattern: readonly string[], policy: Policy, options: SubscriberOptions): Result<SubscribeResult<Subscription>> {
    return this.realm.broker.subscribe(this, pattern, policy, options);
  }

  unsubscribe(subscriptionId: number): Result<Subscription> {
    return this.realm.broker.unsubscribe(this, subscriptionId);
  }

  subscribeShared(group: string, pattern: readonly string[], policy: Policy, options: SubscriberOptions): Result<SubscribeResult<SharedSubscription>> {
    return this.realm.broker.subscribeShared(this, group, pattern, policy, options);
  }

  /** Whether this session is still a member of the group on that shared subscription. */
  holdsShared(group: string, subscriptionId: number): boolean {
    return this.sharedSubscriptionMap !== undefined && this.sharedSubscriptionMap.has(sharedKey(group, subscriptionId));
  }

  unsubscribeShared(group: string, pattern: readonly string[], policy: Policy): Result<SharedSubscription> {
    return this.realm.broker.unsubscribeShared(this, group, pattern, policy);
  }

  publish(topic: readonly string[], payload: Payload, options: PublishOptions): Result<Publication> {
    return this.realm.broker.publish(this, topic, payload, options);
  }

  register(pattern: readonly string[], policy: Policy, options: RegisterOptions): Result<Registration> {
    return this.realm.dealer.register(this, pattern, policy, options);
  }

  unregister(registrationId: number): Result<Registration> {
    return this.realm.dealer.unregister(this, registrationId);
  }

  call(requestId: number, procedure: readonly string[], payload: Payload, options: CallOptions): Result<Invocation> {
    return this.realm.dealer.call(this, requestId, procedure, payload, options);
  }

  cancel(requestId: number, mode: CancelMode): Result<Invocation> {
    return this.realm.dealer.cancel(this, requestId, mode);
  }

  /** The callee's answer to an invocation. */
  yield(invocationId: number, payload: Payload): Result<Invocation> {
    return this.realm.dealer.yield(this, invocationId, payload);
  }

  /** The callee's error for an invocation; `error` is a URI. */
  fail(invocationId: number, error: string, payload: Payload | undefined): Result<Invocation> {
    return this.realm.dealer.fail(this, invocationId, error, payload);
  }

  /**
   * Stops being a callee while staying in the realm (an MQTT device with a persistent session that went
   * offline): registrations are withdrawn and invocations in flight fail with `canceled`.
   */
  withdrawAsCallee(): void {
    this.realm.dealer.withdrawCallee(this);
  }

  /** Leaves the realm: drops subscriptions and registrations, settles calls both ways. Idempotent. */
  leave(): void {
    if (!this.open) return;
    this.open = false;
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    this.realm.leave(this);
  }
}
