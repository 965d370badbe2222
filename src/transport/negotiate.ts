/**
 * WebSocket subprotocol selection (RFC 6455 section 4.2.2): the first subprotocol in the client's list that
 * a registered module supports wins. Refusals happen before the handshake completes, so a client is never
 * left with a connection that did not echo what it asked for.
 */

export type Negotiation =
  | { kind: 'accept'; protocol: string; /** false when the client offered none and the default applies */ echo: boolean }
  | { kind: 'reject'; status: number; body: string };

/** Splits a Sec-WebSocket-Protocol header (which may have been sent as several headers) into tokens. */
export function parseOffered(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const joined = Array.isArray(header) ? header.join(',') : header;
  return joined
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token.length > 0);
}

export function negotiate(
  header: string | string[] | undefined,
  supported: ReadonlySet<string>,
  defaultProtocol: string | undefined,
): Negotiation {
  // Nearly every client offers one subprotocol: accepted without splitting the header into lists.
  if (typeof header === 'string' && !header.includes(',')) {
    const only = header.trim();
    if (supported.has(only)) return { kind: 'accept', protocol: only, echo: true };
  }
  const offered = parseOffered(header);
  const list = (): string => [...supported].join(', ');
  if (offered.length === 0) {
    if (defaultProtocol !== undefined && supported.has(defaultProtocol)) {
      return { kind: 'accept', protocol: defaultProtocol, echo: false };
    }
    return {
      kind: 'reject',
      status: 400,
      body: `No WebSocket subprotocol offered. Offer one of: ${list()}\n`,
    };
  }
  for (const protocol of offered) {
    if (supported.has(protocol)) return { kind: 'accept', protocol, echo: true };
  }
  return {
    kind: 'reject',
    status: 400,
    body: `Unsupported WebSocket subprotocol: ${offered.join(', ')}. Supported: ${list()}\n`,
  };
}
