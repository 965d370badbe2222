import type { RetainedMessage, RetainedStore } from '../store/types.js';
import { CoreError, fail, ok, type Result } from './errors.js';
import { randomId } from './ids.js';
import { isReservedForRouter } from './reserved.js';
import type { MatchIndex, Policy } from './match/types.js';
import type { Payload } from './payload.js';
import type { Session } from './session.js';
import type {
  Authorizer,
  Match,
  Publication,
  PublishOptions,
  ShareGroup,
  SharedSubscription,
  SubscribeResult,
  SubscriberOptions,
  Subscription,
} from './types.js';

/**
 * Pub/sub routing. Subscribers to the same (pattern, policy) share one subscription; a publication is
 * matched with one index walk and handed to each receiver's sink synchronously, the same object for all.
 * Shared subscriptions live in an index of their own, whose observers are share groups.
 */
export class Broker {
  constructor(
    private readonly index: MatchIndex<Session, SubscriberOptions>,
    private readonly shared: MatchIndex<ShareGroup, ShareGroup>,
    private readonly authorizer: Authorizer,
    readonly retained: RetainedStore,
  ) {}

  get subscriptionCount(): number {
    return this.index.size + this.shared.size;
  }

  /**
   * Whether a publication on this topic would reach anyone: some subscription, shared or not, matches it. Lets
   * the router skip building payloads nobody receives (meta events); receiver filters are not applied, so a
   * `true` may still end up delivering nothing.
   */
  hasSubscribers(topic: readonly string[]): boolean {
    if (this.index.size === 0 && this.shared.size === 0) return false;
    const matches: Subscription[] = [];
    this.index.matchAll(topic, matches);
    if (matches.length > 0) return true;
    if (this.shared.size === 0) return false;
    const shared: SharedSubscription[] = [];
    this.shared.matchAll(topic, shared);
    return shared.length > 0;
  }

  subscribe(
    session: Session,
    pattern: readonly string[],
    policy: Policy,
    options: SubscriberOptions,
  ): Result<SubscribeResult<Subscription>> {
    if (!this.authorizer.authorize(session, 'subscribe', pattern, policy)) return fail(CoreError.NotAuthorized);
    const { observation, first, already } = this.index.add(pattern, policy, session, options);
    session.subscriptionsForWrite().set(observation.id, observation);
    return ok({ subscription: observation, first, renewed: already });
  }

  unsubscribe(session: Session, subscriptionId: number): Result<Subscription> {
    const subscription = session.subscriptions.get(subscriptionId);
    if (subscription === undefined) return fail(CoreError.NoSuchSubscription);
    session.subscriptionsForWrite().delete(subscriptionId);
    this.index.remove(subscription, session);
    return ok(subscription);
  }

  /** Joins a share group on a pattern (MQTT `$share/{group}/{filter}`). */
  subscribeShared(
    session: Session,
    group: string,
    pattern: readonly string[],
    policy: Policy,
    options: SubscriberOptions,
  ): Result<SubscribeResult<SharedSubscription>> {
    if (!this.authorizer.authorize(session, 'subscribe', pattern, policy)) return fail(CoreError.NotAuthorized);
    let observation = this.shared.lookup(pattern, policy);
    let shareGroup = observation === undefined ? undefined : findGroup(observation, group);
    const first = shareGroup === undefined;
    if (shareGroup === undefined) {
      shareGroup = { name: group, members: new Map(), cursor: 0 };
      observation = this.shared.add(pattern, policy, shareGroup, shareGroup).observation;
    }
    const renewed = shareGroup.members.has(session);
    shareGroup.members.set(session, options);
    session.sharedSubscriptionsForWrite().set(sharedKey(group, observation!.id), { subscription: observation!, group: shareGroup });
    return ok({ subscription: observation!, first, renewed });
  }

  unsubscribeShared(session: Session, group: string, pattern: readonly string[], policy: Policy): Result<SharedSubscription> {
    const observation = this.shared.lookup(pattern, policy);
    const shareGroup = observation === undefined ? undefined : findGroup(observation, group);
    if (observation === undefined || shareGroup === undefined || !shareGroup.members.has(session)) {
      return fail(CoreError.NoSuchSubscription);
    }
    this.leaveGroup(session, observation, shareGroup);
    return ok(observation);
  }

