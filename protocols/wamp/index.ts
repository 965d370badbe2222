import type { Connection, ModuleContext, ModuleFactory, ProtocolModule } from '../../src/port.js';
import { Uri } from './errors.js';
import { WampPeer } from './peer.js';
import { serializers } from './serializers/index.js';

/** The WAMP v2 module: `wamp.2.json` and `wamp.2.cbor` over WebSocket. */
export const createWampModule: ModuleFactory = (context: ModuleContext): ProtocolModule => {
  const peers = new Set<WampPeer>();
  return {
    name: 'wamp',
    subprotocols: [...serializers.keys()],
    accept(connection: Connection) {
      const serializer = serializers.get(connection.protocol);
      if (serializer === undefined) {
        connection.close(1011, 'no serializer');
        return;
      }
      const peer = new WampPeer(connection, serializer, context, peers);
      peers.add(peer);
      connection.setHandler(peer);
    },
    shutdown(reason = Uri.systemShutdown) {
      for (const peer of peers) peer.goodbye(reason, 'the router is shutting down');
    },
  };
};
