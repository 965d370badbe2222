import type { Database, Key } from 'lmdb';
import type { LoadedSession, QueuedEntry, SessionStore, StoredMessage } from '../types.js';
import { BODY, ENTRY, range, RECEIVED, SESSION } from './keys.js';
import type { Writer } from './writer.js';

/** An entry as written: [bodyId, qos, retain, subscriptionIds, packetId (0: not sent), released]. */
type EntryRow = [number, 1 | 2, 0 | 1, number[], number, 0 | 1];

interface BodyRow {
  topic: string;
  payload: Uint8Array;
  properties?: StoredMessage['properties'];
}

interface Body {
  id: number;
  message: StoredMessage;
  refs: number;
}

interface SessionIndex {
  sid: number;
  /** Entry seq to body id: entries are never read back while running, so this is all that is kept. */
  entries: Map<number, number>;
}

/**
 * Persistent sessions in LMDB. Everything needed at run time stays in memory in the MQTT module; this class only
 * writes changes through, keeping the small index it needs to share message bodies and to drop a session
 * without reading the disk.
 */
export class LmdbSessionStore implements SessionStore {
  private readonly sessions = new Map<string, SessionIndex>();
  private readonly bodies = new Map<number, Body>();
  /** The body written for a message object, so that one publication fanned out to many sessions is stored once. */
  private readonly bodyOf = new WeakMap<StoredMessage, Body>();
  private nextSid = 1;
  private nextBody = 1;

  constructor(
    private readonly db: Database,
    private readonly writer: Writer,
    private readonly log: (message: string, details: Record<string, unknown>) => void,
  ) {}

  save(key: string, record: unknown): void {
    let index = this.sessions.get(key);
    if (index === undefined) {
      index = { sid: this.nextSid++, entries: new Map() };
      this.sessions.set(key, index);
    }
    this.writer.put([SESSION, index.sid], { key, record });
  }

  drop(key: string): void {
    const index = this.sessions.get(key);
    if (index === undefined) return;
    this.sessions.delete(key);
    for (const [seq, bodyId] of index.entries) {
      this.writer.remove([ENTRY, index.sid, seq]);
      this.release(bodyId);
    }
    for (const received of this.db.getKeys(range(RECEIVED, index.sid))) this.writer.remove(received as Key);
    this.writer.remove([SESSION, index.sid]);
  }

  putEntry(key: string, seq: number, entry: QueuedEntry): void {
    const index = this.sessions.get(key);
    if (index === undefined) return;
    let bodyId = index.entries.get(seq);
    if (bodyId === undefined) {
      const body = this.bodyFor(entry.message);
      body.refs++;
      bodyId = body.id;
      index.entries.set(seq, bodyId);
    }
    const row: EntryRow = [bodyId, entry.qos, entry.retain ? 1 : 0, [...entry.subscriptionIds], entry.packetId ?? 0, entry.released === true ? 1 : 0];
    this.writer.put([ENTRY, index.sid, seq], row);
  }

  deleteEntry(key: string, seq: number): void {
    const index = this.sessions.get(key);
    const bodyId = index?.entries.get(seq);
    if (index === undefined || bodyId === undefined) return;
    index.entries.delete(seq);
    this.writer.remove([ENTRY, index.sid, seq]);
    this.release(bodyId);
  }

  markReceived(key: string, packetId: number): void {
    const index = this.sessions.get(key);
    if (index !== undefined) this.writer.put([RECEIVED, index.sid, packetId], 1);
  }

  clearReceived(key: string, packetId: number): void {
    const index = this.sessions.get(key);
    if (index !== undefined) this.writer.remove([RECEIVED, index.sid, packetId]);
  }

  private bodyFor(message: StoredMessage): Body {
    const known = this.bodyOf.get(message);
    if (known !== undefined && this.bodies.get(known.id) === known) return known;
    const body: Body = { id: this.nextBody++, message, refs: 0 };
    this.bodies.set(body.id, body);
    this.bodyOf.set(message, body);
    const row: BodyRow = { topic: message.topic, payload: message.payload };
    if (message.properties !== undefined) row.properties = message.properties;
    this.writer.put([BODY, body.id], row);
    return body;
  }

  private release(bodyId: number): void {
    const body = this.bodies.get(bodyId);
    if (body === undefined || --body.refs > 0) return;
    this.bodies.delete(bodyId);
    this.writer.remove([BODY, bodyId]);
  }

  /** Reads every session back and rebuilds the index. Entries whose body is missing are reported and skipped. */
  load(): LoadedSession[] {
    for (const { key, value } of this.db.getRange(range(BODY))) {
      const id = (key as [string, number])[1];
      const row = value as BodyRow;
      this.bodies.set(id, { id, message: { topic: row.topic, payload: row.payload, properties: row.properties }, refs: 0 });
      this.nextBody = Math.max(this.nextBody, id + 1);
    }
    const bySid = new Map<number, { key: string; record: unknown; entries: Array<{ seq: number; entry: QueuedEntry }>; received: number[] }>();
    for (const { key, value } of this.db.getRange(range(SESSION))) {
      const sid = (key as [string, number])[1];
      const { key: sessionKey, record } = value as { key: string; record: unknown };
      bySid.set(sid, { key: sessionKey, record, entries: [], received: [] });
      this.sessions.set(sessionKey, { sid, entries: new Map() });
      this.nextSid = Math.max(this.nextSid, sid + 1);
    }
    let orphans = 0;
    for (const { key, value } of this.db.getRange(range(ENTRY))) {
      const [, sid, seq] = key as [string, number, number];
      const [bodyId, qos, retain, subscriptionIds, packetId, released] = value as EntryRow;
      const session = bySid.get(sid);
      const body = this.bodies.get(bodyId);
      if (session === undefined || body === undefined) {
        orphans++;
        this.writer.remove(key as Key);
        continue;
      }
      body.refs++;
      this.sessions.get(session.key)!.entries.set(seq, bodyId);
      session.entries.push({
        seq,
        entry: {
          message: body.message,
          qos,
          retain: retain === 1,
          subscriptionIds,
          ...(packetId > 0 ? { packetId } : {}),
          ...(released === 1 ? { released: true } : {}),
        },
      });
    }
    for (const { key } of this.db.getRange(range(RECEIVED))) {
      const [, sid, packetId] = key as [string, number, number];
      const session = bySid.get(sid);
      if (session === undefined) this.writer.remove(key as Key);
      else session.received.push(packetId);
    }
    for (const body of this.bodies.values()) {
      if (body.refs === 0) this.release(body.id);
    }
    if (orphans > 0) this.log('store entries without their session or message body were removed', { orphans });
    return [...bySid.values()];
  }
}
