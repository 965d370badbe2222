import type { Connection, ModuleContext, ModuleFactory, ProtocolModule } from '../../src/port.js';
import { Uri } from './errors.js';
import { WampPeer } from './peer.js';
import { serializers } from './serializers/index.js';

/** The WAMP v2 module: `wamp.2.json` and `wamp.2.cbor` over WebSocket. */
export const createWampModule: ModuleFactory = (context: ModuleContext): ProtocolModule => {
  return {
    name: 'wamp',
    subprotocols: [...serializers.keys()],
    accept(connection: Connection) {
      const serializer = serializers.get(connection.protocol);
      if (serializer === undefined) {
        connection.close(1011, 'no serializer');
        return;
      }
      connection.setHandler(new WampPeer(connection, serializer, context));
    },
    // Only established peers say GOODBYE, and exactly those are in a realm: the realms find them, so the module
    // keeps no set of its peers (an entry per connection).
    shutdown(reason = Uri.systemShutdown) {
      for (const name of context.realmNames()) {
        const realm = context.realm(name);
        if (realm === undefined) continue;
        for (const session of [...realm.sessions.values()]) {
          if (session.sink instanceof WampPeer) session.sink.goodbye(reason, 'the router is shutting down');
        }
      }
    },
  };
};
