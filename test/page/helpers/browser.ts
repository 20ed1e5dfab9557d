// Debian's Chromium driven by playwright-core (never a downloaded browser; see platform notes).
// The functions passed to page.evaluate/waitForFunction run in the page, hence the DOM types in Node code.
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
/** Every wait in the page tests is bounded by this. */
export const WAIT_MS = 15_000;

/** `microphone`: a WAV file the fake capture device plays (looped) as the microphone. */
export async function launchChromium(options: { microphone?: string } = {}): Promise<Browser> {
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
      // A fake camera and microphone, granted without a prompt.
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      ...(options.microphone ? [`--use-file-for-fake-audio-capture=${options.microphone}`] : []),
    ],
  });
}

/** The playback worklet's counters, in 24 kHz samples (public/worklets/playback.js). */
export interface PlaybackStats {
  event: string;
  played: number;
  flushed: number;
  overflowed: number;
  underruns: number;
  starts: number;
  buffered: number;
}

interface ReadyEvent {
  event: 'ready';
  conversation: string;
  seq: number;
  replayed: number;
  gap: boolean;
  rejoined: boolean;
}

/** What the demo page exposes as `window.__relayDebug` (public/app.js). */
interface RelayDebug {
  dropSocket(outageMs?: number): void;
  readonly seq: number | null;
  readonly conversation: string | null;
  readonly readyEvents: ReadyEvent[];
  readonly relayEvents: Array<{ event: string; reason?: string }>;
  readonly playback: PlaybackStats | null;
  readonly sampleRate: number | null;
  readonly sentAudioBytes: number;
  latencies: number[];
}

declare global {
  interface Window {
    __relayDebug: RelayDebug;
  }
}

export interface RequestRecord {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
}

/**
 * A fresh page (own storage) that records its WebSocket URLs, the binary frames it sends, every HTTP request
 * and uncaught errors.
 */
export async function openDemo(browser: Browser, url: string, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const sockets: string[] = [];
  const sent = { binaryFrames: 0, binaryBytes: 0, texts: [] as string[] };
  const requests: RequestRecord[] = [];
  const errors: string[] = [];
  page.on('websocket', (ws) => {
    sockets.push(ws.url());
    ws.on('framesent', ({ payload }) => {
      if (typeof payload === 'string') sent.texts.push(payload);
      else {
        sent.binaryFrames++;
        sent.binaryBytes += payload.byteLength;
      }
    });
  });
  page.on('request', (request) =>
    requests.push({
      method: request.method(),
      url: request.url(),
      headers: request.headers(),
      body: request.postData(),
    }),
  );
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(url);
  return { page, sockets, sent, requests, errors, close: () => context.close() };
}

/** Waits for `predicate` in the page; a timeout names what was awaited and what the page showed. */
export async function waitInPage<A = undefined>(
  page: Page,
  what: string,
  predicate: (arg: A) => unknown,
  arg?: A,
  timeout = WAIT_MS,
): Promise<void> {
  try {
    // Playwright types the page side's argument as Unboxed<A>, which equals A for the JSON values used here.
    const inPage = predicate as (arg: unknown) => unknown;
    await page.waitForFunction(inPage, arg, { timeout });
  } catch (err) {
    const shown = await page
      .evaluate(() => ({
        state: document.body.dataset.state,
        status: document.getElementById('status')?.textContent,
        log: [...document.querySelectorAll('#log li')].map((li) => `${li.className}: ${li.textContent}`),
        playback: window.__relayDebug?.playback,
        relayEvents: window.__relayDebug?.relayEvents,
      }))
      .catch(() => null);
    throw new Error(`timed out waiting for ${what}; page: ${JSON.stringify(shown)}`, { cause: err });
  }
}

/** Starts a conversation; `modality` and `system` set up a new one first. */
export async function start(page: Page, options: { modality?: 'TEXT' | 'AUDIO'; system?: string } = {}) {
  if (options.modality) await page.selectOption('#modality', options.modality);
  if (options.system) await page.fill('#system', options.system);
  await page.click('#start');
  await waitInPage(page, 'the conversation to go live', () => document.body.dataset.state === 'live');
}

export async function say(page: Page, text: string) {
  await page.fill('#say', text);
  await page.click('#send');
}

/** Bubble texts of one kind: `user`, `user.voice`, `user.typed`, `model`, `system`. */
export function bubbles(page: Page, kind: string): Promise<string[]> {
  return page.$$eval(`#log li.${kind} p`, (items) => items.map((p) => p.textContent ?? ''));
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
      !document.querySelector('#log li.model.streaming') &&
      JSON.stringify([...document.querySelectorAll('#log li.model p')].map((p) => p.textContent)) ===
        JSON.stringify(want),
    expected,
  );
}

export function playback(page: Page): Promise<PlaybackStats | null> {
  return page.evaluate(() => window.__relayDebug.playback);
}
