// A server-side price publisher: one WAMP session (autobahn-js over wamp.2.cbor) publishing a quote per symbol
// to ticker.<SYMBOL>. The router fans each publication out to every subscribed browser, encoding it once per
// serializer, and keeps the last quote of each symbol (retain) for browsers that arrive later.
//
// Run on its own: node examples/ticker/publisher.mjs [ws-url]      (run.mjs starts it for you)
import { pathToFileURL } from 'node:url';
import autobahn from 'autobahn';

export const SYMBOLS = { ACME: 182.4, GLOBX: 57.15, INITE: 311.9, UMBR: 24.62, WAYNE: 96.3, STARK: 418.75 };

/**
 * Connects and publishes a few quotes every `intervalMs`. Resolves once connected and the first quote of every
 * symbol is out. `last` holds the latest quote sent per symbol; `pause()` stops the ticking (for tests).
 */
export async function startTicker({ url, intervalMs = 250, symbols = SYMBOLS }) {
  const open = { ...symbols };
  const price = { ...symbols };
  const last = {};
  let seq = 0;
  let timer;
  let inflight = Promise.resolve();

  const connection = new autobahn.Connection({
    url,
    realm: 'realm1',
    serializers: [new autobahn.serializer.CBORSerializer()],
    max_retries: 0,
  });
  const session = await new Promise((resolve, reject) => {
    connection.onopen = resolve;
    connection.onclose = (reason, details) => {
      reject(new Error(`ticker: connection closed: ${details?.reason ?? reason}`));
      return true;
    };
    connection.open();
  });

  function quote(symbol) {
    // A random walk in percent, so that cheap and dear symbols move alike.
    price[symbol] = Math.max(0.01, price[symbol] * (1 + (Math.random() - 0.5) * 0.004));
    const value = Math.round(price[symbol] * 100) / 100;
    const change = Math.round((value - open[symbol]) * 100) / 100;
    const message = { symbol, price: value, change, changePct: Math.round((change / open[symbol]) * 10000) / 100, seq: ++seq, at: new Date().toISOString() };
    last[symbol] = message;
    // acknowledge: each publish is confirmed, so `last` is known to have reached the router in order.
    return session.publish(`ticker.${symbol}`, [message], {}, { retain: true, acknowledge: true });
  }

  function tick() {
    // Not every symbol trades on every tick, which makes the page's flashes readable.
    const names = Object.keys(price).filter(() => Math.random() < 0.5);
    inflight = Promise.all(names.map(quote)).catch(() => {});
  }

  let closed;
  const whenClosed = new Promise((resolve) => (closed = resolve));
  connection.onclose = () => {
    clearInterval(timer);
    closed();
    return true; // no reconnecting: the example's router does not come back
  };

  await Promise.all(Object.keys(price).map(quote));
  timer = setInterval(tick, intervalMs);
  return {
    last,
    /** Stops ticking and resolves when the quotes already sent are acknowledged. */
    async pause() {
      clearInterval(timer);
      await inflight;
    },
    /** Says goodbye and resolves once the session is closed. */
    async stop() {
      clearInterval(timer);
      if (connection.isOpen) connection.close();
      await whenClosed;
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const ticker = await startTicker({ url: process.argv[2] ?? 'ws://127.0.0.1:8080/' });
  console.log(`publishing ${Object.keys(SYMBOLS).join(', ')} to ticker.<SYMBOL>; Ctrl-C stops`);
  process.on('SIGINT', () => ticker.stop().then(() => process.exit(0)));
}
