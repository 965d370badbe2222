/**
 * Finds the token a client sent with its WebSocket upgrade. Browsers cannot set headers on a WebSocket, so
 * besides `Authorization: Bearer` the token may come as the `access_token` query parameter (RFC 6750 §2.3)
 * or in a cookie.
 */
import type { IncomingMessage } from 'node:http';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * The first token found: Authorization header, then `access_token` query parameter, then the cookie. A browser
 * sends cookies with a WebSocket opened by any page (cross-site WebSocket hijacking), so the cookie counts only
 * when `cookieAllowed` says the request's Origin may use it.
 */
export function extractUpgradeToken(req: IncomingMessage, cookieName: string, cookieAllowed: (req: IncomingMessage) => boolean = () => true): string | undefined {
  return fromAuthorization(req) ?? fromQuery(req) ?? (cookieAllowed(req) ? fromCookie(req, cookieName) : undefined);
}

function fromAuthorization(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  // Another scheme (Basic...) is not ours to reject; the other sources may still hold a token.
  return typeof header === 'string' ? BEARER.exec(header.trim())?.[1] : undefined;
}

function fromQuery(req: IncomingMessage): string | undefined {
  const url = req.url ?? '';
  const start = url.indexOf('?');
  if (start < 0) return undefined;
  // URLSearchParams on the raw query avoids new URL() choking on odd request targets.
  return nonEmpty(new URLSearchParams(url.slice(start + 1)).get('access_token'));
}

function fromCookie(req: IncomingMessage, cookieName: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const pair = part.trim();
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== cookieName) continue;
    let value = pair.slice(eq + 1).trim();
    // RFC 6265 allows a cookie value in double quotes.
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return nonEmpty(decode(value));
  }
  return undefined;
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    // A stray '%' is not worth losing the token over; JWTs never contain one anyway.
    return value;
  }
}

function nonEmpty(value: string | null): string | undefined {
  return value ? value : undefined;
}
