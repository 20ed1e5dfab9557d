// Google's SDK (@google/genai) in Gemini-API mode against the relay, unmodified: from Node with a relay client
// token as its apiKey, with ephemeral tokens from ai.authTokens.create(), and in Debian's Chromium from the
// browser recipe of examples/browser-sdk (the SDK's own browser build, served from node_modules).
import { GoogleGenAI, Modality, type LiveServerMessage, type Session } from '@google/genai';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExampleServer } from '../../examples/browser-sdk/server.mjs';
import { launchChromium, WAIT_MS } from './helpers/browser.js';
import { freePort, startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
let example: { url: string; close: () => Promise<void> };
let browser: Browser | undefined;

beforeAll(async () => {
  // Any of these would send the SDK to Google instead (Vertex mode, or another key).
  for (const name of [
    'GOOGLE_CLOUD_PROJECT',
    'GOOGLE_CLOUD_LOCATION',
    'GOOGLE_GENAI_USE_VERTEXAI',
    'GOOGLE_API_KEY',
  ])
    delete process.env[name];
  const port = await freePort();
  stack = await startTestStack({ ALLOWED_ORIGINS: `http://127.0.0.1:${port}` });
  example = await startExampleServer({ relayUrl: stack.relayUrl, apiKey: stack.apiKey, port });
});

afterAll(async () => {
  await browser?.close();
  await example?.close();
  await stack?.stop();
});

async function clientToken(): Promise<string> {
  const res = await fetch(`${stack.relayUrl}/v1/tokens`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body: '{}',
  });
  return ((await res.json()) as { token: string }).token;
}

