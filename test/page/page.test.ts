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
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
});
