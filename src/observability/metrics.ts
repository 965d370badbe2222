/**
 * What the router reports to monitoring. Parts of the router call these methods; the Prometheus implementation
 * (prometheus.ts) turns them into metrics on `/metrics`, and `noMetrics` discards them (tests, embedding).
 * Every method is cheap and synchronous: counters are incremented in place.
 */
export interface Metrics {
  /** A connection opened, by protocol (`wamp.2.json`, `wamp.2.cbor`, `mqtt`). */
  connectionOpened(protocol: string): void;
  /** A connection closed: its protocol, why (a short stable word: `normal`, `protocol_error`, ...) and its lifetime. */
  connectionClosed(protocol: string, reason: string, lifetimeMs: number): void;
  /** A login was refused: `denied`, `failed`, `no_method`, ... */
  authFailed(protocol: string, reason: string): void;
  /** A message in or out, by protocol and type (`PUBLISH`, `EVENT`, `CALL`...), with its size in bytes. */
  messageIn(protocol: string, type: string, bytes: number): void;
  messageOut(protocol: string, type: string, bytes: number): void;
  /** A message not delivered: `slow_consumer`, `queue_full`, `offline`, `too_large`, `uncrossable`, `expired`. */
  dropped(reason: string): void;
  /** A call ended: `result`, `error`, `timeout`, `canceled`, `no_such_procedure`..., after `latencyMs`. */
  callEnded(outcome: string, latencyMs: number): void;
  /** A limit was hit: `handshake_timeout`, `max_connections`, `accept_rate`, `message_size`, `origin`. */
  limitHit(limit: string): void;
  /**
   * Optional: `messageIn` or `messageOut` for one protocol and type, bound once, so that a hot path need not find
   * its counters by label per message. Callers fall back on the two methods above when it is absent.
   */
  messageCounter?(direction: 'in' | 'out', protocol: string, type: string): MessageCounter;
}

/** Counts messages of one direction, protocol and type; `bytes` as for `messageIn`. */
export interface MessageCounter {
  count(bytes: number): void;
}

/** The counter for one direction, protocol and type: `messageCounter` when the metrics have it, else a wrapper. */
export function bindMessageCounter(metrics: Metrics, direction: 'in' | 'out', protocol: string, type: string): MessageCounter {
  return (
    metrics.messageCounter?.(direction, protocol, type) ??
    (direction === 'in'
      ? { count: (bytes) => metrics.messageIn(protocol, type, bytes) }
      : { count: (bytes) => metrics.messageOut(protocol, type, bytes) })
  );
}

export const noMetrics: Metrics = {
  connectionOpened: () => undefined,
  connectionClosed: () => undefined,
  authFailed: () => undefined,
  messageIn: () => undefined,
  messageOut: () => undefined,
  dropped: () => undefined,
  callEnded: () => undefined,
  limitHit: () => undefined,
};
