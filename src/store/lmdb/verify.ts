import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The fields of an LMDB meta page that say how large the file must be and how many records it holds. */
interface Meta {
  pageSize: number;
  lastPage: number;
  entries: number;
  txnId: bigint;
}

/** LMDB's magic number, at the start of each of the two meta pages' payload. */
const MDB_MAGIC = 0xbeefc0de;

/**
 * Reads one of the two meta pages (pages 0 and 1) of an LMDB data file, at the offsets of the LMDB build that
 * lmdb-js ships (checked by the store's tests): magic at 0x18, page size at 0x30, the main database's entry
 * count at 0x80, the last page in use at 0x90, the transaction id at 0x98.
 */
function readMeta(fd: number, offset: number): Meta | undefined {
  const page = Buffer.alloc(0xa0);
  if (readSync(fd, page, 0, page.length, offset) < page.length || page.readUInt32LE(0x18) !== MDB_MAGIC) return undefined;
  return {
    pageSize: page.readUInt32LE(0x30),
    entries: Number(page.readBigUInt64LE(0x80)),
    lastPage: Number(page.readBigUInt64LE(0x90)),
    txnId: page.readBigUInt64LE(0x98),
  };
}

function currentMeta(file: string): Meta | undefined {
  const fd = openSync(file, 'r');
  try {
    const first = readMeta(fd, 0);
    if (first === undefined || first.pageSize < 512) return undefined;
    const second = readMeta(fd, first.pageSize);
    return second !== undefined && second.txnId > first.txnId ? second : first;
  } finally {
    closeSync(fd);
  }
}

/**
 * LMDB maps its file into memory and trusts it: reading a truncated or overwritten file can kill the process
 * with SIGBUS or an assertion, or end an iteration early without a word. So before the router opens an
 * existing store: the file must be as long as its meta page says, and a throw-away child process must read
 * every record, decode it, and count as many as the meta page promises.
 */
export function verifyStoreFiles(dataDir: string): { ok: true; records: number } | { ok: false; problem: string } {
  const file = join(dataDir, 'data.mdb');
  if (!existsSync(file) || statSync(file).size === 0) return { ok: true, records: 0 };
  const meta = currentMeta(file);
  if (meta === undefined) return { ok: false, problem: 'data.mdb has no valid LMDB header: it is truncated or damaged' };
  const needed = (meta.lastPage + 1) * meta.pageSize;
  const size = statSync(file).size;
  if (size < needed) return { ok: false, problem: `data.mdb is ${size} bytes but its header needs ${needed}: it is truncated or damaged` };
  const lmdbEntry = createRequire(import.meta.url).resolve('lmdb');
  const script = `
    const { open } = require(${JSON.stringify(lmdbEntry)});
    const db = open({ path: ${JSON.stringify(dataDir)}, readOnly: true });
    let records = 0;
    for (const { value } of db.getRange()) { if (value === undefined) throw new Error('a record has no value'); records++; }
    process.stdout.write(String(records));
  `;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
  if (result.error !== undefined) return { ok: false, problem: `the check could not run: ${result.error.message}` };
  if (result.signal !== null) return { ok: false, problem: `reading it crashed the checking process (${result.signal}): the file is truncated or damaged` };
  if (result.status !== 0) {
    const reason = result.stderr.split('\n').find((line) => /error|assert/i.test(line)) ?? `exit code ${result.status}`;
    return { ok: false, problem: `reading it failed (${reason.trim()}): the file is truncated or damaged` };
  }
  const records = Number(result.stdout);
  if (records < meta.entries) return { ok: false, problem: `only ${records} of its ${meta.entries} records could be read: the file is truncated or damaged` };
  return { ok: true, records };
}
