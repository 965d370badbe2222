/**
 * `$SYS/broker/...` topics, published retained in every realm every `mqtt.sysInterval` seconds. They can only be
 * seen by subscribing to `$SYS/...` explicitly: a filter starting with a wildcard never matches them
 * [MQTT-4.7.2-1]. Rates are per second, averaged over the last interval.
 */
import { Payload } from '../../src/port.js';
import type { MqttHub } from './hub.js';
import type { MqttStats } from './stats.js';

export const SYS_TOPICS = {
  uptime: '$SYS/broker/uptime',
  clientsConnected: '$SYS/broker/clients/connected',
  messagesReceived: '$SYS/broker/messages/received',
  messagesSent: '$SYS/broker/messages/sent',
  bytesReceived: '$SYS/broker/bytes/received',
  bytesSent: '$SYS/broker/bytes/sent',
  messagesReceivedRate: '$SYS/broker/load/messages/received/persecond',
  messagesSentRate: '$SYS/broker/load/messages/sent/persecond',
  bytesReceivedRate: '$SYS/broker/load/bytes/received/persecond',
  bytesSentRate: '$SYS/broker/load/bytes/sent/persecond',
} as const;

type Totals = Pick<MqttStats, 'messagesReceived' | 'messagesSent' | 'bytesReceived' | 'bytesSent'>;

export class SysPublisher {
  private readonly timer: NodeJS.Timeout;
  private last: Totals;
  private lastAt = Date.now();

  constructor(
    private readonly hub: MqttHub,
    intervalSec: number,
  ) {
    this.last = snapshot(hub.stats);
    this.timer = setInterval(() => this.publish(), intervalSec * 1000);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  publish(): void {
    const now = Date.now();
    const seconds = Math.max((now - this.lastAt) / 1000, 0.001);
    const totals = snapshot(this.hub.stats);
    const rate = (key: keyof Totals) => Math.round((totals[key] - this.last[key]) / seconds);
    const values: Array<[string, number]> = [
      [SYS_TOPICS.uptime, Math.floor((now - this.hub.startedAt) / 1000)],
      [SYS_TOPICS.clientsConnected, this.hub.connectedClients],
      [SYS_TOPICS.messagesReceived, totals.messagesReceived],
      [SYS_TOPICS.messagesSent, totals.messagesSent],
      [SYS_TOPICS.bytesReceived, totals.bytesReceived],
      [SYS_TOPICS.bytesSent, totals.bytesSent],
      [SYS_TOPICS.messagesReceivedRate, rate('messagesReceived')],
      [SYS_TOPICS.messagesSentRate, rate('messagesSent')],
      [SYS_TOPICS.bytesReceivedRate, rate('bytesReceived')],
      [SYS_TOPICS.bytesSentRate, rate('bytesSent')],
    ];
    this.last = totals;
    this.lastAt = now;
    for (const name of this.hub.context.realmNames()) {
      const system = this.hub.context.realm(name)?.system;
      if (system === undefined) continue;
      for (const [topic, value] of values) {
        system.publish(topic.split('/'), Payload.fromBytes(Buffer.from(String(value))), {
          excludeMe: true,
          disclose: false,
          qos: 0,
          retain: true,
        });
      }
    }
  }
}

function snapshot(stats: MqttStats): Totals {
  return {
    messagesReceived: stats.messagesReceived,
    messagesSent: stats.messagesSent,
    bytesReceived: stats.bytesReceived,
    bytesSent: stats.bytesSent,
  };
}
