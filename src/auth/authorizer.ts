import type { Authorizer } from '../core/types.js';

/** With no rules configured, every admitted session may do everything (Mosquitto's convention). */
export const allowAll: Authorizer = {
  authorize: () => true,
};
