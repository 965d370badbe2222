// The browser side of the chat: WAMP over wamp.2.json with autobahn-browser. A message is one JSON object
// { from, text, at } published to chat.<room>; MQTT clients on chat/<room> get the same object as JSON text.
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.hash.slice(1));
const room = params.get('room') ?? 'lobby';
const topic = `chat.${room}`;
let session;

for (const node of [$('room'), ...document.querySelectorAll('.room')]) node.textContent = room;
$('name').value = params.get('name') ?? `guest-${Math.floor(Math.random() * 1000)}`;

function setStatus(text, state) {
  $('status').textContent = text;
  document.body.dataset.state = state;
}

function show(message) {
  const item = document.createElement('li');
  if (message.from === $('name').value) item.className = 'mine';
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString();
  const from = document.createElement('span');
  from.className = 'from';
  from.textContent = message.from;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = message.text;
  item.append(time, from, text);
  $('messages').append(item);
  item.scrollIntoView({ block: 'end' });
}

/** Whatever arrives: an object from a client of either protocol, or plain text (mosquitto_pub -m hello). */
function toMessage(value) {
  if (value !== null && typeof value === 'object' && typeof value.text === 'string') {
    return { from: String(value.from ?? '?'), text: value.text };
  }
  return { from: '(mqtt)', text: String(value) };
}

const connection = new autobahn.Connection({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`,
  realm: 'realm1',
  protocols: ['wamp.2.json'],
  max_retries: 10,
});

connection.onopen = async (opened) => {
  session = opened;
  await session.subscribe(topic, (args) => show(toMessage(args[0])));
  setStatus(`connected (session ${session.id})`, 'connected');
};

connection.onclose = (reason, details) => {
  session = undefined;
  setStatus(`disconnected: ${details?.reason ?? reason}`, 'failed');
};

$('send').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = $('text').value.trim();
  if (text === '' || session === undefined) return;
  const message = { from: $('name').value.trim() || 'anonymous', text, at: new Date().toISOString() };
  try {
    // exclude_me: false, so the message appears here only once the router has routed it, like everyone else's.
    await session.publish(topic, [message], {}, { acknowledge: true, exclude_me: false });
    $('text').value = '';
  } catch (error) {
    setStatus(`not sent: ${error.error ?? error}`, 'failed');
  }
});

connection.open();
