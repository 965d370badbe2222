import type { DueLinks, DueList } from './deadlines.js';
import type { Principal } from '../auth/types.js';
import type { Observation, Policy } from './match/types.js';
import type { Payload } from './payload.js';
import type { Session } from './session.js';

export type { Principal };

/** The four actions authorization decides on. */
export type Action = 'publish' | 'subscribe' | 'call' | 'register';

/** Decides whether a session may act on a topic or URI pattern. Synchronous: rules live in memory. */
export interface Authorizer {
  authorize(session: Session, action: Action, pattern: readonly string[], policy: Policy): boolean;
}

/** What a protocol module tells the core about the connection a session runs on. */
export interface TransportInfo {
  /** Connection id, as it appears in logs. */
  connectionId: string;
  /** Negotiated protocol: `wamp.2.json`, `wamp.2.cbor`, `mqtt`... */
  protocol: string;
  /** `websocket`, `tcp` or `tls`. */
  transport: string;
  remoteAddress: string;
}

/** Per-subscriber options the core itself reads; modules may extend them with their own. */
export interface SubscriberOptions {
  /** Never deliver this session's own publications to this subscription (MQTT 5 No Local). */
  noLocal?: boolean;
}

export type Subscription = Observation<Session, SubscriberOptions>;

/** The outcome of a subscribe: `first` drives meta events, `renewed` MQTT's Retain Handling 1. */
export interface SubscribeResult<S> {
  subscription: S;
  /** The subscription did not exist before: this session is its first subscriber. */
  first: boolean;
  /** This session already held it; its options were replaced. */
  renewed: boolean;
}

/**
 * A shared subscription's group (MQTT `$share/{group}/{filter}`): each publication goes to one member, round
 * robin, skipping members that are not available.
 */
export interface ShareGroup {
  readonly name: string;
  readonly members: Map<Session, SubscriberOptions>;
  /** Position of the next member to try. */
  cursor: number;
}

export type SharedSubscription = Observation<ShareGroup, ShareGroup>;

/** What a sink needs to know about the subscription a delivery is for. */
export type SubscriptionRef = Pick<Subscription, 'id' | 'pattern' | 'policy'>;

/** One matching subscription of a session, for grouped delivery. */
export interface Match {
  subscription: SubscriptionRef;
  options: SubscriberOptions;
}

export type QoS = 0 | 1 | 2;

/**
 * Message metadata that crosses protocols. MQTT 5 carries it as properties; WAMP shows content type and user
 * properties in the EVENT details.
 */
export interface MessageProperties {
  contentType?: string;
  /** MQTT Payload Format Indicator 1: the payload is UTF-8 text. */
  payloadIsUtf8?: boolean;
  /** When the message expires (ms since epoch), from MQTT's Message Expiry Interval. */
  expiresAt?: number;
  /** MQTT Response Topic, as the topic name the publisher gave. */
  responseTopic?: string;
  correlationData?: Uint8Array;
  /** Name/value pairs in order; a name may repeat. */
  userProperties?: ReadonlyArray<readonly [string, string]>;
}

export type InvokePolicy = 'single' | 'roundrobin' | 'random' | 'first' | 'last';

export interface RegisterOptions {
  /** How a shared registration picks its callee; every callee of one registration must agree. */
  invoke: InvokePolicy;
  /** Always reveal the caller to this callee (WAMP REGISTER option `disclose_caller`). */
  discloseCaller?: boolean;
}

export type Registration = Observation<Session, RegisterOptions>;

export interface PublishOptions {
  /** Skip the publisher itself (WAMP `exclude_me`, true by default there). */
  excludeMe: boolean;
  /** Reveal the publisher's session id, authid and authrole to subscribers. */
  disclose: boolean;
  /** Delivery guarantee the publisher asked for; receivers get at most their subscription's. Default 0. */
  qos?: QoS;
  /** Keep as the topic's retained message (an empty byte payload clears it). */
  retain?: boolean;
  properties?: MessageProperties;
  exclude?: readonly number[];
  eligible?: readonly number[];
  excludeAuthid?: readonly string[];
  eligibleAuthid?: readonly string[];
  excludeAuthrole?: readonly string[];
  eligibleAuthrole?: readonly string[];
}

