// Debian's Chromium driven by playwright-core (never a downloaded browser; see platform notes).
// The functions passed to page.evaluate/waitForFunction run in the page, hence the DOM types in Node code.
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
/** Every wait in the page tests is bounded by this. */
const WAIT_MS = 15_000;

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the page tests need Debian's Chromium. Install it with \`apt-get install -y chromium\`.`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      // Without these Chromium keeps trying to reach the internet.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** What the demo page exposes as `window.__relayDebug` (public/app.js). */
interface RelayDebug {
  dropSocket(outageMs?: number): void;
  readonly seq: number | null;
  readonly conversation: string | null;
  readyEvents: Array<{
    event: 'ready';
    conversation: string;
    seq: number;
    replayed: number;
    gap: boolean;
    rejoined: boolean;
  }>;
}

declare global {
  interface Window {
    __relayDebug: RelayDebug;
  }
}

/** A fresh page (own sessionStorage) that records its WebSocket URLs and uncaught errors. */
export async function openDemo(browser: Browser, url: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const sockets: string[] = [];
  const errors: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(url);
  return { page, sockets, errors, close: () => context.close() };
}

/** Waits for `predicate` in the page; a timeout names what was awaited and what the page showed. */
export async function waitInPage<A = undefined>(
  page: Page,
  what: string,
  predicate: (arg: A) => unknown,
  arg?: A,
): Promise<void> {
  try {
    // Playwright types the page side's argument as Unboxed<A>, which equals A for the JSON values used here.
    const inPage = predicate as (arg: unknown) => unknown;
    await page.waitForFunction(inPage, arg, { timeout: WAIT_MS });
  } catch (err) {
    const shown = await page
      .evaluate(() => ({
        state: document.body.dataset.state,
        status: document.getElementById('status')?.textContent,
        log: [...document.querySelectorAll('#log li')].map((li) => `${li.className}: ${li.textContent}`),
      }))
      .catch(() => null);
    throw new Error(`timed out waiting for ${what}; page: ${JSON.stringify(shown)}`, { cause: err });
  }
}

/** Connects; `modality` and `system` set up a new conversation (a stored one keeps its own, locked). */
export async function connect(page: Page, options: { modality?: 'TEXT' | 'AUDIO'; system?: string } = {}) {
  if (options.modality) await page.selectOption('#modality', options.modality);
  if (options.system) {
    await page.click('details summary');
    await page.fill('#system', options.system);
  }
  await page.click('#connect');
  await waitInPage(page, 'the page to connect', () => document.body.dataset.state === 'connected');
}

export async function say(page: Page, text: string) {
  await page.fill('#say', text);
  await page.click('#send');
}

export function bubbles(page: Page, kind: 'user' | 'model' | 'system'): Promise<string[]> {
  return page.$$eval(`#log li.${kind}`, (items) => items.map((li) => li.textContent ?? ''));
}

/**
 * Waits until the model bubbles read exactly `expected` and every turn is complete (turnComplete processed),
 * so a duplicated or lost piece never matches.
 */
export async function waitForReplies(page: Page, expected: string[]): Promise<void> {
  await waitInPage(
    page,
    `completed model replies ${JSON.stringify(expected)}`,
    (want: string[]) =>
      !document.querySelector('#log li.streaming') &&
      JSON.stringify([...document.querySelectorAll('#log li.model')].map((li) => li.textContent)) ===
        JSON.stringify(want),
    expected,
  );
}
