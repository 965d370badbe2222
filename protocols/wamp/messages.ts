/**
 * Parses decoded WAMP messages into a typed union. Shapes follow the WAMP RFC draft's message definitions;
 * anything else is a protocol violation, reported with a reason that names the message and the field.
 * Only messages a client may send are accepted: a client sending WELCOME or EVENT is also a violation.
 */
import { isValidId } from '../../src/port.js';
import { Type } from './codes.js';

export type Dict = Record<string, unknown>;
export type Args = unknown[] | undefined;
export type KwArgs = Dict | undefined;

export type ClientMessage =
  | { type: typeof Type.HELLO; realm: unknown; details: Dict }
  | { type: typeof Type.AUTHENTICATE; signature: string; extra: Dict }
  | { type: typeof Type.ABORT; details: Dict; reason: unknown }
  | { type: typeof Type.GOODBYE; details: Dict; reason: unknown }
  | { type: typeof Type.ERROR; requestType: number; request: number; details: Dict; error: unknown; args: Args; kwargs: KwArgs }
  | { type: typeof Type.PUBLISH; request: number; options: Dict; topic: unknown; args: Args; kwargs: KwArgs }
  | { type: typeof Type.SUBSCRIBE; request: number; options: Dict; topic: unknown }
  | { type: typeof Type.UNSUBSCRIBE; request: number; subscription: number }
  | { type: typeof Type.CALL; request: number; options: Dict; procedure: unknown; args: Args; kwargs: KwArgs }
  | { type: typeof Type.CANCEL; request: number; options: Dict }
  | { type: typeof Type.REGISTER; request: number; options: Dict; procedure: unknown }
  | { type: typeof Type.UNREGISTER; request: number; registration: number }
  | { type: typeof Type.YIELD; request: number; options: Dict; args: Args; kwargs: KwArgs };

export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; reason: string };

export function isDict(value: unknown): value is Dict {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array);
}

class Violation extends Error {}

function violation(reason: string): never {
  throw new Violation(reason);
}

/** Reads positional fields with checks, so each message's shape is one short line below. */
class Fields {
  constructor(
    private readonly raw: unknown[],
    private readonly name: string,
  ) {}

  length(min: number, max: number): void {
    if (this.raw.length < min || this.raw.length > max) {
      violation(`${this.name} must have ${min === max ? min : `${min} to ${max}`} elements, got ${this.raw.length}`);
    }
  }

  id(i: number, what: string): number {
    const value = this.raw[i];
    if (!isValidId(value)) violation(`${this.name}.${what} must be an integer id in [1, 2^53-1]`);
    return value;
  }

  int(i: number, what: string): number {
    const value = this.raw[i];
    if (typeof value !== 'number' || !Number.isInteger(value)) violation(`${this.name}.${what} must be an integer`);
    return value;
  }

  dict(i: number, what: string): Dict {
    const value = this.raw[i];
    if (!isDict(value)) violation(`${this.name}.${what} must be a dict`);
    return value;
  }

  string(i: number, what: string): string {
    const value = this.raw[i];
    if (typeof value !== 'string') violation(`${this.name}.${what} must be a string`);
    return value;
  }

  /** URIs are checked against the realm's rule by the handler, which knows the realm. */
  any(i: number): unknown {
    return this.raw[i];
  }

  args(i: number): Args {
    const value = this.raw[i];
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) violation(`${this.name}.Arguments must be a list`);
    return value;
  }

  kwargs(i: number): KwArgs {
    const value = this.raw[i];
    if (value === undefined) return undefined;
    if (!isDict(value)) violation(`${this.name}.ArgumentsKw must be a dict`);
    return value;
  }
}

export function parseMessage(raw: unknown): ParseResult {
  if (!Array.isArray(raw) || raw.length === 0) return { ok: false, reason: 'a message must be a non-empty list' };
  const code: unknown = raw[0];
  if (typeof code !== 'number' || !Number.isInteger(code)) return { ok: false, reason: 'message type must be an integer' };
  try {
    const message = parseTyped(code, raw);
    return message === undefined
      ? { ok: false, reason: `message type ${code} is not one a client may send` }
      : { ok: true, message };
  } catch (error) {
    if (error instanceof Violation) return { ok: false, reason: error.message };
    throw error;
  }
}

