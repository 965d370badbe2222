// A small line chart drawn as plain SVG elements: one polyline per device over a sliding time window, with
// horizontal grid lines labelled in degrees. No chart library: the page stays a few files with no build step.
const SVG = 'http://www.w3.org/2000/svg';
const PALETTE = ['#2f6fdf', '#d9480f', '#2b8a3e', '#862e9c', '#c2255c', '#1098ad'];

/** A stable colour per series, by the order in which series first appear. */
export function colorFor(index) {
  return PALETTE[index % PALETTE.length];
}

function element(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Redraws `svg` (viewBox 640 x 220) from `series`: an array of { id, color, points: [{ t, value }] }, where t is a
 * time in ms. The x axis spans [now - windowMs, now]; the y axis fits the values with a little headroom.
 */
export function drawChart(svg, series, { now = Date.now(), windowMs = 60_000, unit = '°C' } = {}) {
  const width = 640;
  const height = 220;
  const left = 48;
  const right = 10;
  const top = 10;
  const bottom = 24;
  const values = series.flatMap((line) => line.points.map((point) => point.value));
  svg.replaceChildren();
  if (values.length === 0) return;

  // At least one degree of range, so that a flat line sits in the middle rather than on an edge.
  let low = Math.min(...values);
  let high = Math.max(...values);
  const pad = Math.max(0.5, (high - low) * 0.15);
  low -= pad;
  high += pad;
  const x = (t) => left + ((t - (now - windowMs)) / windowMs) * (width - left - right);
  const y = (value) => top + (1 - (value - low) / (high - low)) * (height - top - bottom);

  const steps = 4;
  for (let step = 0; step <= steps; step++) {
    const value = low + ((high - low) * step) / steps;
    svg.append(element('line', { class: 'grid', x1: left, x2: width - right, y1: y(value), y2: y(value) }));
    svg.append(element('text', { class: 'label', x: 4, y: y(value) + 4 }, `${value.toFixed(1)}${unit}`));
  }
  svg.append(element('text', { class: 'label', x: left, y: height - 6 }, `-${Math.round(windowMs / 1000)} s`));
  svg.append(element('text', { class: 'label', x: width - right - 24, y: height - 6 }, 'now'));

  for (const line of series) {
    const points = line.points.map((point) => `${x(point.t).toFixed(1)},${y(point.value).toFixed(1)}`).join(' ');
    svg.append(element('polyline', { points, stroke: line.color, 'data-series': line.id }));
  }
}