/** One publication, handed unchanged to every receiver so that each module encodes it once. */
export interface Publication {
  readonly id: number;
  readonly topic: readonly string[];
  readonly payload: Payload;
  readonly publisher: Session;
  readonly disclose: boolean;
  readonly qos: QoS;
  /** The publisher asked to retain it (MQTT Retain As Published shows this to subscribers). */
  readonly retain: boolean;
  readonly properties: MessageProperties | undefined;
}

export type CancelMode = 'skip' | 'kill' | 'killnowait';

export interface CallOptions {
  /** Milliseconds before the dealer gives up with `wamp.error.timeout`; 0 means none. */
  timeoutMs: number;
  /** Reveal the caller's session id, authid and authrole to the callee. */
  disclose: boolean;
}

/** A call in flight, from the dealer's routing until its result, error, cancel or timeout. */
export interface Invocation {
  /** Request id in the callee's scope. */
  readonly id: number;
  readonly registration: Registration;
  /** The URI the caller called (differs from the registration's for pattern registrations). */
  readonly procedure: readonly string[];
  readonly payload: Payload;
  readonly caller: Session;
  readonly callerRequestId: number;
  readonly callee: Session;
  readonly disclose: boolean;
  readonly timeoutMs: number;
  /** Set once a cancel in `kill` mode is waiting for the callee's answer; a second cancel is then a no-op. */
  canceling: boolean;
  /** When the dealer routed it (ms since epoch), for the call latency metric. */
  readonly startedAt: number;
  // The dealer's timeout bookkeeping (deadlines.ts): when the call times out, and its place in the list of calls
  // with the same timeout. Nothing else reads them.
  dueAt: number;
  dueList: DueList | undefined;
  duePrevious: DueLinks | undefined;
  dueNext: DueLinks | undefined;
}

/**
 * Where the core delivers to a session. The protocol module implements it; every method is called
 * synchronously from routing and must not throw or block (write, or drop and count).
 */
export interface SessionSink {
  /** A publication matched one of this session's subscriptions. */
  event(publication: Publication, subscription: SubscriptionRef, options: SubscriberOptions): void;
  /**
   * A publication matched several subscriptions of this session. When the sink has this method the broker calls
   * it once instead of `event` once per subscription (MQTT delivers one copy, at the highest QoS, with every
   * subscription identifier). Shared subscriptions are always delivered with `event`.
   */
  eventGroup?(publication: Publication, matches: readonly Match[]): void;
  /** A call was routed to a procedure this session registered. */
  invocation(invocation: Invocation): void;
  /** The dealer asks the callee to stop an invocation (caller canceled, timeout, caller gone). */
  interrupt(invocation: Invocation, mode: CancelMode, reason: string): void;
  /** The result of a call this session made. */
  result(requestId: number, payload: Payload): void;
  /** A call this session made failed: `error` is a URI, from the core or from the callee. */
  callError(requestId: number, error: string, payload: Payload | undefined): void;
  /** The router ends the session (kill, shutdown, token expiry): say goodbye and close. */
  close(reason: string, message: string): void;
  /**
   * Authorization changed and the router removed subscriptions or registrations this session held. The sink
   * tells the client if its protocol can (WAMP subscription/registration revocation; MQTT 5 DISCONNECT 0x87).
   */
  revoked?(subscriptions: readonly number[], registrations: readonly number[], reason: string): void;
}

/** What a session needs to know about its peer's abilities. */
export interface PeerFeatures {
  /** The callee understands interrupts (WAMP callee announced `call_canceling`). */
  interrupts: boolean;
}
