/**
 * The persistence seam. The core keeps what must outlive a publication here; an implementation decides where
 * it lives (memory now; an embedded on-disk store later, behind the same interfaces).
 */
import type { Policy } from '../core/match/types.js';
import type { Payload } from '../core/payload.js';
import type { MessageProperties, QoS } from '../core/types.js';

/** The last retained message of a topic. */
export interface RetainedMessage {
  readonly topic: readonly string[];
  readonly payload: Payload;
  readonly qos: QoS;
  readonly properties: MessageProperties | undefined;
  /** When it was stored (ms since epoch). */
  readonly storedAt: number;
}

export interface RetainedStore {
  /** Keeps the message as its topic's retained message, replacing any earlier one. */
  set(message: RetainedMessage): void;
  /** Forgets the topic's retained message. */
  delete(topic: readonly string[]): void;
  get(topic: readonly string[]): RetainedMessage | undefined;
  /**
   * Every retained message whose topic the pattern matches, skipping expired ones. A `$` topic is not matched by a
   * pattern that starts with a wildcard [MQTT-4.7.2-1].
   */
  matching(pattern: readonly string[], policy: Policy): RetainedMessage[];
  readonly size: number;
}

/** Builds the retained store of one realm. */
export type RetainedStoreFactory = (realm: string) => RetainedStore;

/** The parts of a message kept once for every session it is queued for. */
export interface StoredMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly properties: MessageProperties | undefined;
}

/** One QoS 1/2 message owed to a persistent session: queued, or in flight once it has a packet id. */
export interface QueuedEntry {
  /** Shared between the sessions a publication reached: the store writes it once (by object identity). */
  readonly message: StoredMessage;
  readonly qos: 1 | 2;
  readonly retain: boolean;
  readonly subscriptionIds: readonly number[];
  /**
   * The packet id it was sent with. A store keeps it for QoS 2, whose resend after a restart must reuse it
   * [MQTT-4.4.0-1]; it may drop it for QoS 1, which is then resent with a new id and DUP set.
   */
  readonly packetId?: number;
  /** QoS 2: the client sent PUBREC and the router PUBREL; only PUBCOMP is missing. */
  readonly released?: boolean;
}

/** A persistent session as it was stored, with what it is owed. */
export interface LoadedSession {
  readonly key: string;
  /** The protocol module's own description of the session (its subscriptions, expiry, will...). */
  readonly record: unknown;
  /** Ordered by `seq`, which is the order the messages were queued in. */
  readonly entries: ReadonlyArray<{ readonly seq: number; readonly entry: QueuedEntry }>;
  /** QoS 2 packet ids received from the client, PUBREC sent, PUBREL not yet received [MQTT-4.3.3-10]. */
  readonly received: readonly number[];
}

/**
 * Persistent sessions. Writes return at once; `Store.barrier()` says when they are durable. Keys are the protocol
 * module's session keys, and `seq` numbers are the session's own, rising in queue order.
 */
export interface SessionStore {
  /** Creates or replaces the session's record. */
  save(key: string, record: unknown): void;
  /** Forgets the session: its record, every entry and every received packet id. */
  drop(key: string): void;
  /** Creates or replaces one entry of the session (a new message, or one that was sent or released). */
  putEntry(key: string, seq: number, entry: QueuedEntry): void;
  deleteEntry(key: string, seq: number): void;
  markReceived(key: string, packetId: number): void;
  clearReceived(key: string, packetId: number): void;
  /** Every stored session: read once, at start-up. */
  load(): LoadedSession[];
}

/** Everything the router persists, behind one object that `open.ts` builds from the config. */
export interface Store {
  /** `lmdb` or `memory`, for logs and `/readyz`. */
  readonly engine: string;
  /** The retained messages (MQTT retain, WAMP event retention) of one realm. */
  retained(realm: string): RetainedStore;
  readonly sessions: SessionStore;
  /**
   * A promise that settles once every write issued so far is durable under the fsync policy, or undefined when
   * nothing is waiting. Acknowledgements that promise durability are sent only after it resolves.
   */
  barrier(): Promise<void> | undefined;
  /** Waits for pending writes, then closes. */
  close(): Promise<void>;
}
