/**
 * The `messages_in_total` / `messages_out_total` counters of WAMP messages, bound once per direction, serializer
 * and message type. Looking a counter up by its labels for every message showed in the RPC profile (about 2% of
 * the router's time, with the call-duration histogram); one table serves every peer of the same metrics.
 */
import { bindMessageCounter, type MessageCounter as Counter, type Metrics } from '../../src/port.js';

type Table = Map<string, Map<string, Counter>>;

export class MessageCounters {
  private readonly in: Table = new Map();
  private readonly out: Table = new Map();

  constructor(private readonly metrics: Metrics) {}

  /** A message received on a connection of `protocol` (`wamp.2.json`...), of type `type` (`CALL`...). */
  received(protocol: string, type: string, bytes: number): void {
    (this.in.get(protocol)?.get(type) ?? this.bind(this.in, 'in', protocol, type)).count(bytes);
  }

  sent(protocol: string, type: string, bytes: number): void {
    (this.out.get(protocol)?.get(type) ?? this.bind(this.out, 'out', protocol, type)).count(bytes);
  }

  private bind(table: Table, direction: 'in' | 'out', protocol: string, type: string): Counter {
    const counter = bindMessageCounter(this.metrics, direction, protocol, type);
    let byType = table.get(protocol);
    if (byType === undefined) table.set(protocol, (byType = new Map()));
    byType.set(type, counter);
    return counter;
  }
}

const shared = new WeakMap<Metrics, MessageCounters>();

/** The counters for `metrics`, made once and shared by every peer that counts into it. */
export function messageCounters(metrics: Metrics): MessageCounters {
  let counters = shared.get(metrics);
  if (counters === undefined) shared.set(metrics, (counters = new MessageCounters(metrics)));
  return counters;
}
