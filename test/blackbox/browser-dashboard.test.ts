/**
 * The dashboard example (examples/dashboard/) in a real headless Chromium: the router serves the page
 * (`serveStatic`) and takes WebSockets on the same port, with a JWT secret and the example's own authorization
 * rules; the example's simulated device publishes over MQTT and implements devices.<id>.led.set; the page logs in
 * over WAMP with a token from its URL fragment. The test checks that what the device sent is what the page shows,
 * and that the page's button reaches the device and shows its answer.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
// The example's own code, not a copy: the test exercises exactly what `node examples/dashboard/run.mjs` runs.
import { startDevice, type Device } from '../../examples/dashboard/device.mjs';
import { copyAutobahn } from '../../examples/dashboard/launch.mjs';
import { describeWithChromium, launchChromium, openPage, screenshot } from '../helpers/browser.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { hs256, SECRET } from '../helpers/tokens.js';

const EXAMPLE = resolve('examples', 'dashboard');
const PUBLIC = join(EXAMPLE, 'public');
const { realms } = JSON.parse(readFileSync(join(EXAMPLE, 'router-config.json'), 'utf8'));

describeWithChromium('dashboard example in Chromium', () => {
  let browser: Browser;
  let router: TestRouter;
  let device: Device | undefined;

  beforeAll(async () => {
    copyAutobahn(PUBLIC);
    router = await startTestRouter({ jwt: { secret: SECRET }, serveStatic: PUBLIC, realms });
    browser = await launchChromium();
  });

  afterEach(async () => {
    await device?.stop();
    device = undefined;
  });

  afterAll(async () => {
    await browser?.close();
    await router?.close();
  });

  it('shows the readings a device publishes over MQTT, and its button calls the device', async () => {
    // A unique id per run, so that nothing retained from elsewhere could stand in for this device's readings.
    const id = `sim${process.pid}`;
    device = await startDevice({
      url: router.url,
      id,
      token: await hs256({ sub: id, claims: { role: 'device' } }),
      intervalMs: 200,
    });
    const viewer = await hs256({ sub: 'carol', claims: { role: 'viewer' } });
    const { page, problems } = await openPage(browser, `http://127.0.0.1:${router.port}/#token=${viewer}`);

    await page.waitForSelector('body[data-state="connected"]');
    expect(await page.textContent('#status')).toBe('connected as carol (viewer)');
    expect(page.url()).not.toContain(viewer); // the page took the token out of the address bar

    // The row shows a temperature the device really sent (formatted as the page does), not a placeholder.
    const row = `tr[data-device="${id}"]`;
    await page.waitForSelector(`${row} td[data-field="temperature"]:not(:empty)`);
    const shown = await page.textContent(`${row} td[data-field="temperature"]`);
    const sent = device.readings.map((reading) => `${reading.temperature.toFixed(1)} °C`);
    expect(sent).toContain(shown);
    expect(await page.textContent(`${row} td[data-field="led"]`)).toBe('off');

    // Readings keep coming: the chart's line for this device grows to several points.
    await page.waitForFunction(
      (series) => (document.querySelector(`polyline[data-series="${series}"]`)?.getAttribute('points') ?? '').split(' ').length >= 4,
      id,
    );

    expect(device.calls).toEqual([]);
    await page.click(`${row} button.led-button`);
    await page.waitForSelector('#result:has-text("-> ")');
    const result = await page.textContent('#result');
    expect(result).toContain(`devices.${id}.led.set("on") -> `);
    expect(JSON.parse(result!.split(' -> ')[1]!)).toMatchObject({ device: id, led: 'on' });
    expect(device.calls).toEqual(['on']);
    expect(device.led).toBe('on');
    // The device publishes its new state at once, and the row follows.
    await page.waitForSelector(`${row} td[data-field="led"]:has-text("on")`);
    expect(await page.textContent(`${row} button.led-button`)).toBe('Turn LED off');

    await screenshot(page, 'dashboard');
    expect(problems).toEqual([]);
  });

  it('refuses a token signed with another secret, and the page says why', async () => {
    const forged = await hs256({ sub: 'mallory', claims: { role: 'viewer' } }, 'not-the-router-secret-but-long-enough!!');
    const { page } = await openPage(browser, `http://127.0.0.1:${router.port}/#token=${forged}`);
    await page.waitForSelector('body[data-state="failed"]');
    expect(await page.textContent('#status')).toBe('login refused: wamp.error.authentication_denied');
    expect(await page.locator('#readings tbody tr').count()).toBe(0);
    // The login form is still there to try another token.
    expect(await page.isVisible('#token')).toBe(true);
  });

  it('runs as documented: node examples/dashboard/run.mjs serves a page that logs in and shows the devices', async () => {
    // The one command a user runs (with a free port), against the built router in dist/ and mint-token.mjs.
    const run = spawn(process.execPath, [join(EXAMPLE, 'run.mjs'), '--port', '0', '--devices', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((done) => run.once('exit', () => done()));
    let output = '';
    run.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    run.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const address = await new Promise<string>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`run.mjs printed no address:\n${output}`)), 15_000);
        run.stdout.on('data', () => {
          const match = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/.exec(output);
          if (match) {
            clearTimeout(timer);
            done(match[1]!);
          }
        });
        run.once('exit', (code) => fail(new Error(`run.mjs exited with ${code}:\n${output}`)));
      });
      const { page, problems } = await openPage(browser, address);
      await page.waitForSelector('body[data-state="connected"]');
      expect(await page.textContent('#status')).toBe('connected as viewer (viewer)');
      for (const id of ['d1', 'd2']) await page.waitForSelector(`tr[data-device="${id}"] td[data-field="temperature"]:not(:empty)`);
      await page.click('tr[data-device="d2"] button.led-button');
      await page.waitForSelector('#result:has-text("devices.d2.led.set(\\"on\\") -> ")');
      expect(output).toContain('device d2: LED on');
      expect(problems).toEqual([]);
    } finally {
      // SIGTERM lets run.mjs stop its devices and its router; SIGKILL only if it hangs.
      run.kill('SIGTERM');
      const hung = setTimeout(() => run.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(hung);
    }
  });
});
