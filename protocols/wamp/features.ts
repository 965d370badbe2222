/**
 * The roles and features announced in WELCOME. Each flag is true only for what this module implements;
 * clients such as wampy use call canceling or progressive results only where they are announced.
 */
export const routerRoles = {
  broker: {
    features: {
      publisher_identification: true,
      publisher_exclusion: true,
      subscriber_blackwhite_listing: true,
      pattern_based_subscription: true,
      event_retention: true,
    },
  },
  dealer: {
    features: {
      caller_identification: true,
      pattern_based_registration: true,
      shared_registration: true,
      call_canceling: true,
      call_timeout: true,
    },
  },
} as const;

/** True when HELLO announced a feature for one of the client's roles. */
export function announces(details: Record<string, unknown>, role: string, feature: string): boolean {
  const roles = details.roles as Record<string, unknown> | undefined;
  const announced = roles?.[role] as Record<string, unknown> | undefined;
  const features = announced?.features as Record<string, unknown> | undefined;
  return features?.[feature] === true;
}

/** True when HELLO announced that the client's callee role handles INTERRUPT. */
export function calleeHandlesInterrupt(details: Record<string, unknown>): boolean {
  return announces(details, 'callee', 'call_canceling');
}

/**
 * What HELLO announced that the router acts on later, as bits: reading it once at HELLO lets the peer drop the
 * details (a handful of objects per session, kept for the session's life otherwise).
 */
export const ClientFeature = {
  /** The callee handles INTERRUPT (`call_canceling`). */
  interrupts: 1,
  /** The subscriber is told of revoked subscriptions (`subscription_revocation`). */
  subscriptionRevocation: 2,
  /** The callee is told of revoked registrations (`registration_revocation`). */
  registrationRevocation: 4,
} as const;

export function clientFeatures(details: Record<string, unknown>): number {
  return (
    (calleeHandlesInterrupt(details) ? ClientFeature.interrupts : 0) |
    (announces(details, 'subscriber', 'subscription_revocation') ? ClientFeature.subscriptionRevocation : 0) |
    (announces(details, 'callee', 'registration_revocation') ? ClientFeature.registrationRevocation : 0)
  );
}