/** A session plus what it received; `closed` settles if the relay closes it (connect() alone would hang). */
async function connect(apiKey: string, config: Record<string, unknown>, apiVersion = 'v1beta') {
  const ai = new GoogleGenAI({ apiKey, httpOptions: { baseUrl: stack.relayUrl, apiVersion } });
  const messages: LiveServerMessage[] = [];
  let onClose: (e: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClose = resolve));
  const session: Session | { code: number; reason: string } = await Promise.race([
    ai.live.connect({
      model: 'gemini-live-2.5-flash',
      config,
      callbacks: {
        onmessage: (m) => void messages.push(m),
        onclose: (e) => onClose({ code: e.code, reason: e.reason }),
      },
    }),
    closed,
  ]);
  const turn = async (from = 0) => {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const end = messages.findIndex((m, i) => i >= from && m.serverContent?.turnComplete);
      if (end >= 0) return messages.slice(from, end + 1);
      if (Date.now() > deadline)
        throw new Error(`no turnComplete; got ${JSON.stringify(messages).slice(0, 400)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { session, messages, closed, turn };
}

const text = (ms: LiveServerMessage[]) =>
  ms
    .flatMap((m) => m.serverContent?.modelTurn?.parts ?? [])
    .map((p) => p.text ?? '')
    .join('');

/** One second of a 440 Hz tone, 16 kHz PCM16LE, base64: the emulator hears it as speech. */
function tone(): string {
  const pcm = Buffer.alloc(32_000);
  for (let i = 0; i < 16_000; i++)
    pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16_000)), 2 * i);
  return pcm.toString('base64');
}

describe('@google/genai in Gemini mode from Node (apiKey = a relay client token)', () => {
  it('holds a text conversation; usage arrives under the Gemini names', async () => {
    const { session, turn } = await connect(await clientToken(), { responseModalities: [Modality.TEXT] });
    if (!('sendClientContent' in session)) throw new Error(`closed ${JSON.stringify(session)}`);
    session.sendClientContent({ turns: 'hello in gemini mode' });
    const messages = await turn();
    expect(text(messages)).toBe('I heard you say "hello in gemini mode".');
    expect(messages.at(-1)!.usageMetadata?.responseTokenCount).toBeGreaterThan(0);
    session.close();
  });

  it('holds an audio conversation: speech in, audio/pcm;rate=24000 and a transcription out', async () => {
    const { session, turn } = await connect(await clientToken(), {
      responseModalities: [Modality.AUDIO],
      outputAudioTranscription: {},
    });
    if (!('sendRealtimeInput' in session)) throw new Error(`closed ${JSON.stringify(session)}`);
    session.sendRealtimeInput({ audio: { data: tone(), mimeType: 'audio/pcm;rate=16000' } });
    session.sendRealtimeInput({ audioStreamEnd: true });
    const messages = await turn();
    const audio = messages
      .flatMap((m) => m.serverContent?.modelTurn?.parts ?? [])
      .filter((p) => p.inlineData);
    expect(audio.length).toBeGreaterThan(0);
    expect(new Set(audio.map((p) => p.inlineData!.mimeType))).toEqual(new Set(['audio/pcm;rate=24000']));
    const bytes = audio.reduce((n, p) => n + Buffer.from(p.inlineData!.data!, 'base64').length, 0);
    expect(bytes).toBe(48_000); // one second echoed at 24 kHz
    expect(messages.map((m) => m.serverContent?.outputTranscription?.text ?? '').join('')).toBe(
      '[echo 1.00 s]',
    );
    session.close();
  });

  it('ai.authTokens.create() against the relay, then live.connect with the token; a second use is refused', async () => {
    const backend = new GoogleGenAI({
      apiKey: stack.apiKey,
      httpOptions: { baseUrl: stack.relayUrl, apiVersion: 'v1alpha' },
    });
    const token = await backend.authTokens.create({
      config: {
        uses: 1,
        liveConnectConstraints: {
          model: 'gemini-live-2.5-flash',
          config: { responseModalities: [Modality.TEXT] },
        },
      },
    });
    expect(token.name).toMatch(/^auth_tokens\//);

    const first = await connect(
      token.name!,
      { responseModalities: [Modality.TEXT], sessionResumption: {} },
      'v1alpha',
    );
    if (!('sendClientContent' in first.session)) throw new Error(`closed ${JSON.stringify(first.session)}`);
    first.session.sendClientContent({ turns: 'remember me' });
    await first.turn();
    const deadline = Date.now() + WAIT_MS;
    let handle: string | undefined;
    while (!handle && Date.now() < deadline) {
      handle = first.messages.findLast((m) => m.sessionResumptionUpdate?.resumable)?.sessionResumptionUpdate
        ?.newHandle;
      await new Promise((r) => setTimeout(r, 50));
    }
    first.session.close();

    // Resuming does not count as a use.
    const resumed = await connect(
      token.name!,
      { responseModalities: [Modality.TEXT], sessionResumption: { handle } },
      'v1alpha',
    );
    if (!('sendClientContent' in resumed.session))
      throw new Error(`closed ${JSON.stringify(resumed.session)}`);
    resumed.session.sendClientContent({ turns: 'what did I say' });
    expect(text(await resumed.turn())).toContain('remember me');
    resumed.session.close();

    // A new session is a second use.
    const second = await connect(token.name!, { responseModalities: [Modality.TEXT] }, 'v1alpha');
    expect(await second.closed).toMatchObject({
      code: 1008,
      reason: expect.stringContaining('no uses left'),
    });
  });
});

describe('@google/genai in Gemini mode in Chromium (examples/browser-sdk)', () => {
  it('the page gets an ephemeral token from its backend and holds text and audio conversations', async () => {
    browser = await launchChromium();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(example.url);
    await page.waitForFunction(
      () => typeof (window as unknown as { converse?: unknown }).converse === 'function',
      null,
      {
        timeout: WAIT_MS,
      },
    );
    const textTurn = await page.evaluate(async () => {
      const converse = (window as unknown as { converse: (o: object) => Promise<LiveServerMessage[]> })
        .converse;
      const messages = await converse({ text: 'hello from chromium' });
      return messages
        .flatMap((m) => m.serverContent?.modelTurn?.parts ?? [])
        .map((p) => p.text ?? '')
        .join('');
    });
    expect(textTurn).toBe('I heard you say "hello from chromium".');

    const audio = await page.evaluate(async (pcm: string) => {
      const converse = (window as unknown as { converse: (o: object) => Promise<LiveServerMessage[]> })
        .converse;
      const messages = await converse({ modality: 'AUDIO', audio: pcm });
      const parts = messages
        .flatMap((m) => m.serverContent?.modelTurn?.parts ?? [])
        .filter((p) => p.inlineData);
      return {
        bytes: parts.reduce((n, p) => n + atob(p.inlineData!.data!).length, 0),
        transcript: messages.map((m) => m.serverContent?.outputTranscription?.text ?? '').join(''),
      };
    }, tone());
    expect(audio).toEqual({ bytes: 48_000, transcript: '[echo 1.00 s]' });
    expect(errors).toEqual([]);
  });
});
