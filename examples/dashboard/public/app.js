// The dashboard: logs in to the router over WAMP (wamp.2.json, autobahn-browser) with a JWT, shows each device's
// readings as they are published over MQTT, and calls the procedure a device implements.
import { colorFor, drawChart } from './chart.js';

const HISTORY_MS = 60_000;
const $ = (id) => document.getElementById(id);
const devices = new Map(); // id -> { cells, button, led, history }
let session;

function setStatus(text, state) {
  $('status').textContent = text;
  document.body.dataset.state = state;
}

/** The token run.mjs puts in the fragment (#token=...); fragments are never sent to the server. */
function tokenFromFragment() {
  const match = /(?:^|&)token=([^&]+)/.exec(location.hash.slice(1));
  return match ? decodeURIComponent(match[1]) : undefined;
}

function login(token) {
  setStatus('connecting...', 'connecting');
  const connection = new autobahn.Connection({
    // The router serves this page and WebSockets on the same port, so the page's own host is the router.
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`,
    realm: 'realm1',
    protocols: ['wamp.2.json'],
    // The router's WAMP JWT convention: ticket authentication, with the token as the ticket.
    authmethods: ['ticket'],
    onchallenge: (_session, method) => {
      if (method !== 'ticket') throw new Error(`unexpected challenge ${method}`);
      return token;
    },
    max_retries: 10,
  });
  connection.onopen = (opened, details) => {
    session = opened;
    setStatus(`connected as ${details.authid} (${details.authrole})`, 'connected');
    // One wildcard subscription covers every device; get_retained brings each device's last reading at once.
    session
      .subscribe('devices..telemetry', onReading, { match: 'wildcard', get_retained: true })
      .catch((error) => setStatus(`cannot subscribe: ${error.error ?? error}`, 'failed'));
  };
  connection.onclose = (reason, details) => {
    session = undefined;
    // An ABORT (a refused token, say) will not get better by retrying; a lost connection might.
    const refused = typeof details?.reason === 'string' && details.reason.startsWith('wamp.error.');
    setStatus(refused ? `login refused: ${details.reason}` : `disconnected (${reason})`, 'failed');
    return refused;
  };
  connection.open();
}

function onReading(args, _kwargs, details) {
  const id = details.topic.split('.')[1];
  const reading = args[0];
  if (typeof reading !== 'object' || reading === null) return;
  const device = devices.get(id) ?? addDevice(id);
  device.led = reading.led;
  device.cells.temperature.textContent = `${Number(reading.temperature).toFixed(1)} °C`;
  device.cells.humidity.textContent = `${Number(reading.humidity).toFixed(1)} %`;
  device.cells.led.textContent = reading.led;
  device.cells.led.className = reading.led === 'on' ? 'led-on' : '';
  device.cells.updated.textContent = new Date(reading.at).toLocaleTimeString();
  device.button.textContent = reading.led === 'on' ? 'Turn LED off' : 'Turn LED on';
  // Plotted at arrival time: the device's clock need not agree with the browser's.
  device.history.push({ t: Date.now(), value: Number(reading.temperature) });
  redraw();
}

function addDevice(id) {
  const row = document.createElement('tr');
  row.dataset.device = id;
  const cell = (name, className) => {
    const td = document.createElement('td');
    td.dataset.field = name;
    if (className) td.className = className;
    row.append(td);
    return td;
  };
  const cells = {
    id: cell('id'),
    temperature: cell('temperature', 'number'),
    humidity: cell('humidity', 'number'),
    led: cell('led'),
    updated: cell('updated'),
  };
  cells.id.textContent = id;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'led-button';
  button.addEventListener('click', () => setLed(id));
  cell('action').append(button);
  $('readings').tBodies[0].append(row);
  $('empty').hidden = true;
  const device = { cells, button, led: 'off', history: [], color: colorFor(devices.size) };
  devices.set(id, device);
  const key = document.createElement('span');
  const swatch = document.createElement('i');
  swatch.style.background = device.color;
  key.append(swatch, id);
  $('legend').append(key);
  return device;
}

async function setLed(id) {
  const device = devices.get(id);
  const wanted = device.led === 'on' ? 'off' : 'on';
  const procedure = `devices.${id}.led.set`;
  const result = $('result');
  result.className = 'result';
  result.textContent = `calling ${procedure}("${wanted}")...`;
  device.button.disabled = true;
  try {
    // The device answers over MQTT; to this page it is an ordinary WAMP call.
    const answer = await session.call(procedure, [wanted], {}, { timeout: 5000 });
    result.textContent = `${procedure}("${wanted}") -> ${JSON.stringify(answer)}`;
  } catch (error) {
    result.className = 'result error';
    result.textContent = `${procedure}("${wanted}") failed: ${error.error ?? error} ${JSON.stringify(error.args ?? [])}`;
  } finally {
    device.button.disabled = false;
  }
}

function redraw() {
  const now = Date.now();
  const series = [...devices.entries()].map(([id, device]) => {
    device.history = device.history.filter((point) => point.t > now - HISTORY_MS);
    return { id, color: device.color, points: device.history };
  });
  drawChart($('chart'), series, { now, windowMs: HISTORY_MS });
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  login($('token').value.trim());
});

const fromFragment = tokenFromFragment();
if (fromFragment) {
  // Take the token out of the address bar, so that it is not bookmarked or shared by accident.
  history.replaceState(null, '', location.pathname + location.search);
  $('token').value = fromFragment;
  login(fromFragment);
}