  private leaveGroup(session: Session, observation: SharedSubscription, group: ShareGroup): void {
    group.members.delete(session);
    session.sharedSubscriptionsForWrite().delete(sharedKey(group.name, observation.id));
    if (group.members.size === 0) this.shared.remove(observation, group);
  }

  /** Drops every subscription of a leaving session, through its back-references. */
  dropSession(session: Session): void {
    if (session.subscriptions.size > 0) {
      for (const subscription of session.subscriptions.values()) this.index.remove(subscription, session);
      session.subscriptionsForWrite().clear();
    }
    if (session.sharedSubscriptions.size > 0) {
      for (const { subscription, group } of [...session.sharedSubscriptions.values()]) this.leaveGroup(session, subscription, group);
    }
  }

  /** The retained messages a new subscription on this pattern should see. */
  retainedFor(pattern: readonly string[], policy: Policy): RetainedMessage[] {
    return this.retained.matching(pattern, policy);
  }

  publish(publisher: Session, topic: readonly string[], payload: Payload, options: PublishOptions): Result<Publication> {
    if (isReservedForRouter(topic) && publisher !== publisher.realm.system) {
      return fail(CoreError.NotAuthorized, 'this namespace is reserved for the router');
    }
    if (!this.authorizer.authorize(publisher, 'publish', topic, 'exact')) return fail(CoreError.NotAuthorized);
    const publication: Publication = {
      id: randomId(),
      topic,
      payload,
      publisher,
      disclose: options.disclose,
      qos: options.qos ?? 0,
      retain: options.retain === true,
      properties: options.properties,
    };
    if (publication.retain) this.keep(publication);
    const matches: Subscription[] = [];
    this.index.matchAll(topic, matches);
    const filter = hasReceiverFilter(options) ? new ReceiverFilter(options) : undefined;
    if (matches.length === 1) this.deliverOne(publication, matches[0]!, options, filter);
    else if (matches.length > 1) this.deliverMany(publication, matches, options, filter);
    if (this.shared.size > 0) this.deliverShared(publication, options, filter);
    return ok(publication);
  }

  /** An empty byte payload clears the topic's retained message [MQTT-3.3.1-6]; anything else replaces it. */
  private keep(publication: Publication): void {
    const { payload } = publication;
    if (payload.origin === 'bytes' && payload.bytes.length === 0) {
      this.retained.delete(publication.topic);
      return;
    }
    this.retained.set({
      topic: publication.topic,
      payload,
      qos: publication.qos,
      properties: publication.properties,
      storedAt: Date.now(),
    });
  }

  private deliverOne(publication: Publication, subscription: Subscription, options: PublishOptions, filter: ReceiverFilter | undefined): void {
    const publisher = publication.publisher;
    for (const [receiver, subscriberOptions] of subscription.observers) {
      if (receiver === publisher && (options.excludeMe || subscriberOptions.noLocal === true)) continue;
      if (filter !== undefined && !filter.admits(receiver)) continue;
      receiver.sink.event(publication, subscription, subscriberOptions);
    }
  }

  /**
   * Several subscriptions matched. Sinks that take grouped deliveries get one call per receiver with every match;
   * the others get one event per subscription, as WAMP wants.
   */
  private deliverMany(publication: Publication, matches: Subscription[], options: PublishOptions, filter: ReceiverFilter | undefined): void {
    const publisher = publication.publisher;
    let grouped: Map<Session, Match[]> | undefined;
    for (const subscription of matches) {
      for (const [receiver, subscriberOptions] of subscription.observers) {
        if (receiver === publisher && (options.excludeMe || subscriberOptions.noLocal === true)) continue;
        if (filter !== undefined && !filter.admits(receiver)) continue;
        if (receiver.sink.eventGroup === undefined) {
          receiver.sink.event(publication, subscription, subscriberOptions);
          continue;
        }
        grouped ??= new Map();
        const list = grouped.get(receiver);
        if (list === undefined) grouped.set(receiver, [{ subscription, options: subscriberOptions }]);
        else list.push({ subscription, options: subscriberOptions });
      }
    }
    if (grouped === undefined) return;
    for (const [receiver, list] of grouped) {
      if (list.length === 1) receiver.sink.event(publication, list[0]!.subscription, list[0]!.options);
      else receiver.sink.eventGroup!(publication, list);
    }
  }

