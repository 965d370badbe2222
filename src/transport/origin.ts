/**
 * The Origin allow-list for WebSocket upgrades. An empty list (the default) lets every origin in: device
 * libraries such as paho send an Origin too, and tokens, not origins, decide who may log in. A configured list
 * lets in only its origins (`*` for any). An upgrade without an Origin is not a browser's, so it is allowed.
 */
export function originAllowed(origin: string | undefined, allowed: readonly string[], allowAll: boolean): boolean {
  if (origin === undefined || allowAll || allowed.length === 0) return true;
  return onList(origin, allowed);
}

function onList(origin: string, allowed: readonly string[]): boolean {
  for (const entry of allowed) {
    if (entry === '*' || entry.toLowerCase() === origin.toLowerCase()) return true;
  }
  return false;
}

/**
 * Whether a token in a cookie may be used for this upgrade: the cookie goes along with a WebSocket opened by any
 * page, so it counts only without an Origin, from the router's own host, or from an origin on a configured list.
 */
export function cookieOriginAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (host !== undefined) {
    try {
      if (new URL(origin).host.toLowerCase() === host.toLowerCase()) return true;
    } catch {
      return false;
    }
  }
  return allowed.length > 0 && onList(origin, allowed);
}
