import { mkdirSync } from 'node:fs';
import { open, type RootDatabase } from 'lmdb';
import type { Logger } from 'pino';
import type { Config } from '../../config/defaults.js';
import type { MemoryRetainedStore } from '../memory/retained.js';
import type { RetainedStore, Store } from '../types.js';
import { FORMAT_VERSION, VERSION_KEY } from './keys.js';
import { durableRetained } from './retained.js';
import { LmdbSessionStore } from './sessions.js';
import { verifyStoreFiles } from './verify.js';
import { Writer } from './writer.js';

/** The store cannot be used as it is; the message says what happened and what the operator can do. */
export class StoreDamagedError extends Error {}

/** `store.engine: lmdb`: retained messages and persistent sessions in an LMDB environment in `store.dataDir`. */
export class LmdbStore implements Store {
  readonly engine = 'lmdb';
  readonly sessions: LmdbSessionStore;
  private readonly realms = new Map<string, MemoryRetainedStore>();
  private readonly writer: Writer;

  private constructor(private readonly db: RootDatabase, options: Config['store'], log: Logger) {
    this.writer = new Writer(db, options.fsync);
    this.sessions = new LmdbSessionStore(db, this.writer, (message, details) => log.warn({ ...details, dataDir: options.dataDir }, message));
  }

  static open(options: Config['store'], log: Logger): LmdbStore {
    const { dataDir } = options;
    const damaged = (problem: string) =>
      new StoreDamagedError(
        `the store in ${dataDir} cannot be used: ${problem}. Nothing was changed. Restore the directory from a backup, ` +
          `or move it aside to start with an empty store (what it held is then lost), and start again.`,
      );
    mkdirSync(dataDir, { recursive: true });
    const check = verifyStoreFiles(dataDir);
    if (!check.ok) throw damaged(check.problem);
    const db = open({
      path: dataDir,
      // `batch`: writes wait up to batchMs to share one transaction and one flush; `os`: the OS flushes.
      ...(options.fsync === 'batch' ? { commitDelay: options.batchMs } : {}),
      ...(options.fsync === 'os' ? { noSync: true } : {}),
    });
    const version = db.get(VERSION_KEY) as number | undefined;
    if (version === undefined && check.records > 0) {
      void db.close();
      throw damaged('it holds records but no Switchboard format version, so it is not a Switchboard store');
    }
    if (version !== undefined && version !== FORMAT_VERSION) {
      void db.close();
      throw damaged(`its format version is ${version}; this router reads version ${FORMAT_VERSION}`);
    }
    if (version === undefined) db.putSync(VERSION_KEY, FORMAT_VERSION);
    log.info({ dataDir, fsync: options.fsync, records: check.records }, 'store opened');
    return new LmdbStore(db, options, log);
  }

  retained(realm: string): RetainedStore {
    let store = this.realms.get(realm);
    if (store === undefined) {
      store = durableRetained(this.db, this.writer, realm);
      this.realms.set(realm, store);
    }
    return store;
  }

  barrier(): Promise<void> | undefined {
    this.sessions.flush();
    return this.writer.barrier();
  }

  async close(): Promise<void> {
    this.sessions.flush();
    this.sessions.compact();
    await this.writer.drain();
    await this.db.close();
  }
}
