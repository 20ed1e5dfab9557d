// The demo page (public/) in Debian's Chromium against the local stack of `npm start`: the relay and the Live
// API emulator under wrangler dev. The emulator answers text T with `I heard you say "T".` and speaks the same
// reply as 50 ms of 24 kHz PCM16 per character (src/emulator/README.md, "Reply rules").
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  bubbles,
  connect,
  launchChromium,
  openDemo,
  say,
  waitForReplies,
  waitInPage,
} from './helpers/browser.js';
import {
  STACK_START_TIMEOUT_MS,
  conversationStatus,
  createScenario,
  startTestStack,
  type TestStack,
} from './helpers/stack.js';

const heard = (text: string) => `I heard you say "${text}".`;
/** 24 kHz × 2 bytes × 50 ms for each character of the reply. */
const AUDIO_BYTES_PER_CHAR = 2400;

let browser: Browser | undefined;
let stack: TestStack | undefined;

beforeAll(async () => {
  // The browser first: a missing Chromium fails in a second, not after the stack's start-up.
  browser = await launchChromium();
  stack = await startTestStack();
}, STACK_START_TIMEOUT_MS + 30_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
}, 30_000);

function demo() {
  return openDemo(browser!, `${stack!.relayUrl}/`);
}

describe('demo page', () => {
  test('sends typed text and shows the streamed reply', async () => {
    const { page, sockets, errors, close } = await demo();
    try {
      expect(await page.inputValue('#api-key')).toBe('local-dev-key');
      await connect(page, { modality: 'TEXT' });
      await say(page, 'hello from the page test');
      await waitForReplies(page, [heard('hello from the page test')]);
      expect(await bubbles(page, 'user')).toEqual(['hello from the page test']);
      const url = new URL(sockets[0]!);
      expect(url.pathname).toBe('/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent');
      expect(url.searchParams.get('relay_events')).toBe('1');
      expect(url.searchParams.get('conversation')).toBe(
        await page.evaluate(() => window.__relayDebug.conversation),
      );
      expect(url.searchParams.has('last_seq')).toBe(false);
      // The token travels as a subprotocol, never in the URL.
      expect(url.searchParams.has('access_token')).toBe(false);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  test('plays an audio reply and shows its transcription', async () => {
    const { page, errors, close } = await demo();
    try {
      await connect(page, { modality: 'AUDIO' });
      await say(page, 'say it out loud');
      const reply = heard('say it out loud');
      await waitForReplies(page, [reply]);
      const expected = reply.length * AUDIO_BYTES_PER_CHAR;
      await waitInPage(
        page,
        `${expected} bytes of audio`,
        (bytes: number) => document.getElementById('audio')?.dataset.audioBytes === String(bytes),
        expected,
      );
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  test('rides out a dropped socket mid-reply: reconnects with last_seq, renders every piece once', async () => {
    // 150 ms between the reply's messages, so the drop lands mid-reply and the relay keeps what the page misses.
    const marker = await createScenario(stack!.emulatorUrl, { chunkDelayMs: 150 });
    const { page, sockets, errors, close } = await demo();
    try {
      await connect(page, { modality: 'TEXT', system: marker });
      const first = 'tell me a slow story in many small pieces please';
      await say(page, first);
      await waitInPage(page, 'the first piece of the reply', () =>
        Boolean(document.querySelector('#log li.model')?.textContent),
      );
      // The socket is gone for a second while the rest of the reply streams into the relay.
      await page.evaluate(() => window.__relayDebug.dropSocket(1000));
      await waitInPage(page, 'a second ready event', () => window.__relayDebug.readyEvents.length === 2);
      const [ready1, ready2] = await page.evaluate(() => window.__relayDebug.readyEvents);
      const id = await page.evaluate(() => window.__relayDebug.conversation);
      expect(sockets).toHaveLength(2);
      const reconnect = new URL(sockets[1]!);
      expect(reconnect.searchParams.get('conversation')).toBe(id);
      expect(Number(reconnect.searchParams.get('last_seq'))).toBeGreaterThanOrEqual(ready1!.seq + 1);
      expect(ready2).toMatchObject({
        conversation: id,
        seq: Number(reconnect.searchParams.get('last_seq')),
        gap: false,
        rejoined: true,
      });
      expect(ready2!.replayed).toBeGreaterThan(0);
      await waitForReplies(page, [heard(first)]);

      const second = 'and one more';
      await say(page, second);
      await waitForReplies(page, [heard(first), heard(second)]);
      expect(await bubbles(page, 'user')).toEqual([first, second]);
      expect(await bubbles(page, 'system')).toEqual([]);
      // The page processed exactly the messages the relay numbered: none twice, none lost.
      const seq = await page.evaluate(() => window.__relayDebug.seq);
      await expect.poll(async () => (await conversationStatus(stack!, id!)).client.lastSeq).toBe(seq);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  test('a reload continues the same conversation', async () => {
    const { page, sockets, errors, close } = await demo();
    try {
      await connect(page, { modality: 'TEXT' });
      await say(page, 'remember this');
      await waitForReplies(page, [heard('remember this')]);
      const id = await page.evaluate(() => window.__relayDebug.conversation);
      const seq = await page.evaluate(() => window.__relayDebug.seq);

      await page.reload();
      expect(await page.evaluate(() => window.__relayDebug.conversation)).toBe(id);
      expect(await bubbles(page, 'model')).toEqual([]);
      expect(await page.isDisabled('#modality')).toBe(true);
      await connect(page);
      const resumed = new URL(sockets.at(-1)!);
      expect(resumed.searchParams.get('conversation')).toBe(id);
      expect(resumed.searchParams.get('last_seq')).toBe(String(seq));
      // The emulator's history answers for the session: the earlier turn is still in it.
      await say(page, 'what did I say');
      await waitForReplies(page, ['You said: "remember this".']);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
});
