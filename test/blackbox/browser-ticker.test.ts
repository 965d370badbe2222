/**
 * The ticker example (examples/ticker/) fanning out to several real Chromium pages: the example's publisher sends
 * quotes over wamp.2.cbor, the pages (served by the router) receive them over wamp.2.json. Once the publisher
 * pauses, every page must show exactly the last quote of every symbol; a page opened after that must get them
 * too, from the retained quotes alone.
 */
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { copyAutobahn } from '../../examples/dashboard/launch.mjs';
import { startTicker, SYMBOLS } from '../../examples/ticker/publisher.mjs';
import { describeWithChromium, launchChromium, openPage, screenshot, type WatchedPage } from '../helpers/browser.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';

const PUBLIC = join(resolve('examples', 'ticker'), 'public');

type Ticker = Awaited<ReturnType<typeof startTicker>>;

/** What a page shows: symbol -> [price text, seq of the quote shown]. */
function shown(page: Page): Promise<Record<string, [string, string]>> {
  return page.evaluate(() =>
    Object.fromEntries(
      Array.from(document.querySelectorAll<HTMLTableRowElement>('#quotes tbody tr')).map((row) => [
        row.dataset.symbol!,
        [row.querySelector('[data-field="price"]')!.textContent!, row.dataset.seq!],
      ]),
    ),
  );
}

describeWithChromium('ticker example: one publisher, many browsers', () => {
  let browser: Browser;
  let router: TestRouter;
  let ticker: Ticker | undefined;

  beforeAll(async () => {
    copyAutobahn(PUBLIC);
    router = await startTestRouter({ serveStatic: PUBLIC });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await ticker?.stop();
    await browser?.close();
    await router?.close();
  });

  it('every page shows the last quote of every symbol, and a late page gets them from the retained quotes', async () => {
    ticker = await startTicker({ url: router.url, intervalMs: 50 });
    const url = `http://127.0.0.1:${router.port}/`;
    const pages: WatchedPage[] = [];
    for (let n = 0; n < 3; n++) pages.push(await openPage(browser, url));
    for (const { page } of pages) await page.waitForSelector('body[data-state="connected"]');
    // Let quotes flow for a while, so that the pages see live updates and not just the retained ones.
    const started = Number(await pages[0]!.page.textContent('#updates'));
    await pages[0]!.page.waitForFunction((from) => Number(document.getElementById('updates')!.textContent) >= from + 20, started);

    await ticker.pause();
    const expected = Object.fromEntries(
      Object.values(ticker.last).map((quote) => [quote.symbol, [quote.price.toFixed(2), String(quote.seq)]]),
    );
    expect(Object.keys(expected).sort()).toEqual(Object.keys(SYMBOLS).sort());

    const late = await openPage(browser, url);
    for (const { page } of [...pages, late]) {
      await page.waitForFunction(
        (want) => {
          const rows = Array.from(document.querySelectorAll<HTMLTableRowElement>('#quotes tbody tr'));
          return rows.length === Object.keys(want).length && rows.every((row) => row.dataset.seq === want[row.dataset.symbol!]![1]);
        },
        expected as Record<string, [string, string]>,
      );
      expect(await shown(page)).toEqual(expected);
    }
    // The late page got nothing but the retained quotes: one per symbol.
    expect(Number(await late.page.textContent('#updates'))).toBe(Object.keys(SYMBOLS).length);
    // The rows are in alphabetical order.
    expect(Object.keys(await shown(pages[0]!.page))).toEqual(Object.keys(SYMBOLS).sort());

    await screenshot(pages[0]!.page, 'ticker');
    expect(pages.flatMap((watched) => watched.problems).concat(late.problems)).toEqual([]);
  });
});
