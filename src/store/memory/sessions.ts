import type { LoadedSession, QueuedEntry, SessionStore } from '../types.js';

interface Held {
  record: unknown;
  entries: Map<number, QueuedEntry>;
  received: Set<number>;
}

/**
 * Persistent sessions in memory: they outlive a connection but not the process. It keeps what the durable store
 * keeps, so the same contract test runs on both, and a router restarted in the same process over the same
 * instance resumes its sessions.
 */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Held>();

  save(key: string, record: unknown): void {
    const held = this.sessions.get(key);
    if (held === undefined) this.sessions.set(key, { record, entries: new Map(), received: new Set() });
    else held.record = record;
  }

  drop(key: string): void {
    this.sessions.delete(key);
  }

  putEntry(key: string, seq: number, entry: QueuedEntry): void {
    this.sessions.get(key)?.entries.set(seq, entry);
  }

  deleteEntry(key: string, seq: number): void {
    this.sessions.get(key)?.entries.delete(seq);
  }

  markReceived(key: string, packetId: number): void {
    this.sessions.get(key)?.received.add(packetId);
  }

  clearReceived(key: string, packetId: number): void {
    this.sessions.get(key)?.received.delete(packetId);
  }

  load(): LoadedSession[] {
    return [...this.sessions].map(([key, held]) => ({
      key,
      record: held.record,
      entries: [...held.entries].sort((a, b) => a[0] - b[0]).map(([seq, entry]) => ({ seq, entry })),
      received: [...held.received],
    }));
  }
}
