import type { Database, Key } from 'lmdb';
import type { LoadedSession, QueuedEntry, SessionStore, StoredMessage } from '../types.js';
import { FanoutRecord, type FanoutRow } from './fanout.js';
import { BODY, ENTRY, FANOUT, range, RECEIVED, SESSION } from './keys.js';
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
  /**
   * Entry seq to where it is stored: a body id (a QoS 2 entry of its own) or a fan-out record (QoS 1). Entries are
   * never read back while running, so this is all that is kept.
   */
  entries: Map<number, number | FanoutRecord>;
}

/** How long an acknowledgement may wait before its fan-out record is rewritten without the session. */
const COMPACT_MS = 1000;

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
  private nextRecord = 1;
  /** The fan-out record a message object is collecting recipients in, until it is written. */
  private readonly openRecords = new WeakMap<StoredMessage, FanoutRecord>();
  private unflushed: FanoutRecord[] = [];
  private readonly dirty = new Set<FanoutRecord>();
  private compactTimer: NodeJS.Timeout | undefined;

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
    for (const [seq, ref] of index.entries) this.forget(index, seq, ref);
    for (const received of this.db.getKeys(range(RECEIVED, index.sid))) this.writer.remove(received as Key);
    this.writer.remove([SESSION, index.sid]);
  }

  putEntry(key: string, seq: number, entry: QueuedEntry): void {
    const index = this.sessions.get(key);
    if (index === undefined) return;
    const known = index.entries.get(seq);
    if (entry.qos === 1) {
      // A QoS 1 entry is written once, in its publication's fan-out record; its packet id is not kept (a resend
      // after a restart goes with a new one and DUP set).
      if (known === undefined) this.addRecipient(index, seq, entry);
      return;
    }
    let bodyId = known as number | undefined;
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
    const ref = index?.entries.get(seq);
    if (index === undefined || ref === undefined) return;
    index.entries.delete(seq);
    this.forget(index, seq, ref);
  }

  private forget(index: SessionIndex, seq: number, ref: number | FanoutRecord): void {
    if (typeof ref === 'number') {
      this.writer.remove([ENTRY, index.sid, seq]);
      this.release(ref);
      return;
    }
    const recipient = ref.recipients.get(index.sid);
    if (recipient === undefined || recipient[1] !== seq) return;
    ref.recipients.delete(index.sid);
    if (!ref.written) return;
    if (ref.recipients.size === 0) {
      this.dirty.delete(ref);
      this.writer.remove([FANOUT, ref.id]);
      return;
    }
    this.dirty.add(ref);
    this.compactTimer ??= setTimeout(() => this.compact(), COMPACT_MS).unref();
  }

  private addRecipient(index: SessionIndex, seq: number, entry: QueuedEntry): void {
    let record = this.openRecords.get(entry.message);
    // A new record once the last one is written, or when the same session gets the message twice.
    if (record === undefined || record.written || record.recipients.has(index.sid)) {
      record = new FanoutRecord(this.nextRecord++, entry.message);
      this.openRecords.set(entry.message, record);
      // Written once the fan-out that is filling it returns (or earlier, by a barrier).
      if (this.unflushed.length === 0) queueMicrotask(() => this.flush());
      this.unflushed.push(record);
    }
    record.recipients.set(index.sid, [index.sid, seq, entry.retain ? 1 : 0, [...entry.subscriptionIds]]);
    index.entries.set(seq, record);
  }

  /** Writes the fan-out records collected since the last call: before any barrier, so that it covers them. */
  flush(): void {
    if (this.unflushed.length === 0) return;
    for (const record of this.unflushed) {
      if (record.recipients.size === 0) continue;
      this.writer.put([FANOUT, record.id], record.row());
      record.written = true;
    }
    this.unflushed = [];
  }

  /** Rewrites the records that sessions acknowledged since; on close, so that a clean stop leaves exact state. */
  compact(): void {
    if (this.compactTimer !== undefined) clearTimeout(this.compactTimer);
    this.compactTimer = undefined;
    for (const record of this.dirty) this.writer.put([FANOUT, record.id], record.row());
    this.dirty.clear();
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
    for (const { key, value } of this.db.getRange(range(FANOUT))) {
      const id = (key as [string, number])[1];
      const row = value as FanoutRow;
      const record = new FanoutRecord(id, { topic: row.topic, payload: row.payload, properties: row.properties });
      record.written = true;
      this.nextRecord = Math.max(this.nextRecord, id + 1);
      for (const recipient of row.to) {
        const [sid, seq, retain, subscriptionIds] = recipient;
        const session = bySid.get(sid);
        if (session === undefined) {
          orphans++;
          record.dirty = true;
          continue;
        }
        record.recipients.set(sid, recipient);
        this.sessions.get(session.key)!.entries.set(seq, record);
        session.entries.push({ seq, entry: { message: record.message, qos: 1, retain: retain === 1, subscriptionIds } });
      }
      if (record.recipients.size === 0) this.writer.remove(key as Key);
      else if (record.dirty) this.dirty.add(record);
    }
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
    this.compact();
    for (const session of bySid.values()) session.entries.sort((a, b) => a.seq - b.seq);
    return [...bySid.values()];
  }
}
