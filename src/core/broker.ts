import { CoreError, fail, ok, type Result } from './errors.js';
import { randomId } from './ids.js';
import type { MatchIndex, Observation, Policy } from './match/types.js';
import type { Payload } from './payload.js';
import type { Session } from './session.js';
import type { Authorizer, Publication, PublishOptions, SubscriberOptions, Subscription } from './types.js';

/**
 * Pub/sub routing. Subscribers to the same (pattern, policy) share one subscription; a publication is
 * matched with one index walk and handed to each receiver's sink synchronously, the same object for all.
 */
export class Broker {
  constructor(
    private readonly index: MatchIndex<Session, SubscriberOptions>,
    private readonly authorizer: Authorizer,
  ) {}

  get subscriptionCount(): number {
    return this.index.size;
  }

  subscribe(
    session: Session,
    pattern: readonly string[],
    policy: Policy,
    options: SubscriberOptions,
  ): Result<{ subscription: Subscription; created: boolean }> {
    if (!this.authorizer.authorize(session, 'subscribe', pattern, policy)) return fail(CoreError.NotAuthorized);
    const { observation, first } = this.index.add(pattern, policy, session, options);
    session.subscriptions.set(observation.id, observation);
    return ok({ subscription: observation, created: first });
  }

  unsubscribe(session: Session, subscriptionId: number): Result<Subscription> {
    const subscription = session.subscriptions.get(subscriptionId);
    if (subscription === undefined) return fail(CoreError.NoSuchSubscription);
    session.subscriptions.delete(subscriptionId);
    this.index.remove(subscription, session);
    return ok(subscription);
  }

  /** Drops every subscription of a leaving session, through its back-references. */
  dropSession(session: Session): void {
    for (const subscription of session.subscriptions.values()) this.index.remove(subscription, session);
    session.subscriptions.clear();
  }

  publish(publisher: Session, topic: readonly string[], payload: Payload, options: PublishOptions): Result<Publication> {
    if (!this.authorizer.authorize(publisher, 'publish', topic, 'exact')) return fail(CoreError.NotAuthorized);
    const publication: Publication = {
      id: randomId(),
      topic,
      payload,
      publisher,
      disclose: options.disclose,
    };
    const matches: Observation<Session, SubscriberOptions>[] = [];
    this.index.matchAll(topic, matches);
    const filter = hasReceiverFilter(options) ? new ReceiverFilter(options) : undefined;
    for (const subscription of matches) {
      for (const [receiver, subscriberOptions] of subscription.observers) {
        if (receiver === publisher && (options.excludeMe || subscriberOptions.noLocal === true)) continue;
        if (filter !== undefined && !filter.admits(receiver)) continue;
        receiver.sink.event(publication, subscription, subscriberOptions);
      }
    }
    return ok(publication);
  }
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
