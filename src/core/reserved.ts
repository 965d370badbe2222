/**
 * Namespaces only the router itself publishes to or registers in: `wamp.*` (reserved by the WAMP spec for the
 * router: meta events and procedures) and `$SYS/...` (broker statistics and session events, read-only as in
 * Mosquitto). Clients may subscribe to them and call their procedures, but publishing there or registering
 * there is refused with `not_authorized`, so nobody can forge the router's own events.
 */
export function isReservedForRouter(topic: readonly string[]): boolean {
  const first = topic[0];
  return first === 'wamp' || first === '$SYS';
}