  /** Each matching share group hands the publication to one member: the next available one, round robin. */
  private deliverShared(publication: Publication, options: PublishOptions, filter: ReceiverFilter | undefined): void {
    const matches: SharedSubscription[] = [];
    this.shared.matchAll(publication.topic, matches);
    for (const subscription of matches) {
      for (const group of subscription.observers.keys()) {
        const member = pickMember(group, publication.publisher, options.excludeMe, filter);
        if (member !== undefined) member[0].sink.event(publication, subscription, member[1]);
      }
    }
  }
}

/** How a session's back-reference to a share group membership is keyed. */
export function sharedKey(group: string, subscriptionId: number): string {
  return `${group}\u0000${subscriptionId}`;
}

function findGroup(observation: SharedSubscription, name: string): ShareGroup | undefined {
  for (const group of observation.observers.keys()) if (group.name === name) return group;
  return undefined;
}

/**
 * The next member after the group's cursor that is available (online, not saturated) and admitted by the
 * publication's filters. When none is available the next admitted member gets it anyway, so that a QoS 1/2
 * message waits in its queue rather than being lost.
 */
function pickMember(
  group: ShareGroup,
  publisher: Session,
  excludeMe: boolean,
  filter: ReceiverFilter | undefined,
): [Session, SubscriberOptions] | undefined {
  const members = [...group.members];
  const count = members.length;
  const start = group.cursor;
  let fallback: number | undefined;
  for (let step = 0; step < count; step++) {
    const position = (start + step) % count;
    const [session] = members[position]!;
    if (session === publisher && excludeMe) continue;
    if (filter !== undefined && !filter.admits(session)) continue;
    if (session.available) {
      group.cursor = position + 1;
      return members[position];
    }
    fallback ??= position;
  }
  if (fallback === undefined) return undefined;
  group.cursor = fallback + 1;
  return members[fallback];
}

function hasReceiverFilter(options: PublishOptions): boolean {
  return (
    options.exclude !== undefined ||
    options.eligible !== undefined ||
    options.excludeAuthid !== undefined ||
    options.eligibleAuthid !== undefined ||
    options.excludeAuthrole !== undefined ||
    options.eligibleAuthrole !== undefined
  );
}

/** WAMP subscriber black- and whitelisting, built once per publication that asks for it. */
class ReceiverFilter {
  private readonly exclude?: Set<number>;
  private readonly eligible?: Set<number>;
  private readonly excludeAuthid?: Set<string>;
  private readonly eligibleAuthid?: Set<string>;
  private readonly excludeAuthrole?: Set<string>;
  private readonly eligibleAuthrole?: Set<string>;

  constructor(options: PublishOptions) {
    if (options.exclude) this.exclude = new Set(options.exclude);
    if (options.eligible) this.eligible = new Set(options.eligible);
    if (options.excludeAuthid) this.excludeAuthid = new Set(options.excludeAuthid);
    if (options.eligibleAuthid) this.eligibleAuthid = new Set(options.eligibleAuthid);
    if (options.excludeAuthrole) this.excludeAuthrole = new Set(options.excludeAuthrole);
    if (options.eligibleAuthrole) this.eligibleAuthrole = new Set(options.eligibleAuthrole);
  }

  admits(session: Session): boolean {
    if (this.exclude?.has(session.id)) return false;
    if (this.excludeAuthid?.has(session.authid)) return false;
    if (this.excludeAuthrole?.has(session.authrole)) return false;
    if (this.eligible && !this.eligible.has(session.id)) return false;
    if (this.eligibleAuthid && !this.eligibleAuthid.has(session.authid)) return false;
    if (this.eligibleAuthrole && !this.eligibleAuthrole.has(session.authrole)) return false;
    return true;
  }
}
