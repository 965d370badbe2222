/**
 * The `messages_in_total` / `messages_out_total` counters of MQTT packets, bound once per packet type and
 * direction. Every packet in and out is counted: looking the counter up by its labels (and upper-casing the packet
 * type for the label) per packet showed in the QoS 1 profiles, so each (direction, type) is bound on first use.
 */
import { bindMessageCounter, type MessageCounter as Counter, type Metrics } from '../../src/port.js';

export class PacketCounters {
  private readonly in = new Map<string, Counter>();
  private readonly out = new Map<string, Counter>();

  constructor(private readonly metrics: Metrics) {}

  /** A packet received, by its mqtt-packet `cmd` (`publish`, `puback`...), of `bytes` bytes. */
  received(cmd: string, bytes: number): void {
    (this.in.get(cmd) ?? this.bind(this.in, 'in', cmd)).count(bytes);
  }

  sent(cmd: string, bytes: number): void {
    (this.out.get(cmd) ?? this.bind(this.out, 'out', cmd)).count(bytes);
  }

  private bind(table: Map<string, Counter>, direction: 'in' | 'out', cmd: string): Counter {
    const counter = bindMessageCounter(this.metrics, direction, 'mqtt', cmd.toUpperCase());
    table.set(cmd, counter);
    return counter;
  }
}
