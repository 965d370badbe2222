import type { Logger, ModuleContext, Principal, Realm, TransportInfo } from '../../src/port.js';
import type { MqttConnection } from './connection.js';
import { PacketCounters } from './counters.js';
import type { MqttOptions } from './options.js';
import { MqttSession } from './session.js';
import { createStats, type MqttStats } from './stats.js';

/** What every MQTT connection of one router shares: settings, sessions by client id, and counters. */
export class MqttHub {
  /** Sessions by realm and client id (see `sessionKey`). */
  readonly sessions = new Map<string, MqttSession>();
  readonly connections = new Set<MqttConnection>();
  readonly stats: MqttStats = createStats();
  readonly startedAt = Date.now();
  readonly packets: PacketCounters;

  constructor(
    readonly context: ModuleContext,
    readonly options: MqttOptions,
  ) {
    this.packets = new PacketCounters(context.metrics);
  }

  /** Client ids are unique per realm; U+0000 cannot occur in a realm name, so it separates the two. */
  static sessionKey(realm: string, clientId: string): string {
    return `${realm}\u0000${clientId}`;
  }

  /** A new session, joined to its realm and known to the hub until it ends. */
  createSession(key: string, clientId: string, realm: Realm, principal: Principal, log: Logger, transport: TransportInfo): MqttSession {
    const session = new MqttSession(
      key,
      clientId,
      { maxQueued: this.options.maxQueued, store: this.context.persistence.sessions },
      this.stats,
      log,
      (ended) => {
        if (this.sessions.get(ended.key) === ended) this.sessions.delete(ended.key);
      },
      this.context.metrics,
    );
    session.core = realm.join(principal, transport, session, { interrupts: false });
    this.sessions.set(key, session);
    return session;
  }

  get connectedClients(): number {
    let count = 0;
    for (const connection of this.connections) if (connection.state === 'connected') count++;
    return count;
  }
}
