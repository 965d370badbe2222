import type { Database } from 'lmdb';
import { Payload } from '../../core/payload.js';
import { MemoryRetainedStore, type RetainedJournal } from '../memory/retained.js';
import type { RetainedMessage } from '../types.js';
import { range, RETAINED } from './keys.js';
import type { Writer } from './writer.js';

/** A retained message as written: the payload keeps the form it arrived in. */
interface RetainedRow {
  topic: string[];
  bytes?: Uint8Array;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  qos: 0 | 1 | 2;
  properties?: RetainedMessage['properties'];
  storedAt: number;
}

/** Reads a realm's retained messages back, dropping those that expired while the router was down. */
export function loadRetained(db: Database, writer: Writer, realm: string): RetainedMessage[] {
  const now = Date.now();
  const found: RetainedMessage[] = [];
  for (const { key, value } of db.getRange(range(RETAINED, realm))) {
    const row = value as RetainedRow;
    const expiresAt = row.properties?.expiresAt;
    if (expiresAt !== undefined && expiresAt <= now) {
      writer.remove(key as never);
      continue;
    }
    found.push({
      topic: row.topic,
      payload: row.bytes !== undefined ? Payload.fromBytes(row.bytes) : Payload.fromArgs(row.args, row.kwargs),
      qos: row.qos,
      properties: row.properties,
      storedAt: row.storedAt,
    });
  }
  return found;
}

/** The memory store's map, with every change written through. */
export function durableRetained(db: Database, writer: Writer, realm: string): MemoryRetainedStore {
  const journal: RetainedJournal = {
    stored(_key, message) {
      const { payload } = message;
      const row: RetainedRow = {
        topic: [...message.topic],
        ...(payload.origin === 'bytes' ? { bytes: payload.bytes } : { args: payload.args, kwargs: payload.kwargs }),
        qos: message.qos,
        ...(message.properties === undefined ? {} : { properties: message.properties }),
        storedAt: message.storedAt,
      };
      writer.put([RETAINED, realm, JSON.stringify(message.topic)], row);
    },
    removed(key) {
      writer.remove([RETAINED, realm, JSON.stringify(key.split('\u0000'))]);
    },
  };
  return new MemoryRetainedStore(journal, loadRetained(db, writer, realm));
}
