/**
 * The narrow interface between protocol modules and the router. `protocols/*` import this file and their
 * own files only (a test enforces it). Everything a module needs is here: the connection it serves, the
 * realms it joins sessions to, authentication, payload conversion, ids and the core's error codes.
 */
import type { Logger } from 'pino';
import type { AuthOutcome, Principal } from './auth/types.js';
import type { Realm } from './core/realm.js';
import type { Metrics } from './observability/metrics.js';
import type { Store } from './store/types.js';
import type { Connection } from './transport/connection.js';

export type { Logger } from 'pino';
export { bindMessageCounter, noMetrics, type Metrics, type MessageCounter } from './observability/metrics.js';
export type { AuthOutcome, Principal } from './auth/types.js';
export type { Connection, ConnectionHandler } from './transport/connection.js';
export { CloseCode } from './transport/connection.js';
export type { Realm, RealmOptions } from './core/realm.js';
export type { Session } from './core/session.js';
export { TOKEN_EXPIRED } from './core/session.js';
export type {
  Action,
  CallOptions,
  CancelMode,
  Invocation,
  InvokePolicy,
  PeerFeatures,
  Publication,
  PublishOptions,
  RegisterOptions,
  Registration,
  SessionSink,
  Match,
  MessageProperties,
  QoS,
  ShareGroup,
  SharedSubscription,
  SubscribeResult,
  SubscriberOptions,
  Subscription,
  SubscriptionRef,
  TransportInfo,
} from './core/types.js';
export type { LoadedSession, QueuedEntry, RetainedMessage, SessionStore, StoredMessage } from './store/types.js';
export { Payload } from './core/payload.js';
export { WILDCARD, type Policy } from './core/match/types.js';
export { CoreError, type CoreErrorUri, type Result } from './core/errors.js';
export { IdSequence, MAX_ID, isValidId, randomId as randomPublicationId } from './core/ids.js';
export { containsBinary, reviveBinary, stringifyWithBinary } from './core/binary-json.js';
export { userPropertiesFromObject, userPropertiesToObject, type UserPropertyObject } from './core/user-properties.js';

/** Authentication as modules use it: one authenticator for every protocol. */
export interface AuthService {
  /** True when JWT keys are configured, so token methods (WAMP ticket, MQTT password) can succeed. */
  readonly tokensEnabled: boolean;
  /** True when sessions without credentials are admitted. */
  readonly anonymousAllowed: boolean;
  /** Verifies a JWT. `realm`, when given, is checked against the token's realm claim. */
  verifyToken(token: string, authmethod: string, realm?: string): Promise<AuthOutcome>;
  /** Checks a principal verified earlier (an upgrade token) against the realm the client now asks for. */
  checkRealm(principal: Principal, realm: string): AuthOutcome;
  /** The principal of an anonymous session. */
  anonymous(authid?: string): Principal;
  /** The principal of a client that presented a certificate verified against `tls.clientCa`. */
  certificate(commonName: string): Principal;
}

/** What the router gives a module when it is created. */
export interface ModuleContext {
  /** Looks a realm up by name; undefined when it does not exist. */
  realm(name: string): Realm | undefined;
  /** Every realm's name. */
  realmNames(): string[];
  /** The realm a client joins when it names none (MQTT without a realm claim). */
  readonly defaultRealm: string;
  readonly auth: AuthService;
  readonly log: Logger;
  /** Milliseconds a new connection has to complete its login before it is closed; 0: no limit. */
  readonly handshakeTimeoutMs: number;
  /** Where the module reports messages, refusals, drops and limits (see src/observability/metrics.ts). */
  readonly metrics: Metrics;
  /**
   * Slow consumers: past `softBytes` waiting on a connection's socket, messages that may be lost (QoS 0, WAMP
   * events) are dropped and counted; past `hardBytes` the connection is closed.
   */
  readonly backpressure: { softBytes: number; hardBytes: number };
  /**
   * Where persistent sessions are kept, and when writes are durable: an acknowledgement that promises a message
   * survives a crash (MQTT PUBACK/PUBREC, WAMP PUBLISHED) waits for `barrier()` (see src/store/types.ts).
   */
  readonly persistence: Pick<Store, 'sessions' | 'barrier'>;
}

/** A protocol module: it takes connections whose negotiated subprotocol is one of its own. */
export interface ProtocolModule {
  readonly name: string;
  /** WebSocket subprotocols the module serves. */
  readonly subprotocols: readonly string[];
  /** Takes a new connection for the rest of its life. */
  accept(connection: Connection): void;
  /** Ends every session the module serves with the given reason (router shutdown). */
  shutdown?(reason: string): void;
}

export type ModuleFactory = (context: ModuleContext) => ProtocolModule;
