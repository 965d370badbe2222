// The price ticker in one command:  node examples/ticker/run.mjs [--port 8080] [--interval 250]
//
// Starts the router serving public/ and a server-side publisher (publisher.mjs) that sends price quotes; every
// browser that opens the printed address subscribes to them over WAMP and gets each update pushed over its
// WebSocket. Open it in as many tabs or machines as you like: the publisher sends each quote once, and the
// router fans it out. Development mode (no tokens; loopback only) keeps the example about fan-out.
import { join } from 'node:path';
import { choosePort, copyAutobahn, onStop, option, REPO, startRouter } from '../dashboard/launch.mjs';
import { startTicker } from './publisher.mjs';

const publicDir = join(REPO, 'examples', 'ticker', 'public');
const port = await choosePort(option('port', process.env.PORT ?? '8080'));
const intervalMs = Number(option('interval', '250'));

copyAutobahn(publicDir);
const router = await startRouter({ port, publicDir });
const ticker = await startTicker({ url: router.url, intervalMs });
onStop(async () => {
  await ticker.stop();
  await router.stop();
});
console.log(`Ticker: open ${router.page} in a few browser tabs; Ctrl-C stops everything.`);
