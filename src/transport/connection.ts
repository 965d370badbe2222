import type { Logger } from 'pino';
import type { AuthOutcome } from '../auth/types.js';

/** What a protocol module receives from a connection. */
export interface ConnectionHandler {
  /** One WebSocket message, or one chunk of a byte stream (TCP). */
  message(data: Buffer, isBinary: boolean): void;
  /** The connection is gone; called once. */
  closed(code: number, reason: string): void;
}

/**
 * A client connection as protocol modules see it, whatever carries it (WebSocket now; TCP and TLS for MQTT).
 * Modules never touch a socket directly.
 */
export interface Connection {
  /** Short id that every log line about this connection carries. */
  readonly id: string;
  /** The negotiated protocol (`wamp.2.json`, `wamp.2.cbor`, `mqtt`...). */
  readonly protocol: string;
  /** `websocket`, `tcp` or `tls`. */
  readonly transport: string;
  readonly remoteAddress: string;
  /** Child logger carrying the connection id, address and protocol (and realm and authid once logged in). */
  readonly log: Logger;
  /** Adds fields to every later log line about this connection (the realm and authid at login). */
  annotate(fields: Record<string, unknown>): void;
  /** The common name of a client certificate the TLS layer verified against `tls.clientCa`, if any. */
  readonly certificateName?: string;
  /** The verification of a token that came with the WebSocket upgrade, started as the upgrade arrived. */
  readonly upgradeAuth: Promise<AuthOutcome> | undefined;
  /** Bytes queued for sending and not yet written to the socket. */
  readonly bufferedAmount: number;
  /** Sends one message: a text frame when `binary` is false. */
  send(data: Buffer | string, binary: boolean): void;
  /** Closes gracefully with a WebSocket close code and reason. */
  close(code: number, reason: string): void;
  /** Takes the connection's input. Input that arrives before a handler is set is held. */
  setHandler(handler: ConnectionHandler): void;
}

/** WebSocket close codes used across the router (RFC 6455 section 7.4.1). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
  TryAgainLater: 1013,
} as const;
