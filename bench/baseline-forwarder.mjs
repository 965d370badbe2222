// The ceiling for any Node router on this machine: no protocol at all. Over WebSocket (plain `ws`, used the
// ordinary way), every message from a client that connected on /pub is sent to every other client; over TCP,
// every chunk from a client of PUB_PORT is written to every client of TCP_PORT. The generator speaks MQTT or
// WAMP bytes to it, so the subscribers parse and count exactly what they would from a broker.
// For the connection scenarios it also answers, once, the first message of a client that connected on /hello (over
// WebSocket) or to HELLO_PORT (TCP) with four bytes: the cheapest possible login round trip, to compare a router's
// CONNECT/CONNACK or HELLO/WELCOME with.
// Usage: node bench/baseline-forwarder.mjs WS_PORT TCP_PORT PUB_PORT HELLO_PORT
import { createServer } from 'node:net';
import { WebSocketServer } from 'ws';

// A TCP client cannot tell when the server has accepted it, so each gets four bytes (an MQTT CONNACK) first.
const READY = Buffer.from([0x20, 0x02, 0x00, 0x00]);

const [wsPort, tcpPort, pubPort, helloPort] = process.argv.slice(2).map(Number);

const wsSubscribers = new Set();
const wss = new WebSocketServer({ port: wsPort, host: '127.0.0.1', clientTracking: false, perMessageDeflate: false });
wss.on('connection', (ws, request) => {
  if (request.url === '/hello') {
    ws.once('message', () => ws.send(READY));
  } else if (request.url === '/pub') {
    ws.on('message', (data, isBinary) => {
      for (const subscriber of wsSubscribers) subscriber.send(data, { binary: isBinary });
    });
  } else {
    wsSubscribers.add(ws);
    ws.on('close', () => wsSubscribers.delete(ws));
  }
});


const tcpSubscribers = new Set();
createServer((socket) => {
  socket.setNoDelay(true);
  tcpSubscribers.add(socket);
  socket.on('error', () => undefined);
  socket.on('close', () => tcpSubscribers.delete(socket));
  socket.write(READY);
}).listen(tcpPort, '127.0.0.1');
createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  socket.on('data', (chunk) => {
    for (const subscriber of tcpSubscribers) subscriber.write(chunk);
  });
  socket.write(READY);
}).listen(pubPort, '127.0.0.1');
createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  socket.once('data', () => socket.write(READY));
}).listen(helloPort, '127.0.0.1');
