/**
 * Typed reads of SUBSCRIBE, PUBLISH, REGISTER and CALL options. A present option of the wrong type is an
 * error the handler reports as `wamp.error.invalid_argument`; an absent one takes the spec's default.
 */
import { isValidId, type CancelMode, type InvokePolicy, type PublishOptions } from '../../src/port.js';
import type { Dict } from './messages.js';
import type { Match } from './uri.js';

export class OptionError extends Error {}

function bool(options: Dict, key: string, fallback: boolean): boolean {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new OptionError(`option '${key}' must be a boolean`);
  return value;
}

function ids(options: Dict, key: string): number[] | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every(isValidId)) throw new OptionError(`option '${key}' must be a list of ids`);
  return value;
}

function strings(options: Dict, key: string): string[] | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new OptionError(`option '${key}' must be a list of strings`);
  }
  return value as string[];
}

function oneOf<T extends string>(options: Dict, key: string, allowed: readonly T[], fallback: T): T {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new OptionError(`option '${key}' must be one of: ${allowed.join(', ')}`);
  }
  return value as T;
}

const MATCHES: readonly Match[] = ['exact', 'prefix', 'wildcard'];
const INVOKES: readonly InvokePolicy[] = ['single', 'roundrobin', 'random', 'first', 'last'];
const CANCEL_MODES: readonly CancelMode[] = ['skip', 'kill', 'killnowait'];

export function matchOption(options: Dict): Match {
  return oneOf(options, 'match', MATCHES, 'exact');
}

/** SUBSCRIBE `get_retained` (WAMP event retention): send the retained events that match, after SUBSCRIBED. */
export function getRetainedOption(options: Dict): boolean {
  return bool(options, 'get_retained', false);
}

export function publishOptions(options: Dict): PublishOptions & { acknowledge: boolean } {
  const acknowledge = bool(options, 'acknowledge', false);
  return {
    acknowledge,
    // An acknowledged publication asks for at-least-once: MQTT QoS 1 subscribers get it as QoS 1, and persistent
    // ones have it queued while offline. Without acknowledge it is fire-and-forget, QoS 0.
    qos: acknowledge ? 1 : 0,
    retain: bool(options, 'retain', false),
    excludeMe: bool(options, 'exclude_me', true),
    disclose: bool(options, 'disclose_me', false),
    exclude: ids(options, 'exclude'),
    eligible: ids(options, 'eligible'),
    excludeAuthid: strings(options, 'exclude_authid'),
    eligibleAuthid: strings(options, 'eligible_authid'),
    excludeAuthrole: strings(options, 'exclude_authrole'),
    eligibleAuthrole: strings(options, 'eligible_authrole'),
  };
}

export function registerOptions(options: Dict): { match: Match; invoke: InvokePolicy; discloseCaller: boolean } {
  return {
    match: matchOption(options),
    invoke: oneOf(options, 'invoke', INVOKES, 'single'),
    discloseCaller: bool(options, 'disclose_caller', false),
  };
}

export function callOptions(options: Dict): { timeoutMs: number; disclose: boolean } {
  const timeout = options.timeout;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0)) {
    throw new OptionError("option 'timeout' must be a non-negative integer (milliseconds)");
  }
  return { timeoutMs: timeout ?? 0, disclose: bool(options, 'disclose_me', false) };
}

/** The spec names no default cancel mode; `killnowait` answers the caller at once and still stops the callee. */
export function cancelMode(options: Dict): CancelMode {
  return oneOf(options, 'mode', CANCEL_MODES, 'killnowait');
}