function parseTyped(code: number, raw: unknown[]): ClientMessage | undefined {
  switch (code) {
    case Type.HELLO: {
      const f = new Fields(raw, 'HELLO');
      f.length(3, 3);
      return { type: Type.HELLO, realm: f.any(1), details: f.dict(2, 'Details') };
    }
    case Type.AUTHENTICATE: {
      const f = new Fields(raw, 'AUTHENTICATE');
      f.length(3, 3);
      return { type: Type.AUTHENTICATE, signature: f.string(1, 'Signature'), extra: f.dict(2, 'Extra') };
    }
    case Type.ABORT: {
      const f = new Fields(raw, 'ABORT');
      f.length(3, 5);
      return { type: Type.ABORT, details: f.dict(1, 'Details'), reason: f.any(2) };
    }
    case Type.GOODBYE: {
      const f = new Fields(raw, 'GOODBYE');
      f.length(3, 3);
      return { type: Type.GOODBYE, details: f.dict(1, 'Details'), reason: f.any(2) };
    }
    case Type.ERROR: {
      const f = new Fields(raw, 'ERROR');
      f.length(5, 7);
      return {
        type: Type.ERROR,
        requestType: f.int(1, 'Request.Type'),
        request: f.id(2, 'Request'),
        details: f.dict(3, 'Details'),
        error: f.any(4),
        args: f.args(5),
        kwargs: f.kwargs(6),
      };
    }
    case Type.PUBLISH: {
      const f = new Fields(raw, 'PUBLISH');
      f.length(4, 6);
      return {
        type: Type.PUBLISH,
        request: f.id(1, 'Request'),
        options: f.dict(2, 'Options'),
        topic: f.any(3),
        args: f.args(4),
        kwargs: f.kwargs(5),
      };
    }
    case Type.SUBSCRIBE: {
      const f = new Fields(raw, 'SUBSCRIBE');
      f.length(4, 4);
      return { type: Type.SUBSCRIBE, request: f.id(1, 'Request'), options: f.dict(2, 'Options'), topic: f.any(3) };
    }
    case Type.UNSUBSCRIBE: {
      const f = new Fields(raw, 'UNSUBSCRIBE');
      f.length(3, 3);
      return { type: Type.UNSUBSCRIBE, request: f.id(1, 'Request'), subscription: f.id(2, 'Subscription') };
    }
    case Type.CALL: {
      const f = new Fields(raw, 'CALL');
      f.length(4, 6);
      return {
        type: Type.CALL,
        request: f.id(1, 'Request'),
        options: f.dict(2, 'Options'),
        procedure: f.any(3),
        args: f.args(4),
        kwargs: f.kwargs(5),
      };
    }
    case Type.CANCEL: {
      const f = new Fields(raw, 'CANCEL');
      f.length(3, 3);
      return { type: Type.CANCEL, request: f.id(1, 'Request'), options: f.dict(2, 'Options') };
    }
    case Type.REGISTER: {
      const f = new Fields(raw, 'REGISTER');
      f.length(4, 4);
      return { type: Type.REGISTER, request: f.id(1, 'Request'), options: f.dict(2, 'Options'), procedure: f.any(3) };
    }
    case Type.UNREGISTER: {
      const f = new Fields(raw, 'UNREGISTER');
      f.length(3, 3);
      return { type: Type.UNREGISTER, request: f.id(1, 'Request'), registration: f.id(2, 'Registration') };
    }
    case Type.YIELD: {
      const f = new Fields(raw, 'YIELD');
      f.length(3, 5);
      return { type: Type.YIELD, request: f.id(1, 'Request'), options: f.dict(2, 'Options'), args: f.args(3), kwargs: f.kwargs(4) };
    }
    default:
      return undefined;
  }
}
