// The demo page (public/) in Debian's Chromium against the local stack of `npm start` (relay with PUBLIC_DEMO=on,
// Live API emulator), with a fake microphone playing a WAV file this test writes. The emulator answers an
// utterance of d seconds with the utterance itself resampled to 24 kHz, transcribed as `[speech d s]` (input)
// and `[echo d s]` (output); text T with `I heard you say "T".`, spoken as 50 ms of tones per character
// (src/emulator/README.md, "Reply rules").
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  bubbles,
  launchChromium,
  openDemo,
  playback,
  say,
  start,
  waitForReplies,
  waitInPage,
  WAIT_MS,
  type RequestRecord,
} from './helpers/browser.js';
import {
  STACK_START_TIMEOUT_MS,
  createScenario,
  scenarioReport,
  startTestStack,
  type TestStack,
} from './helpers/stack.js';
import { writeSilentWav, writeSpeechWav } from './helpers/wav.js';

const heard = (text: string) => `I heard you say "${text}".`;
/** 24 kHz × 50 ms of reply audio for each character of a text reply. */
const SAMPLES_PER_CHAR = 1200;
const SCREENSHOTS = join(import.meta.dirname, 'screenshots');

let talking: Browser | undefined; // its microphone speaks: 1.2 s bursts, 0.9 s apart
let quiet: Browser | undefined; // its microphone hears silence, for typed conversations
let stack: TestStack | undefined;
let dir: string | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'relay-page-audio-'));
  const speech = join(dir, 'speech.wav');
  const silence = join(dir, 'silence.wav');
  writeSpeechWav(speech, { leadMs: 300, burstMs: 1200, gapMs: 900, bursts: 4 });
  writeSilentWav(silence);
  // The browsers first: a missing Chromium fails in a second, not after the stack's start-up.
  talking = await launchChromium({ microphone: speech });
  quiet = await launchChromium({ microphone: silence });
  stack = await startTestStack();
  mkdirSync(SCREENSHOTS, { recursive: true });
}, STACK_START_TIMEOUT_MS + 30_000);

afterAll(async () => {
  await talking?.close();
  await quiet?.close();
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

function demo(browser: Browser | undefined, url = `${stack!.relayUrl}/`) {
  return openDemo(browser!, url);
}

/** Nothing the page stored or sent carries the relay's API key or an Authorization header. */
async function expectNoApiKey(page: Page, requests: RequestRecord[]) {
  const storage = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }]));
  expect(storage).not.toContain(stack!.apiKey);
  expect(storage).not.toMatch(/token/i);
  expect(requests.length).toBeGreaterThan(0);
  for (const request of requests) {
    expect(JSON.stringify(request)).not.toContain(stack!.apiKey);
    expect(Object.keys(request.headers).map((h) => h.toLowerCase())).not.toContain('authorization');
  }
}

