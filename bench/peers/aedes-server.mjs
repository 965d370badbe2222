// Aedes as the benchmark runs it: its default in-memory persistence, MQTT over TCP, and MQTT over WebSocket
// the way Aedes documents it (a ws server whose sockets become streams via ws.createWebSocketStream).
// Usage: node bench/peers/aedes-server.mjs TCP_PORT WS_PORT
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';

const [tcpPort, wsPort] = process.argv.slice(2).map(Number);
const broker = await Aedes.createBroker();
createServer(broker.handle).listen(tcpPort, '127.0.0.1');
const http = createHttpServer();
const wss = new WebSocketServer({ server: http, handleProtocols: (offered) => (offered.has('mqtt') ? 'mqtt' : false) });
wss.on('connection', (ws, request) => broker.handle(createWebSocketStream(ws), request));
http.listen(wsPort, '127.0.0.1');
