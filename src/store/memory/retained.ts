import { matches } from '../../core/match/matches.js';
import type { Policy } from '../../core/match/types.js';
import type { RetainedMessage, RetainedStore } from '../types.js';

/** Topic components never hold U+0000, so it separates them in a map key without ambiguity. */
function keyOf(topic: readonly string[]): string {
  return topic.join('\u0000');
}

/** Retained messages in a map. `matching` tests every entry: retained sets are small next to subscriptions. */
export class MemoryRetainedStore implements RetainedStore {
  private readonly messages = new Map<string, RetainedMessage>();

  set(message: RetainedMessage): void {
    this.messages.set(keyOf(message.topic), message);
  }

  delete(topic: readonly string[]): void {
    this.messages.delete(keyOf(topic));
  }

  get(topic: readonly string[]): RetainedMessage | undefined {
    return this.messages.get(keyOf(topic));
  }

  matching(pattern: readonly string[], policy: Policy): RetainedMessage[] {
    const now = Date.now();
    const found: RetainedMessage[] = [];
    for (const [key, message] of this.messages) {
      const expiresAt = message.properties?.expiresAt;
      if (expiresAt !== undefined && expiresAt <= now) {
        this.messages.delete(key);
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
