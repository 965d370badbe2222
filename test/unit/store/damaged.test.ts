/** A store file that cannot be trusted stops start-up with a message that says what to do; it is never emptied. */
import { mkdtempSync, rmSync, statSync, truncateSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../src/config/defaults.js';
import { LmdbStore, StoreDamagedError } from '../../../src/store/lmdb/store.js';

const log = pino({ level: 'silent' });
let dir: string;
const options = () => ({ ...DEFAULTS.store, engine: 'lmdb' as const, dataDir: dir });

/** A store holding enough sessions and messages to span many pages. */
async function filledStore(): Promise<void> {
  const store = LmdbStore.open(options(), log);
  for (let s = 0; s < 20; s++) {
    store.sessions.save(`realm1\u0000c${s}`, { clientId: `c${s}` });
    for (let seq = 1; seq <= 200; seq++) {
      store.sessions.putEntry(`realm1\u0000c${s}`, seq, { message: { topic: 't', payload: Buffer.alloc(64, seq), properties: undefined }, qos: 1, retain: false, subscriptionIds: [] });
    }
  }
  await store.close();
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-damaged-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a damaged store at start-up', () => {
  it('a truncated file is detected, and the file is left as it was', async () => {
    await filledStore();
    const file = join(dir, 'data.mdb');
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const size = statSync(file).size;
    expect(() => LmdbStore.open(options(), log)).toThrow(StoreDamagedError);
    try {
      LmdbStore.open(options(), log);
    } catch (error) {
      expect((error as Error).message).toContain(dir);
      expect((error as Error).message).toMatch(/truncated or damaged/);
      expect((error as Error).message).toMatch(/backup|move it aside/);
    }
    expect(statSync(file).size).toBe(size);
  });

  it('pages overwritten with garbage are detected', async () => {
    await filledStore();
    const fd = openSync(join(dir, 'data.mdb'), 'r+');
    const garbage = Buffer.alloc(4096 * 8);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919) & 0xff;
    writeSync(fd, garbage, 0, garbage.length, 4096 * 4);
    closeSync(fd);
    expect(() => LmdbStore.open(options(), log)).toThrow(StoreDamagedError);
  });

  it('an LMDB file that is not a Switchboard store is refused', async () => {
    const foreign = open({ path: dir });
    await foreign.put('someone-else', { x: 1 });
    await foreign.close();
    expect(() => LmdbStore.open(options(), log)).toThrow(/not a Switchboard store/);
  });

  it('an intact store opens and keeps its data', async () => {
    await filledStore();
    const store = LmdbStore.open(options(), log);
    expect(store.sessions.load().reduce((n, s) => n + s.entries.length, 0)).toBe(20 * 200);
    await store.close();
  });
});
