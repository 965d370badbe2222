// fox-wamp as the benchmark runs it: its in-memory engine, MQTT over TCP, MQTT over WebSocket and WAMP JSON
// (the only serialization it speaks), each on its own port as its API has it.
// Usage: node bench/peers/fox-server.mjs MQTT_TCP_PORT MQTT_WS_PORT WAMP_PORT
import { createRequire } from 'node:module';

const FoxRouter = createRequire(import.meta.url)('fox-wamp');
const [tcpPort, mqttWsPort, wampPort] = process.argv.slice(2).map(Number);
const router = new FoxRouter();
router.listenMQTT({ port: tcpPort, host: '127.0.0.1' });
router.listenWsMQTT({ port: mqttWsPort, host: '127.0.0.1' });
router.listenWAMP({ port: wampPort, host: '127.0.0.1' });
