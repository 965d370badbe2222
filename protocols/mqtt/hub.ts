import type { ModuleContext, Principal, Realm, TransportInfo } from '../../src/port.js';
import type { MqttConnection } from './connection.js';
import { PacketCounters } from './counters.js';
import type { MqttOptions } from './options.js';
import { MqttSession, type SessionSettings } from './session.js';
import { createStats, type MqttStats } from './stats.js';

/** MQTT has no way to interrupt a call in progress (WAMP's INTERRUPT); shared by every session. */
const MQTT_FEATURES = Object.freeze({ interrupts: false });

/** What every MQTT connection of one router shares: settings, sessions by client id, and counters. */
export class MqttHub {
  /** Sessions by realm and client id (see `sessionKey`). */
  readonly sessions = new Map<string, MqttSession>();
  readonly connections = new Set<MqttConnection>();
  readonly stats: MqttStats = createStats();
  readonly startedAt = Date.now();
  readonly packets: PacketCounters;
  /** One settings object and one end callback for every session, rather than a copy of each per session. */
  private readonly sessionSettings: SessionSettings;
  private readonly forget = (ended: MqttSession): void => {
    if (this.sessions.get(ended.key) === ended) this.sessions.delete(ended.key);
  };

  constructor(
    readonly context: ModuleContext,
    readonly options: MqttOptions,
  ) {
    this.packets = new PacketCounters(context.metrics);
    this.sessionSettings = { maxQueued: options.maxQueued, store: context.persistence.sessions };
  }

  /** Client ids are unique per realm; U+0000 cannot occur in a realm name, so it separates the two. */
  static sessionKey(realm: string, clientId: string): string {
    return `${realm}\u0000${clientId}`;
  }

  /**
   * A new session in `realm`, joined to it and known to the hub until it ends. It logs through the module's logger, with its client id in each line, not through a
   * child of its first connection's: a session can outlive that connection, and a child logger per session cost
   * about 3 KB per idle client (its bound fields kept as a chain of concatenated strings).
   */
  createSession(key: string, clientId: string, realm: Realm, principal: Principal, transport: TransportInfo): MqttSession {
    const session = new MqttSession(
      key,
      clientId,
      this.sessionSettings,
      this.stats,
      this.context.log,
      this.forget,
      this.context.metrics,
    );
    session.core = realm.join(principal, transport, session, MQTT_FEATURES);
    this.sessions.set(key, session);
    return session;
  }

  get connectedClients(): number {
    let count = 0;
    for (const connection of this.connections) if (connection.state === 'connected') count++;
    return count;
  }
}
