/** REGISTER, UNREGISTER, CALL, CANCEL, YIELD and a callee's ERROR (WAMP RFC draft, "Remote Procedure Calls"). */
import { Payload } from '../../src/port.js';
import { Type } from './codes.js';
import { errorUri, Uri } from './errors.js';
import type { ClientMessage } from './messages.js';
import { callOptions, cancelMode, OptionError, registerOptions } from './options.js';
import type { WampPeer } from './peer.js';
import { isValidUri, toComponents } from './uri.js';

type Msg<T extends number> = Extract<ClientMessage, { type: T }>;

export function handleRegister(peer: WampPeer, message: Msg<typeof Type.REGISTER>): void {
  let options;
  try {
    options = registerOptions(message.options);
  } catch (error) {
    peer.sendError(Type.REGISTER, message.request, Uri.invalidArgument, (error as OptionError).message);
    return;
  }
  if (!isValidUri(message.procedure, peer.uriRule, options.match)) {
    peer.sendError(Type.REGISTER, message.request, Uri.invalidUri, `invalid procedure for match '${options.match}'`);
    return;
  }
  const result = peer.session!.register(toComponents(message.procedure, options.match), options.match, {
    invoke: options.invoke,
    discloseCaller: options.discloseCaller,
  });
  if (!result.ok) {
    peer.sendError(Type.REGISTER, message.request, errorUri(result.error), result.message);
    return;
  }
  peer.send([Type.REGISTERED, message.request, result.value.id]);
}

export function handleUnregister(peer: WampPeer, message: Msg<typeof Type.UNREGISTER>): void {
  const result = peer.session!.unregister(message.registration);
  if (!result.ok) {
    peer.sendError(Type.UNREGISTER, message.request, errorUri(result.error), result.message);
    return;
  }
  peer.send([Type.UNREGISTERED, message.request]);
}

export function handleCall(peer: WampPeer, message: Msg<typeof Type.CALL>): void {
  let options;
  try {
    options = callOptions(message.options);
  } catch (error) {
    peer.sendError(Type.CALL, message.request, Uri.invalidArgument, (error as OptionError).message);
    return;
  }
  if (!isValidUri(message.procedure, peer.uriRule)) {
    peer.sendError(Type.CALL, message.request, Uri.invalidUri, 'invalid procedure');
    return;
  }
  const payload = Payload.fromArgs(message.args, message.kwargs);
  const result = peer.session!.call(message.request, toComponents(message.procedure), payload, options);
  if (!result.ok) peer.sendError(Type.CALL, message.request, errorUri(result.error), result.message);
}

export function handleCancel(peer: WampPeer, message: Msg<typeof Type.CANCEL>): void {
  let mode;
  try {
    mode = cancelMode(message.options);
  } catch (error) {
    peer.sendError(Type.CANCEL, message.request, Uri.invalidArgument, (error as OptionError).message);
    return;
  }
  // A cancel for a call that already ended crossed its result on the wire: nothing to do.
  const result = peer.session!.cancel(message.request, mode);
  if (!result.ok) peer.log.debug({ request: message.request }, 'CANCEL for a call that is not pending');
}

export function handleYield(peer: WampPeer, message: Msg<typeof Type.YIELD>): void {
  if (message.options.progress === true) {
    peer.protocolViolation('progressive results are not supported by this router');
    return;
  }
  const result = peer.session!.yield(message.request, Payload.fromArgs(message.args, message.kwargs));
  // Late answers (after a timeout or cancel) are expected and dropped.
  if (!result.ok) peer.log.debug({ request: message.request }, 'YIELD for an invocation that is not pending');
}

/** ERROR from a callee answers an INVOCATION; any other request type is not one a client may answer. */
export function handleError(peer: WampPeer, message: Msg<typeof Type.ERROR>): void {
  if (message.requestType !== Type.INVOCATION) {
    peer.protocolViolation(`ERROR may only answer an INVOCATION, not message type ${message.requestType}`);
    return;
  }
  if (!isValidUri(message.error, 'loose')) {
    peer.protocolViolation('ERROR.Error must be a valid URI');
    return;
  }
  const payload = message.args !== undefined || message.kwargs !== undefined ? Payload.fromArgs(message.args, message.kwargs) : undefined;
  const result = peer.session!.fail(message.request, message.error, payload);
  if (!result.ok) peer.log.debug({ request: message.request }, 'ERROR for an invocation that is not pending');
}
