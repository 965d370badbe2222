import { Type } from './codes.js';
import type { ClientMessage } from './messages.js';
import type { WampPeer } from './peer.js';
import { handlePublish, handleSubscribe, handleUnsubscribe } from './pubsub.js';
import { handleCall, handleCancel, handleError, handleRegister, handleUnregister, handleYield } from './rpc.js';

export type Handler<M extends ClientMessage> = (peer: WampPeer, message: M) => void;

type Handlers = { [T in ClientMessage['type']]?: Handler<Extract<ClientMessage, { type: T }>> };

/** One handler per message type an established session may send; GOODBYE and ABORT are the peer's own. */
export const establishedHandlers: Handlers = {
  [Type.SUBSCRIBE]: handleSubscribe,
  [Type.UNSUBSCRIBE]: handleUnsubscribe,
  [Type.PUBLISH]: handlePublish,
  [Type.REGISTER]: handleRegister,
  [Type.UNREGISTER]: handleUnregister,
  [Type.CALL]: handleCall,
  [Type.CANCEL]: handleCancel,
  [Type.YIELD]: handleYield,
  [Type.ERROR]: handleError,
};
