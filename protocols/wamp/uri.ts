/**
 * WAMP URI rules (WAMP RFC draft, "URIs"): loose URIs forbid whitespace, `.` and `#` inside components;
 * strict URIs allow only lower-case letters, digits and `_`. Pattern-based subscriptions and registrations
 * with `match: wildcard` may have empty components, which stand for any one component. U+0000 is refused
 * everywhere so that it can mark wildcards inside the core.
 */
import { WILDCARD, type Policy } from '../../src/port.js';

export type UriRule = 'loose' | 'strict';
export type Match = 'exact' | 'prefix' | 'wildcard';

const LOOSE = /^([^\s.#\u0000]+\.)*([^\s.#\u0000]+)$/;
const LOOSE_EMPTY = /^(([^\s.#\u0000]+\.)|\.)*([^\s.#\u0000]+)?$/;
const STRICT = /^([0-9a-z_]+\.)*([0-9a-z_]+)$/;
const STRICT_EMPTY = /^(([0-9a-z_]+\.)|\.)*([0-9a-z_]+)?$/;

/** True when `uri` is valid for use with the given match policy under the rule. */
export function isValidUri(uri: unknown, rule: UriRule, match: Match = 'exact'): uri is string {
  if (typeof uri !== 'string' || uri.length === 0) return false;
  if (match === 'wildcard') return (rule === 'strict' ? STRICT_EMPTY : LOOSE_EMPTY).test(uri);
  return (rule === 'strict' ? STRICT : LOOSE).test(uri);
}

/** A URI as the core's component list. Under `wildcard`, empty components become the core's wildcard. */
export function toComponents(uri: string, match: Match = 'exact'): string[] {
  const parts = uri.split('.');
  if (match === 'wildcard') {
    for (let i = 0; i < parts.length; i++) if (parts[i] === '') parts[i] = WILDCARD;
  }
  return parts;
}

export function toPolicy(match: Match): Policy {
  return match;
}

/**
 * The URI for a topic that may come from another protocol, or undefined when it cannot cross to WAMP:
 * a component that is empty or holds `.`, `#` or whitespace has no WAMP spelling.
 */
export function fromComponents(topic: readonly string[]): string | undefined {
  if (topic.length === 0) return undefined;
  for (const part of topic) {
    if (part.length === 0 || /[\s.#\u0000]/.test(part)) return undefined;
  }
  return topic.join('.');
}
