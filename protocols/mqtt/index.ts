import type { Connection, ModuleContext, ProtocolModule } from '../../src/port.js';
import { MqttConnection } from './connection.js';
import { MqttHub } from './hub.js';
import type { MqttOptions } from './options.js';
import { Reason } from './reason-codes.js';
import { restoreSessions } from './restore.js';
import { SysPublisher } from './sys.js';

export type { MqttOptions } from './options.js';

export interface MqttModule extends ProtocolModule {
  readonly hub: MqttHub;
}

/**
 * The MQTT module: MQTT 3.1.1 and 5.0 over WebSocket (subprotocol `mqtt`, and the legacy `mqttv3.1`) and over
 * TCP, whose listener hands it connections the same way.
 */
export function createMqttModule(context: ModuleContext, options: MqttOptions): MqttModule {
  const hub = new MqttHub(context, options);
  restoreSessions(hub);
  const sys = options.sysInterval > 0 ? new SysPublisher(hub, options.sysInterval) : undefined;
  return {
    name: 'mqtt',
    subprotocols: ['mqtt', 'mqttv3.1'],
    hub,
    accept(network: Connection) {
      const connection = new MqttConnection(network, hub);
      network.setHandler(connection);
    },
    shutdown() {
      sys?.stop();
      for (const connection of [...hub.connections]) connection.disconnect(Reason.ServerShuttingDown, 'the router is shutting down');
    },
  };
}
