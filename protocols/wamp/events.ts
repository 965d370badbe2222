import {
  randomPublicationId,
  userPropertiesToObject,
  type MessageProperties,
  type Payload,
  type Publication,
  type RetainedMessage,
  type SubscriptionRef,
} from '../../src/port.js';
import { Type } from './codes.js';
import type { Serializer } from './serializers/index.js';
import { fromComponents } from './uri.js';

/**
 * EVENT encoding, once per (publication, subscription, serializer): every receiver of one subscription gets
 * the same bytes. Fan-out is synchronous and walks one subscription's receivers in a row, so remembering the
 * last encoding per serializer is enough to hit for all of them.
 */
/** Why an EVENT could not be made: a topic with no WAMP spelling, or a payload this serializer cannot write. */
export type Undeliverable = 'uncrossable' | 'unencodable';

interface Memo {
  publication: Publication | undefined;
  subscription: SubscriptionRef | undefined;
  bytes: Buffer | Undeliverable | undefined;
}

const memos = new Map<Serializer, Memo>();

export function encodeEvent(serializer: Serializer, publication: Publication, subscription: SubscriptionRef): Buffer | Undeliverable {
  let memo = memos.get(serializer);
  if (memo === undefined) {
    memo = { publication: undefined, subscription: undefined, bytes: undefined };
    memos.set(serializer, memo);
  }
  if (memo.publication === publication && memo.subscription === subscription && memo.bytes !== undefined) return memo.bytes;
  memo.publication = publication;
  memo.subscription = subscription;
  try {
    memo.bytes = build(serializer, publication, subscription);
  } catch {
    // The sink must not throw into the broker's fan-out; this subscription's receivers miss this event.
    memo.bytes = 'unencodable';
  }
  return memo.bytes;
}

function build(serializer: Serializer, publication: Publication, subscription: SubscriptionRef): Buffer | Undeliverable {
  const details: Record<string, unknown> = {};
  // An exact subscription only matches topics spelled like its own URI; a pattern can match a topic from
  // another protocol whose components have no WAMP spelling.
  if (subscription.policy !== 'exact') {
    const topic = fromComponents(publication.topic);
    if (topic === undefined) return 'uncrossable';
    details.topic = topic;
  }
  addMessageProperties(details, publication.properties);
  if (publication.disclose) {
    const publisher = publication.publisher;
    details.publisher = publisher.id;
    details.publisher_authid = publisher.authid;
    details.publisher_authrole = publisher.authrole;
  }
  return serializer.encode(eventMessage(subscription.id, publication.id, details, publication.payload), publication.payload.hasBinary);
}

function eventMessage(subscriptionId: number, publicationId: number, details: Record<string, unknown>, payload: Payload): unknown[] {
  const { args, kwargs } = payload;
  const message: unknown[] = [Type.EVENT, subscriptionId, publicationId, details];
  if (kwargs !== undefined) message.push(args ?? [], kwargs);
  else if (args !== undefined) message.push(args);
  return message;
}

/**
 * A retained event for a new subscription (WAMP event retention): `details.retained` is true, and pattern
 * subscriptions see the topic. Undefined when the topic has no WAMP spelling.
 */
export function encodeRetainedEvent(retained: RetainedMessage, subscription: SubscriptionRef): unknown[] | undefined {
  const topic = fromComponents(retained.topic);
  if (topic === undefined) return undefined;
  const details: Record<string, unknown> = { retained: true };
  if (subscription.policy !== 'exact') details.topic = topic;
  addMessageProperties(details, retained.properties);
  return eventMessage(subscription.id, randomPublicationId(), details, retained.payload);
}

/** MQTT 5 metadata travels in the EVENT details (README, "Topics and payloads across protocols"). */
function addMessageProperties(details: Record<string, unknown>, properties: MessageProperties | undefined): void {
  if (properties === undefined) return;
  if (properties.contentType !== undefined) details.content_type = properties.contentType;
  if (properties.userProperties !== undefined && properties.userProperties.length > 0) {
    details.user_properties = userPropertiesToObject(properties.userProperties);
  }
}