describe('voice', () => {
  test('speech goes up as binary PCM, the echo plays, both transcripts appear; no API key anywhere', async () => {
    const marker = await createScenario(stack!.emulatorUrl, {});
    const { page, sockets, sent, requests, errors, close } = await demo(talking);
    try {
      await start(page, { system: marker });
      await waitInPage(page, 'a transcript of the user’s speech and of the echo', () => {
        const user = document.querySelector('#log li.user.voice:not(.streaming) p')?.textContent ?? '';
        const model = document.querySelector('#log li.model:not(.streaming) p')?.textContent ?? '';
        return /^\[speech \d+\.\d\d s\]$/.test(user) && /^\[echo \d+\.\d\d s\]$/.test(model);
      });
      // The worklet played (on the audio clock) at least a second of the echoed 24 kHz audio.
      await waitInPage(
        page,
        'a second of echo played',
        () => (window.__relayDebug.playback?.played ?? 0) >= 24_000,
      );

      const report = await scenarioReport(stack!.emulatorUrl, marker);
      expect(report.messagesByType['realtimeInput.audio']).toBeGreaterThan(0);
      expect(report.audioMs).toBeGreaterThan(1000);
      expect(report.history.some((h) => h.role === 'user' && /^\[speech /.test(h.text))).toBe(true);
      // Binary frames only: no JSON audio left the page, and 20 ms frames of 16 kHz PCM16 are 640 bytes.
      expect(sent.binaryFrames).toBeGreaterThan(50);
      expect(sent.binaryBytes).toBe(sent.binaryFrames * 640);
      expect(sent.texts.some((t) => t.includes('realtimeInput') && t.includes('audio'))).toBe(false);
      const setup = JSON.parse(sent.texts[0]!).setup;
      expect(setup).toMatchObject({ inputAudioTranscription: {}, outputAudioTranscription: {} });
      // The capture ran at the device's rate and resampled, rather than asking for a 16 kHz context.
      expect(await page.evaluate(() => window.__relayDebug.sampleRate)).not.toBe(16_000);

      const url = new URL(sockets[0]!);
      expect(url.searchParams.get('binary_out')).toBe('1');
      expect(url.searchParams.get('relay_events')).toBe('1');
      expect(url.searchParams.has('access_token')).toBe(false);
      expect(requests.some((r) => r.method === 'POST' && r.url.endsWith('/v1/demo-token'))).toBe(true);
      await expectNoApiKey(page, requests);

      const latency = await page.evaluate(() => window.__relayDebug.latencies);
      expect(latency.length).toBeGreaterThan(0);
      console.log(
        `speech end → first audio played: ${latency.map((ms) => `${Math.round(ms)} ms`).join(', ')}`,
      );
      await page.screenshot({ path: join(SCREENSHOTS, 'desktop-voice.png') });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: join(SCREENSHOTS, 'phone-voice.png') });
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
});

describe('conversation', () => {
  test('typed text, a tool call answered by the page, camera frames; screenshots at desktop and phone size', async () => {
    const marker = await createScenario(stack!.emulatorUrl, {});
    const { page, sent, errors, close } = await demo(quiet);
    try {
      await start(page, { system: marker });
      await say(page, 'hello from the page test');
      await waitForReplies(page, [heard('hello from the page test')]);
      expect(await bubbles(page, 'user.typed')).toEqual(['hello from the page test']);

      await say(page, 'call roll_dice {"sides": 20, "count": 2}');
      await waitInPage(page, 'an answered tool call', () =>
        Boolean(document.querySelector('#tool-log li.tool-call.answered')),
      );
      const toolResponse = JSON.parse(sent.texts.find((t) => t.includes('toolResponse'))!).toolResponse;
      const [response] = toolResponse.functionResponses;
      expect(response).toMatchObject({ name: 'roll_dice', response: { sides: 20 } });
      expect(response.response.rolls).toHaveLength(2);
      await waitForReplies(page, [
        heard('hello from the page test'),
        `roll_dice returned ${JSON.stringify(response.response)}.`,
      ]);
      expect(await page.textContent('#tool-log .tool-name')).toBe('roll_dice({"sides":20,"count":2})');

      await page.click('#camera');
      // One frame a second: the first comes a second after the camera starts.
      const videoFrames = async () =>
        (await scenarioReport(stack!.emulatorUrl, marker)).messagesByType['realtimeInput.video'];
      await expect.poll(videoFrames, { timeout: WAIT_MS }).toBeGreaterThan(0);
      const frame = JSON.parse(sent.texts.find((t) => t.includes('"video"'))!).realtimeInput.video;
      expect(frame.mimeType).toBe('image/jpeg');
      const jpeg = Buffer.from(frame.data, 'base64');
      expect(jpeg.subarray(0, 2).toString('hex')).toBe('ffd8');
      // JPEG SOF0 carries the height and width; the long side is at most 768 px.
      const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
      expect(Math.max(jpeg.readUInt16BE(sof + 5), jpeg.readUInt16BE(sof + 7))).toBeLessThanOrEqual(768);

      await page.screenshot({ path: join(SCREENSHOTS, 'desktop.png') });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: join(SCREENSHOTS, 'phone.png') });
      await page.click('#settings-toggle');
      await page.screenshot({ path: join(SCREENSHOTS, 'phone-settings.png') });
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  test('the welcome screen at desktop and phone size', async () => {
    const { page, errors, close } = await openDemo(quiet!, `${stack!.relayUrl}/`, {
      width: 390,
      height: 844,
    });
    try {
      await page.screenshot({ path: join(SCREENSHOTS, 'phone-welcome.png') });
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.screenshot({ path: join(SCREENSHOTS, 'desktop-welcome.png') });
      // Keyboard only: Tab reaches Start, and Enter starts the conversation.
      await page.focus('#start');
      await page.keyboard.press('Enter');
      await waitInPage(page, 'the conversation to go live', () => document.body.dataset.state === 'live');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
});

describe('interruptions and recovery', () => {
  test('barge-in: speaking over the reply flushes what playback had queued', async () => {
    // 150 ms between the echo's chunks (200–240 ms of audio each): the reply is still coming when the next burst
    // of speech starts, so the emulator interrupts it.
    const marker = await createScenario(stack!.emulatorUrl, { chunkDelayMs: 150 });
    const { page, errors, close } = await demo(talking);
    try {
      await start(page, { system: marker });
      await waitInPage(page, 'an interrupted reply', () =>
        Boolean(document.querySelector('#log li.model.interrupted')),
      );
      await waitInPage(
        page,
        'the playback worklet to flush',
        () => (window.__relayDebug.playback?.flushed ?? 0) > 0,
      );
      const stats = (await playback(page))!;
      expect(stats.played).toBeGreaterThan(0);
      const report = await scenarioReport(stack!.emulatorUrl, marker);
      expect(report.serverMessagesByType['serverContent.interrupted']).toBeGreaterThan(0);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  test('an upstream goAway is ridden out by the relay: the page stays on its socket and the conversation goes on', async () => {
    const marker = await createScenario(stack!.emulatorUrl, {
      connections: [{ goAwayAfterMs: 1500, goAwayTimeLeftMs: 1000 }],
    });
    const { page, sockets, errors, close } = await demo(quiet);
    try {
      await start(page, { system: marker });
      await say(page, 'before the handover');
      await waitForReplies(page, [heard('before the handover')]);
      await waitInPage(page, 'the relay to resume Gemini’s side', () =>
        window.__relayDebug.relayEvents.some((e) => e.event === 'resumed'),
      );
      expect(await page.evaluate(() => window.__relayDebug.relayEvents.map((e) => e.event))).toContain(
        'reconnecting',
      );
      await say(page, 'after the handover');
      await waitForReplies(page, [heard('before the handover'), heard('after the handover')]);
      const report = await scenarioReport(stack!.emulatorUrl, marker);
      expect(report.connections.length).toBeGreaterThanOrEqual(2);
      expect(report.connections[1]!.resumedWithHandle).toBe(true);
      expect(sockets).toHaveLength(1);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  test('a network drop mid-reply: reconnects with last_seq, plays every sample exactly once, no reload', async () => {
    // 150 ms between the reply's messages, so the drop lands mid-reply and the relay keeps what the page misses.
    const marker = await createScenario(stack!.emulatorUrl, { chunkDelayMs: 150 });
    const { page, sockets, errors, close } = await demo(quiet);
    try {
      await start(page, { system: marker });
      await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
      const first = 'tell me a slow story in many small pieces please';
      await say(page, first);
      await waitInPage(page, 'the first piece of the reply', () =>
        Boolean(document.querySelector('#log li.model p')?.textContent),
      );
      await page.evaluate(() => window.__relayDebug.dropSocket(1000));
      await waitInPage(page, 'the reconnecting state', () => document.body.dataset.state === 'reconnecting');
      await waitInPage(page, 'a second ready event', () => window.__relayDebug.readyEvents.length === 2);
      expect(await page.textContent('#status')).toMatch(/Resumed/);
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
      // Every sample of the reply played once: none lost in the drop, none replayed twice.
      const expected = heard(first).length * SAMPLES_PER_CHAR;
      await waitInPage(
        page,
        `${expected} samples played`,
        (n: number) =>
          window.__relayDebug.playback?.played === n && window.__relayDebug.playback.buffered === 0,
        expected,
      );
      expect((await playback(page))!.flushed).toBe(0);

      const second = 'and one more';
      await say(page, second);
      await waitForReplies(page, [heard(first), heard(second)]);
      expect(await bubbles(page, 'user.typed')).toEqual([first, second]);
      expect(await bubbles(page, 'system')).toEqual([]);
      // Same document throughout: a reload would have lost the marker.
      expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
});

describe('access', () => {
  test('a one-time link: the token leaves the address bar, stays in memory, and opens its conversation', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['scripts/mint-link.mjs'], {
      env: { ...process.env, RELAY_URL: stack!.relayUrl, RELAY_API_KEY: stack!.apiKey },
    });
    const link = stdout.trim();
    expect(link).toMatch(new RegExp(`^${stack!.relayUrl}/#token=[\\w-]+\\.[\\w-]+\\.[\\w-]+$`));
    const token = link.split('#token=')[1]!;
    const conversation = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).conv;
    const { page, sockets, requests, errors, close } = await demo(quiet, link);
    try {
      expect(await page.evaluate(() => location.href)).toBe(`${stack!.relayUrl}/`);
      await start(page);
      expect(await page.evaluate(() => window.__relayDebug.conversation)).toBe(conversation);
      expect(new URL(sockets[0]!).searchParams.get('conversation')).toBe(conversation);
      expect(requests.some((r) => r.url.includes('/v1/demo-token'))).toBe(false);
      // The link's one conversation: no "new conversation" to start.
      expect(await page.isHidden('#new-conversation')).toBe(true);
      await say(page, 'via a link');
      await waitForReplies(page, [heard('via a link')]);
      await expectNoApiKey(page, requests);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
});
