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
