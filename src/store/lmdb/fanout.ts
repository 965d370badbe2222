import type { StoredMessage } from '../types.js';

/** One session's part in a fan-out record: [sid, seq, retain, subscriptionIds]. */
export type Recipient = [number, number, 0 | 1, number[]];

/**
 * A QoS 1 publication as stored for every persistent session it was queued for: the message once, with the
 * sessions that still owe it. Writing one record per publication instead of one entry per session is what keeps
 * a durable fan-out to many sessions close to the memory store's speed (see README "Durability").
 *
 * The record is rewritten as sessions acknowledge, but lazily (`dirty`): after a crash a session may get a QoS 1
 * message again that it had acknowledged, which QoS 1 allows (it is resent with DUP set). QoS 2 deliveries are
 * stored one entry per session, since exactly once needs each one's exact state.
 */
export class FanoutRecord {
  /** Still owed, by sid. */
  readonly recipients = new Map<number, Recipient>();
  /** Written to the store at least once. */
  written = false;
  /** The recipients changed since the last write. */
  dirty = false;

  constructor(
    readonly id: number,
    readonly message: StoredMessage,
  ) {}

  row(): FanoutRow {
    const row: FanoutRow = { topic: this.message.topic, payload: this.message.payload, to: [...this.recipients.values()] };
    if (this.message.properties !== undefined) row.properties = this.message.properties;
    return row;
  }
}

export interface FanoutRow {
  topic: string;
  payload: Uint8Array;
  properties?: StoredMessage['properties'];
  to: Recipient[];
}
