/** Messages the dealer side sends: INVOCATION, INTERRUPT, RESULT and a caller's ERROR. */
import type { CancelMode, Invocation, Payload } from '../../src/port.js';
import { Type } from './codes.js';
import { fromComponents } from './uri.js';

/** Appends Arguments and ArgumentsKw as the spec wants them: omitted when empty, args present when kwargs are. */
function withPayload(message: unknown[], payload: Payload | undefined): unknown[] {
  if (payload === undefined) return message;
  const { args, kwargs } = payload;
  if (kwargs !== undefined) message.push(args ?? [], kwargs);
  else if (args !== undefined) message.push(args);
  return message;
}

export function encodeInvocation(invocation: Invocation): unknown[] {
  const details: Record<string, unknown> = {};
  if (invocation.registration.policy !== 'exact') {
    details.procedure = fromComponents(invocation.procedure) ?? invocation.procedure.join('.');
  }
  const registrationOptions = invocation.registration.observers.get(invocation.callee);
  if (invocation.disclose || registrationOptions?.discloseCaller === true) {
    details.caller = invocation.caller.id;
    details.caller_authid = invocation.caller.authid;
    details.caller_authrole = invocation.caller.authrole;
  }
  if (invocation.timeoutMs > 0) details.timeout = invocation.timeoutMs;
  return withPayload([Type.INVOCATION, invocation.id, invocation.registration.id, details], invocation.payload);
}

export function encodeInterrupt(invocation: Invocation, mode: CancelMode, reason: string): unknown[] {
  return [Type.INTERRUPT, invocation.id, { mode, reason }];
}

export function encodeResult(requestId: number, payload: Payload): unknown[] {
  return withPayload([Type.RESULT, requestId, {}], payload);
}

export function encodeCallError(requestId: number, error: string, payload: Payload | undefined): unknown[] {
  return withPayload([Type.ERROR, Type.CALL, requestId, {}, error], payload);
}
