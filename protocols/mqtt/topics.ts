/**
 * MQTT topic names and filters (MQTT 5.0 section 4.7, 3.1.1 section 4.7), and their mapping to the core's
 * component lists: `a/b/c` is `['a','b','c']`; `+` is the core's wildcard; a trailing `#` makes the pattern a
 * `tail` pattern of the levels before it.
 */
import { WILDCARD, type Policy } from '../../src/port.js';

export interface TopicLimits {
  /** Longest topic name or filter, in UTF-8 bytes. */
  maxTopicLength: number;
  /** Most levels in a topic name or filter. */
  maxTopicLevels: number;
}

export interface ParsedFilter {
  /** The filter as the core holds it. */
  pattern: string[];
  policy: Policy;
  /** The share group, for `$share/{group}/{filter}`. */
  shareGroup?: string;
}

function withinLimits(topic: string, limits: TopicLimits): boolean {
  if (Buffer.byteLength(topic) > limits.maxTopicLength) return false;
  let levels = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 0x2f) levels++;
  return levels <= limits.maxTopicLevels;
}

/**
 * A topic name a client may publish to: at least one character [MQTT-4.7.3-1], no wildcard characters
 * [MQTT-3.3.2-2], no U+0000 [MQTT-4.7.3-2], within the configured length and depth.
 */
export function isValidTopicName(topic: string, limits: TopicLimits): boolean {
  if (topic.length === 0 || !withinLimits(topic, limits)) return false;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x2b /* + */ || c === 0x23 /* # */ || c === 0) return false;
  }
  return true;
}

/**
 * Parses a topic filter, or returns undefined when it is invalid: `#` only as the whole last level
 * [MQTT-4.7.1-2], `+` only as a whole level [MQTT-4.7.1-3], no U+0000, at least one character [MQTT-4.7.3-1];
 * a shared subscription needs a group without `+`, `#` or `/` and a filter after it [MQTT-4.8.2-1, MQTT-4.8.2-2].
 */
export function parseFilter(filter: string, limits: TopicLimits): ParsedFilter | undefined {
  if (filter.length === 0 || !withinLimits(filter, limits) || filter.includes('\u0000')) return undefined;
  let shareGroup: string | undefined;
  let rest = filter;
  if (filter.startsWith('$share/')) {
    const slash = filter.indexOf('/', 7);
    if (slash < 0) return undefined;
    shareGroup = filter.slice(7, slash);
    rest = filter.slice(slash + 1);
    if (shareGroup.length === 0 || /[+#]/.test(shareGroup) || rest.length === 0) return undefined;
  }
  const levels = rest.split('/');
  let policy: Policy = 'exact';
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level === '#') {
      if (i !== levels.length - 1) return undefined;
      policy = 'tail';
      levels.pop();
      break;
    }
    if (level === '+') {
      levels[i] = WILDCARD;
      policy = 'wildcard';
    } else if (level.includes('+') || level.includes('#')) {
      return undefined;
    }
  }
  // `a/+/#` is a tail pattern whose levels hold a wildcard; tail wins over wildcard as the policy.
  if (rest.endsWith('#')) policy = 'tail';
  return shareGroup === undefined ? { pattern: levels, policy } : { pattern: levels, policy, shareGroup };
}

export function toComponents(topic: string): string[] {
  return topic.split('/');
}

/**
 * The MQTT topic name for a topic that may come from another protocol, or undefined when it cannot cross:
 * a component holding `/`, `+`, `#` or U+0000 has no MQTT spelling.
 */
export function fromComponents(topic: readonly string[]): string | undefined {
  // No components, or one empty one, would be the empty topic name [MQTT-4.7.3-1].
  if (topic.length === 0 || (topic.length === 1 && topic[0] === '')) return undefined;
  for (const part of topic) {
    for (let i = 0; i < part.length; i++) {
      const c = part.charCodeAt(i);
      if (c === 0x2f || c === 0x2b || c === 0x23 || c === 0) return undefined;
    }
  }
  return topic.join('/');
}
