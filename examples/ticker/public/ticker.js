// The browser side of the ticker: one wildcard subscription to `ticker.` (one component after `ticker`, like
// MQTT's ticker/+) brings every symbol's quotes, and get_retained brings each symbol's last quote at once, so a
// page opened between ticks is never empty.
const $ = (id) => document.getElementById(id);
const rows = new Map(); // symbol -> { row, cells, price }
let updates = 0;

function setStatus(text, state) {
  $('status').textContent = text;
  document.body.dataset.state = state;
}

function rowFor(symbol) {
  const known = rows.get(symbol);
  if (known) return known;
  const row = document.createElement('tr');
  row.dataset.symbol = symbol;
  const cells = {};
  for (const field of ['symbol', 'price', 'change', 'changePct', 'updated']) {
    const cell = document.createElement('td');
    cell.dataset.field = field;
    if (field !== 'symbol' && field !== 'updated') cell.className = 'number';
    row.append(cell);
    cells[field] = cell;
  }
  cells.symbol.textContent = symbol;
  // Keep the table in alphabetical order whatever order quotes arrive in.
  const after = [...rows.keys()].filter((other) => other > symbol).sort()[0];
  $('quotes').tBodies[0].insertBefore(row, after ? rows.get(after).row : null);
  const entry = { row, cells, price: undefined };
  rows.set(symbol, entry);
  return entry;
}

function onQuote(args) {
  const quote = args[0];
  if (quote === null || typeof quote !== 'object' || typeof quote.symbol !== 'string') return;
  const entry = rowFor(quote.symbol);
  const direction = entry.price === undefined || quote.price === entry.price ? '' : quote.price > entry.price ? 'up' : 'down';
  entry.price = quote.price;
  entry.cells.price.textContent = quote.price.toFixed(2);
  const sign = quote.change > 0 ? '+' : '';
  entry.cells.change.textContent = `${sign}${quote.change.toFixed(2)}`;
  entry.cells.changePct.textContent = `${sign}${quote.changePct.toFixed(2)}%`;
  for (const cell of [entry.cells.change, entry.cells.changePct]) cell.className = `number ${quote.change >= 0 ? 'up' : 'down'}`;
  entry.cells.updated.textContent = new Date(quote.at).toLocaleTimeString();
  entry.row.dataset.seq = String(quote.seq);
  if (direction) {
    // Restart the flash animation: remove the class, force a style flush, add it again.
    entry.row.classList.remove('flash-up', 'flash-down');
    void entry.row.offsetWidth;
    entry.row.classList.add(`flash-${direction}`);
  }
  $('updates').textContent = String(++updates);
}

const connection = new autobahn.Connection({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`,
  realm: 'realm1',
  protocols: ['wamp.2.json'],
  max_retries: 10,
});

connection.onopen = async (session) => {
  try {
    await session.subscribe('ticker.', onQuote, { match: 'wildcard', get_retained: true });
  } catch (error) {
    setStatus(`cannot subscribe: ${error.error ?? error}`, 'failed');
    return;
  }
  setStatus('live', 'connected');
  // The session meta API counts everyone on the router: a rough "who else is watching".
  const count = () => session.call('wamp.session.count').then((n) => ($('sessions').textContent = String(n)), () => {});
  count();
  const timer = setInterval(count, 3000);
  connection.onclose = (reason, details) => {
    clearInterval(timer);
    setStatus(`disconnected: ${details?.reason ?? reason}`, 'failed');
  };
};

connection.onclose = (reason, details) => {
  setStatus(`disconnected: ${details?.reason ?? reason}`, 'failed');
};

connection.open();
