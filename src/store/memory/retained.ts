import { matches } from '../../core/match/matches.js';
import type { Policy } from '../../core/match/types.js';
import type { RetainedMessage, RetainedStore } from '../types.js';

/** Topic components never hold U+0000, so it separates them in a map key without ambiguity. */
export function retainedKey(topic: readonly string[]): string {
  return topic.join('\u0000');
}

/** Hears every change, so that a durable store can write it through (see lmdb/retained.ts). */
export interface RetainedJournal {
  stored(key: string, message: RetainedMessage): void;
  removed(key: string): void;
}

/** Retained messages in a map. `matching` tests every entry: retained sets are small next to subscriptions. */
export class MemoryRetainedStore implements RetainedStore {
  private readonly messages = new Map<string, RetainedMessage>();

  constructor(
    private readonly journal?: RetainedJournal,
    initial: Iterable<RetainedMessage> = [],
  ) {
    for (const message of initial) this.messages.set(retainedKey(message.topic), message);
  }

  set(message: RetainedMessage): void {
    const key = retainedKey(message.topic);
    this.messages.set(key, message);
    this.journal?.stored(key, message);
  }

  delete(topic: readonly string[]): void {
    const key = retainedKey(topic);
    if (this.messages.delete(key)) this.journal?.removed(key);
  }

  get(topic: readonly string[]): RetainedMessage | undefined {
    return this.messages.get(retainedKey(topic));
  }

  matching(pattern: readonly string[], policy: Policy): RetainedMessage[] {
    const now = Date.now();
    const found: RetainedMessage[] = [];
    for (const [key, message] of this.messages) {
      const expiresAt = message.properties?.expiresAt;
      if (expiresAt !== undefined && expiresAt <= now) {
        this.messages.delete(key);
        this.journal?.removed(key);
        continue;
      }
      if (matches(pattern, policy, message.topic)) found.push(message);
    }
    return found;
  }

  get size(): number {
    return this.messages.size;
  }
}
