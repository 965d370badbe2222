/** SUBSCRIBE, UNSUBSCRIBE and PUBLISH (WAMP RFC draft, "Publish and Subscribe"). */
import { Payload } from '../../src/port.js';
import { Type } from './codes.js';
import { errorUri, Uri } from './errors.js';
import type { ClientMessage } from './messages.js';
import { encodeRetainedEvent } from './events.js';
import { getRetainedOption, matchOption, OptionError, publishOptions } from './options.js';
import type { WampPeer } from './peer.js';
import { isValidUri, toComponents } from './uri.js';

type Msg<T extends number> = Extract<ClientMessage, { type: T }>;

export function handleSubscribe(peer: WampPeer, message: Msg<typeof Type.SUBSCRIBE>): void {
  const session = peer.session!;
  let match;
  let getRetained;
  try {
    match = matchOption(message.options);
    getRetained = getRetainedOption(message.options);
  } catch (error) {
    peer.sendError(Type.SUBSCRIBE, message.request, Uri.invalidArgument, (error as OptionError).message);
    return;
  }
  if (!isValidUri(message.topic, peer.uriRule, match)) {
    peer.sendError(Type.SUBSCRIBE, message.request, Uri.invalidUri, `invalid topic for match '${match}'`);
    return;
  }
  const pattern = toComponents(message.topic, match);
  const result = session.subscribe(pattern, match, {});
  if (!result.ok) {
    peer.sendError(Type.SUBSCRIBE, message.request, errorUri(result.error), result.message);
    return;
  }
  const { subscription } = result.value;
  peer.send([Type.SUBSCRIBED, message.request, subscription.id]);
  if (getRetained) {
    for (const retained of session.realm.broker.retainedFor(pattern, match)) {
      const event = encodeRetainedEvent(retained, subscription);
      if (event !== undefined) peer.send(event, retained.payload.hasBinary);
    }
  }
}

export function handleUnsubscribe(peer: WampPeer, message: Msg<typeof Type.UNSUBSCRIBE>): void {
  const result = peer.session!.unsubscribe(message.subscription);
  if (!result.ok) {
    peer.sendError(Type.UNSUBSCRIBE, message.request, errorUri(result.error), result.message);
    return;
  }
  peer.send([Type.UNSUBSCRIBED, message.request]);
}

/** Errors for a publication are only sent when the publisher asked for an acknowledgement. */
export function handlePublish(peer: WampPeer, message: Msg<typeof Type.PUBLISH>): void {
  let options;
  try {
    options = publishOptions(message.options);
  } catch (error) {
    if (message.options.acknowledge === true) {
      peer.sendError(Type.PUBLISH, message.request, Uri.invalidArgument, (error as OptionError).message);
    }
    return;
  }
  if (!isValidUri(message.topic, peer.uriRule)) {
    if (options.acknowledge) peer.sendError(Type.PUBLISH, message.request, Uri.invalidUri, 'invalid topic');
    return;
  }
  const payload = Payload.fromArgs(message.args, message.kwargs);
  const result = peer.session!.publish(toComponents(message.topic), payload, options);
  if (!options.acknowledge) return;
  if (!result.ok) {
    peer.sendError(Type.PUBLISH, message.request, errorUri(result.error), result.message);
    return;
  }
  // PUBLISHED promises that persistent subscribers (MQTT sessions) and the retained event have it: once durable.
  const published: unknown[] = [Type.PUBLISHED, message.request, result.value.id];
  const barrier = peer.context.persistence.barrier();
  if (barrier === undefined) {
    peer.send(published);
    return;
  }
  barrier.then(
    () => peer.send(published),
    (error: unknown) => {
      peer.log.error({ err: error }, 'store write failed: publication not acknowledged');
      peer.sendError(Type.PUBLISH, message.request, Uri.storeUnavailable, 'the router could not store the publication');
    },
  );
}
