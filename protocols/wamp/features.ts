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
