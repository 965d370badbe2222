/**
 * The chat example (examples/chat/) across protocols: two Chromium pages chat over WAMP (served by the router
 * with `serveStatic`), and the example's command-line client, run as its own process exactly as a user would run
 * it, chats over MQTT in the same room. Messages must cross both ways.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { copyAutobahn } from '../../examples/dashboard/launch.mjs';
import { describeWithChromium, launchChromium, openPage, screenshot } from '../helpers/browser.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';

const EXAMPLE = resolve('examples', 'chat');
const PUBLIC = join(EXAMPLE, 'public');

/** The CLI as a child process, with its output collected and a way to wait for a line. */
interface Cli {
  child: ChildProcessWithoutNullStreams;
  output(): string;
  waitFor(text: string, ms?: number): Promise<void>;
}

function startCli(name: string, url: string, room: string): Cli {
  const child = spawn(process.execPath, [join(EXAMPLE, 'cli.mjs'), name, url, room], { stdio: 'pipe' });
  let output = '';
  let waiters: Array<() => void> = [];
  const grow = (chunk: Buffer) => {
    output += chunk.toString();
    for (const wake of waiters.splice(0)) wake();
  };
  child.stdout.on('data', grow);
  child.stderr.on('data', grow);
  return {
    child,
    output: () => output,
    waitFor(text, ms = 8000) {
      return new Promise((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`the CLI did not print ${JSON.stringify(text)}; it printed:\n${output}`)), ms);
        const check = () => {
          if (output.includes(text)) {
            clearTimeout(timer);
            done();
          } else waiters.push(check);
        };
        check();
        child.once('exit', () => {
          waiters = [];
          if (!output.includes(text)) {
            clearTimeout(timer);
            fail(new Error(`the CLI exited before printing ${JSON.stringify(text)}:\n${output}`));
          }
        });
      });
    },
  };
}

describeWithChromium('chat example: browsers on WAMP, a terminal on MQTT', () => {
  let browser: Browser;
  let router: TestRouter;
  let cli: Cli | undefined;

  beforeAll(async () => {
    copyAutobahn(PUBLIC);
    router = await startTestRouter({ serveStatic: PUBLIC });
    browser = await launchChromium();
  });

  afterEach(() => {
    cli?.child.kill('SIGKILL');
    cli = undefined;
  });

  afterAll(async () => {
    await browser?.close();
    await router?.close();
  });

  it('carries messages from the browser to the MQTT client and back, and between browsers', async () => {
    const room = `room${process.pid}`;
    cli = startCli('bob', router.url, room);
    await cli.waitFor(`joined chat/${room} as bob`);

    const base = `http://127.0.0.1:${router.port}/`;
    const alice = await openPage(browser, `${base}#name=alice&room=${room}`);
    const carol = await openPage(browser, `${base}#name=carol&room=${room}`);
    for (const { page } of [alice, carol]) await page.waitForSelector('body[data-state="connected"]');

    // Browser -> MQTT terminal (and the other browser).
    await alice.page.fill('#text', 'hello from the browser');
    await alice.page.press('#text', 'Enter');
    await cli.waitFor('alice: hello from the browser');
    await carol.page.waitForSelector('#messages li:has-text("hello from the browser")');
    expect(await carol.page.textContent('#messages li:last-child .from')).toBe('alice');

    // MQTT terminal -> both browsers.
    cli.child.stdin.write('hi from the terminal\n');
    for (const { page } of [alice, carol]) {
      await page.waitForSelector('#messages li:has-text("hi from the terminal")');
      expect(await page.textContent('#messages li:last-child .from')).toBe('bob');
    }
    // The terminal does not get its own line echoed (MQTT 5 No Local).
    expect(cli.output()).not.toContain('bob: hi from the terminal');

    await screenshot(alice.page, 'chat');
    expect([...alice.problems, ...carol.problems]).toEqual([]);
  });
});
