// The chat example in one command:  node examples/chat/run.mjs [--port 8080] [--name terminal] [--mqtt-port 0]
//
// Starts the router serving public/ (the browser chat, WAMP over wamp.2.json) and then runs the MQTT chat client
// (cli.mjs) in this terminal: open the printed address in a few browser tabs and type in any of them or here.
// The router runs in development mode (no tokens; loopback only) to keep the example about the two protocols.
import { join } from 'node:path';
import { startCli } from './cli.mjs';
import { choosePort, copyAutobahn, onStop, option, REPO, startRouter } from '../dashboard/launch.mjs';

const publicDir = join(REPO, 'examples', 'chat', 'public');
const port = await choosePort(option('port', process.env.PORT ?? '8080'));
const mqttPort = Number(option('mqtt-port', '0'));
const name = option('name', 'terminal');

copyAutobahn(publicDir);
const router = await startRouter({ port, publicDir, mqttPort });
console.log(`Chat: open ${router.page} in a browser (two tabs make a conversation); Ctrl-C stops everything.`);
if (mqttPort !== 0) console.log(`MQTT over TCP on port ${mqttPort}: mosquitto_sub -p ${mqttPort} -t chat/lobby`);

const cli = await startCli({ name, url: router.url });
onStop(async () => {
  await cli.stop();
  await router.stop();
});
