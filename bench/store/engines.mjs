#!/usr/bin/env node
/**
 * Compares embedded storage engines for the durable store, on this machine, the way the router uses them:
 * small records written from the event loop, acknowledged only once durable.
 *
 *   node bench/store/engines.mjs [records-for-recovery=1000000]
 *
 * Candidates: lmdb (the shipped engine), better-sqlite3 (when installed: `npm install --no-save better-sqlite3`,
 * which compiles it), and a plain append-only log with fdatasync. For each it reports:
 * - latency: one 100-byte record written alone and awaited until durable (p50/p99 over 2,000 writes);
 * - batched throughput: records/s when each event-loop turn writes 1,000 records and awaits their durability;
 * - recovery: opening the store and reading back N records written beforehand.
 */
import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';

const RECOVERY_RECORDS = Number(process.argv[2] ?? 1_000_000);
const LATENCY_SAMPLES = 2000;
const BATCH = 1000;
const BATCHES = 100;
const value = { topic: 'sensors/room-1/temperature', payload: Buffer.alloc(64, 7), qos: 1, packetId: 42 };

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(latencies) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50).toFixed(3), p99: percentile(sorted, 99).toFixed(3) };
}

const engines = {
  /** lmdb as shipped: writes of one turn in one transaction; durable when `flushed` resolves. */
  lmdb: {
    async create(dir) {
      const db = open({ path: dir });
      return {
        async putDurable(key, record) {
          await db.put(key, record);
          await db.flushed;
        },
        async batchDurable(entries) {
          for (const [key, record] of entries) db.put(key, record);
          await db.flushed;
        },
        async fill(count) {
          for (let i = 0; i < count; i++) {
            db.put(['q', 'client', i], value);
            if (i % 10000 === 9999) await db.committed;
          }
          await db.flushed;
        },
        close: () => db.close(),
        async recover() {
          const reopened = open({ path: dir });
          let n = 0;
          for (const { value: record } of reopened.getRange({ start: ['q'], end: ['r'] })) if (record.qos === 1) n++;
          await reopened.close();
          return n;
        },
      };
    },
  },
  /** SQLite in WAL mode with synchronous=FULL: each transaction is durable when commit returns. */
  'better-sqlite3': {
    available() {
      try {
        createRequire(import.meta.url)('better-sqlite3');
        return true;
      } catch {
        return false;
      }
    },
    async create(dir) {
      const Database = createRequire(import.meta.url)('better-sqlite3');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'store.db');
      const db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec('CREATE TABLE IF NOT EXISTS q (k TEXT PRIMARY KEY, v BLOB)');
      const insert = db.prepare('INSERT OR REPLACE INTO q (k, v) VALUES (?, ?)');
      const many = db.transaction((entries) => {
        for (const [key, record] of entries) insert.run(key.join('/'), JSON.stringify(record));
      });
      return {
        async putDurable(key, record) {
          insert.run(key.join('/'), JSON.stringify(record));
        },
        async batchDurable(entries) {
          many(entries);
        },
        async fill(count) {
          db.pragma('synchronous = OFF');
          for (let start = 0; start < count; start += 10000) {
            const chunk = [];
            for (let i = start; i < Math.min(count, start + 10000); i++) chunk.push([['q', 'client', String(i).padStart(9, '0')], value]);
            many(chunk);
          }
          db.pragma('synchronous = FULL');
        },
        close: () => db.close(),
        async recover() {
          const reopened = new Database(file);
          let n = 0;
          for (const row of reopened.prepare('SELECT v FROM q').iterate()) if (JSON.parse(row.v).qos === 1) n++;
          reopened.close();
          return n;
        },
      };
    },
  },
  /** An append-only log: one write(2) per batch, then fdatasync. No compaction: the lower bound on work. */
  'append-log': {
    async create(dir) {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'log');
      let fd = openSync(file, 'a');
      const line = (key, record) => `${JSON.stringify([key, { ...record, payload: record.payload.toString('base64') }])}\n`;
      return {
        async putDurable(key, record) {
          writeSync(fd, line(key, record));
          fdatasyncSync(fd);
        },
        async batchDurable(entries) {
          let text = '';
          for (const [key, record] of entries) text += line(key, record);
          writeSync(fd, text);
          fdatasyncSync(fd);
        },
        async fill(count) {
          for (let start = 0; start < count; start += 10000) {
            let text = '';
            for (let i = start; i < Math.min(count, start + 10000); i++) text += line(['q', 'client', i], value);
            writeSync(fd, text);
          }
          fdatasyncSync(fd);
        },
        close() {
          closeSync(fd);
          fd = -1;
        },
        async recover() {
          const latest = new Map();
          for (const text of readFileSync(file, 'utf8').split('\n')) {
            if (text === '') continue;
            const [key, record] = JSON.parse(text);
            latest.set(key.join('/'), record);
          }
          let n = 0;
          for (const record of latest.values()) if (record.qos === 1) n++;
          return n;
        },
      };
    },
  },
};

async function measure(name, engine) {
  const dir = mkdtempSync(join(tmpdir(), `sb-engine-${name}-`));
  try {
    const store = await engine.create(join(dir, 'a'));
    const latencies = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const started = process.hrtime.bigint();
      await store.putDurable(['l', 'client', i], value);
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    const batchStarted = process.hrtime.bigint();
    for (let b = 0; b < BATCHES; b++) {
      const entries = [];
      for (let i = 0; i < BATCH; i++) entries.push([['b', 'client', b * BATCH + i], value]);
      await store.batchDurable(entries);
    }
    const batchSeconds = Number(process.hrtime.bigint() - batchStarted) / 1e9;
    await store.close();

    const recoveryStore = await engine.create(join(dir, 'r'));
    await recoveryStore.fill(RECOVERY_RECORDS);
    await recoveryStore.close();
    const recoveryStarted = process.hrtime.bigint();
    const recovered = await recoveryStore.recover();
    const recoverySeconds = Number(process.hrtime.bigint() - recoveryStarted) / 1e9;
    if (recovered !== RECOVERY_RECORDS) throw new Error(`${name} recovered ${recovered} of ${RECOVERY_RECORDS}`);
    return {
      engine: name,
      ...summary(latencies),
      batchedPerSec: Math.round((BATCH * BATCHES) / batchSeconds),
      recoverySec: recoverySeconds.toFixed(2),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [];
for (const [name, engine] of Object.entries(engines)) {
  if (engine.available !== undefined && !engine.available()) {
    console.log(`${name}: not installed, skipped`);
    continue;
  }
  const row = await measure(name, engine);
  console.log(JSON.stringify(row));
  rows.push(row);
}
console.log(`\n| engine | durable write p50 (ms) | p99 (ms) | batched durable records/s (${BATCH}/turn) | recovery of ${RECOVERY_RECORDS.toLocaleString('en')} records (s) |`);
console.log('|---|---|---|---|---|');
for (const row of rows) console.log(`| ${row.engine} | ${row.p50} | ${row.p99} | ${row.batchedPerSec.toLocaleString('en')} | ${row.recoverySec} |`);
