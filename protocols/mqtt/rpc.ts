/**
 * RPC over MQTT through the reserved `$rpc/` prefix (README, "Calling devices from the browser").
 *
 * - A client registers procedure `a.b.c` by subscribing to `$rpc/a/b/c` (`+`/`#` give pattern registrations,
 *   `$share/{group}/$rpc/...` a shared one) and answers invocations on the response topic it is given.
 * - A client calls by publishing to `$rpc/a/b/c`: MQTT 5 with Response Topic and Correlation Data, MQTT 3.1.1
 *   with the JSON envelope `{"id":..,"reply_to":"topic","args":[..],"kwargs":{..}}`. The result or error is
 *   published to the caller on its reply topic.
 * - Invocations tell the callee to answer on `$rpc-reply/{session id}`: MQTT 5 with the invocation id as
 *   Correlation Data, MQTT 3.1.1 with it as `id` in the envelope. The router takes those publishes itself; they
 *   are never routed to subscribers.
 */
import { Payload, type Invocation } from '../../src/port.js';
import type { Outgoing } from './session.js';

export const RPC_PREFIX = '$rpc';
export const REPLY_PREFIX = '$rpc-reply';
/** MQTT 5 user property that marks a reply as an error and carries its URI. */
export const ERROR_PROPERTY = 'wamp_error';

/** The procedure components of an `$rpc/...` topic or filter, or undefined when it is not one. */
export function procedureOf(levels: readonly string[]): string[] | undefined {
  if (levels.length < 2 || levels[0] !== RPC_PREFIX) return undefined;
  return levels.slice(1);
}

export function isReplyTopic(topic: string): boolean {
  return topic === REPLY_PREFIX || topic.startsWith(`${REPLY_PREFIX}/`);
}

export function replyTopicFor(sessionId: number): string {
  return `${REPLY_PREFIX}/${sessionId}`;
}

/** Where a caller wants its answer, and how to mark it as the answer to its call. */
export interface ReplyAddress {
  topic: string;
  /** MQTT 5 Correlation Data, echoed back. */
  correlationData?: Uint8Array;
  /** MQTT 3.1.1 envelope id, echoed back. */
  id?: unknown;
  qos: 0 | 1 | 2;
}

/** An MQTT 3.1.1 call or reply envelope, parsed. */
export interface Envelope {
  id: unknown;
  replyTo?: string;
  error?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
}

export function parseEnvelope(bytes: Uint8Array): Envelope | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const { id, reply_to: replyTo, error, args, kwargs } = record;
  if (replyTo !== undefined && typeof replyTo !== 'string') return undefined;
  if (error !== undefined && typeof error !== 'string') return undefined;
  if (args !== undefined && !Array.isArray(args)) return undefined;
  if (kwargs !== undefined && (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs))) return undefined;
  const envelope: Envelope = { id };
  if (replyTo !== undefined) envelope.replyTo = replyTo;
  if (error !== undefined) envelope.error = error;
  if (args !== undefined) envelope.args = args;
  if (kwargs !== undefined) envelope.kwargs = kwargs as Record<string, unknown>;
  return envelope;
}

function envelopeBytes(fields: Record<string, unknown>, payload: Payload | undefined): Buffer {
  const body: Record<string, unknown> = { ...fields, args: payload?.args ?? [] };
  const kwargs = payload?.kwargs;
  if (kwargs !== undefined && Object.keys(kwargs).length > 0) body.kwargs = kwargs;
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** The PUBLISH that carries an invocation to an MQTT callee. */
export function invocationMessage(invocation: Invocation, version: number, qos: 0 | 1 | 2): Outgoing {
  const topic = [RPC_PREFIX, ...invocation.procedure].join('/');
  const replyTo = replyTopicFor(invocation.callee.id);
  if (version === 5) {
    return {
      topic,
      payload: invocation.payload.bytes,
      qos,
      retain: false,
      properties: { responseTopic: replyTo, correlationData: Buffer.from(String(invocation.id)) },
      subscriptionIds: [],
      transient: true,
    };
  }
  return {
    topic,
    payload: envelopeBytes({ id: invocation.id, reply_to: replyTo }, invocation.payload),
    qos,
    retain: false,
    properties: undefined,
    subscriptionIds: [],
    transient: true,
  };
}

/** The PUBLISH that answers an MQTT caller: a result, or an error with its URI. */
export function replyMessage(address: ReplyAddress, version: number, payload: Payload | undefined, error?: string): Outgoing {
  if (version === 5) {
    const properties: Outgoing['properties'] = {};
    if (address.correlationData !== undefined) properties.correlationData = address.correlationData;
    if (error !== undefined) properties.userProperties = [[ERROR_PROPERTY, error]];
    return {
      topic: address.topic,
      payload: payload?.bytes ?? new Uint8Array(0),
      qos: address.qos,
      retain: false,
      properties,
      subscriptionIds: [],
      transient: true,
    };
  }
  const fields: Record<string, unknown> = { id: address.id ?? null };
  if (error !== undefined) fields.error = error;
  return {
    topic: address.topic,
    payload: envelopeBytes(fields, payload),
    qos: address.qos,
    retain: false,
    properties: undefined,
    subscriptionIds: [],
    transient: true,
  };
}

/** The payload of an MQTT 3.1.1 envelope's args and kwargs. */
export function envelopePayload(envelope: Envelope): Payload {
  return Payload.fromArgs(envelope.args, envelope.kwargs);
}
