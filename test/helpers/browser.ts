/**
 * A real headless Chromium (Debian's `chromium`, driven by playwright-core) for the browser examples' tests.
 *
 * When the binary is missing the tests skip locally, with a line saying why, but fail when `CI` is set: CI
 * installs Chromium, so a missing one there is a broken environment, not a reason to pass quietly.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { describe, it } from 'vitest';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = join(REPO, 'test-artifacts');

/** Flags for a quiet, self-contained headless run in a container (no sandbox: it runs as root there). */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why Chromium cannot run here, or undefined when it can. */
export function chromiumProblem(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} not found (install the Debian package chromium, or set CHROMIUM_PATH)`;
  const probe = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.error !== undefined || probe.status !== 0) return `${CHROMIUM} --version failed: ${probe.error?.message ?? probe.stderr}`;
  return undefined;
}

/** `describe`, unless Chromium is missing: then skipped locally, and one failing test under CI. */
export function describeWithChromium(name: string, body: () => void): void {
  const problem = chromiumProblem();
  if (problem === undefined) {
    describe(name, body);
  } else if (process.env.CI) {
    describe(name, () => {
      it('needs Chromium', () => {
        throw new Error(`Chromium is required under CI: ${problem}`);
      });
    });
  } else {
    process.stderr.write(`skipping "${name}": ${problem}\n`);
    describe.skip(name, body);
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 15_000 });
}

export interface WatchedPage {
  page: Page;
  /** Uncaught exceptions and console errors, for the assertion messages of a failing test. */
  problems: string[];
}

/** A fresh page in its own context (no shared storage), with short timeouts so that a missing element fails fast. */
export async function openPage(browser: Browser, url: string): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(8_000);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  await page.goto(url);
  return { page, problems };
}

/** Saves a full-page screenshot as test-artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
