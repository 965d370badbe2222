/** A WAMP serializer: one per negotiated subprotocol. */
export interface Serializer {
  /** The WebSocket subprotocol it serves. */
  readonly protocol: string;
  /** Frames are binary (CBOR) or text (JSON). */
  readonly binary: boolean;
  /**
   * Encodes one message. `mayHaveBinary` says that the payload may hold byte arrays, which only JSON needs to
   * know (it then spends a replacer on them).
   */
  encode(message: unknown[], mayHaveBinary: boolean): Buffer;
  /**
   * Encodes WELCOME: `details` with the router's roles added last. The roles are the same for every session, and
   * the largest part of the message, so a serializer may encode them once.
   */
  encodeWelcome(sessionId: number, details: Record<string, unknown>): Buffer;
  /** Decodes one message; throws on malformed input. */
  decode(data: Buffer): unknown;
}
