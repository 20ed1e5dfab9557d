// The emulator's endpoint, setup handshake, frame format and every close-code rule (protocol reference §0.2,
// §2.1, §4.5).
import { afterEach, describe, expect, it } from 'vitest';
import {
  EmulatorClient,
  LIVE_PATH,
  MODEL,
  NATIVE_AUDIO_MODEL,
  emulatorUrl,
  modelText,
} from './helpers/emulator-client';
import { createScenario, scenarioInstruction } from './helpers/emulator-control';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TEXT = { generationConfig: { responseModalities: ['TEXT'] } };

afterEach(() => EmulatorClient.closeAll());

/** Opens a connection, sends the frames, and returns how the emulator closed it. */
async function closeAfter(...frames: string[]) {
  const client = await EmulatorClient.connect();
  for (const frame of frames) client.ws.send(frame);
  return client.waitForClose();
}

const setupFrame = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ setup: { model: MODEL, ...extra } });
const INVALID = { code: 1007, reason: 'Request contains an invalid argument.' };

describe('endpoint', () => {
  it('answers non-upgrade requests on the live path with 426 and unknown paths with 404 JSON', async () => {
    const live = await fetch(emulatorUrl() + LIVE_PATH);
    expect(live.status).toBe(426);
    const unknown = await fetch(`${emulatorUrl()}/nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
  });

  it('refuses an upgrade without an accepted bearer token with Google-shaped 401 JSON', async () => {
    const refused = await fetch(emulatorUrl() + LIVE_PATH, {
      headers: { Upgrade: 'websocket', Authorization: 'Bearer not-a-token-the-emulator-issued' },
    });
    expect(refused.status).toBe(401);
    const res = await fetch(emulatorUrl() + LIVE_PATH, { headers: { Upgrade: 'websocket' } });
    expect(res.status).toBe(401);
    expect(res.webSocket).toBeNull();
    expect(await res.json()).toEqual({
      error: {
        code: 401,
        message:
          'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        status: 'UNAUTHENTICATED',
      },
    });
  });

  it.each([
    '/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent',
    '/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent',
    '//ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent',
    '//ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent',
  ])('serves %s', async (path) => {
    const client = await EmulatorClient.connect({ path });
    client.ws.send(setupFrame());
    expect((await client.nextMessage()).setupComplete?.sessionId).toMatch(UUID_V4);
  });
});

describe('setup', () => {
  it('answers setup with setupComplete and a new UUID v4 per connection, as a binary pretty-printed frame', async () => {
    const a = await EmulatorClient.open();
    const b = await EmulatorClient.open();
    const first = await a.nextFrame();
    const second = await b.nextFrame();
    expect(first.binary).toBe(true);
    expect(Object.keys(first.json)).toEqual(['setupComplete']);
    expect(first.json.setupComplete?.sessionId).toMatch(UUID_V4);
    expect(first.text).toBe(JSON.stringify(first.json, null, 2) + '\n');
    expect(second.json.setupComplete?.sessionId).toMatch(UUID_V4);
    expect(second.json.setupComplete?.sessionId).not.toBe(first.json.setupComplete?.sessionId);
  });

  it('accepts snake_case field names and answers in camelCase', async () => {
    const client = await EmulatorClient.connect();
    client.send({ setup: { model: MODEL, generation_config: { response_modalities: ['TEXT'] } } });
    await client.nextMessage();
    client.send({
      client_content: { turns: [{ role: 'user', parts: [{ text: 'snake' }] }], turn_complete: true },
    });
    const frames = await client.turn();
    expect(modelText(frames)).toBe('I heard you say "snake".');
    expect(frames.every((f) => !f.text.includes('_'))).toBe(true);
  });

  it('processes messages sent between setup and setupComplete, in order', async () => {
    const id = await createScenario({ default: { setupCompleteDelayMs: 200 } });
    const client = await EmulatorClient.connect();
    client.send({ setup: { model: MODEL, ...TEXT, systemInstruction: scenarioInstruction(id) } });
    client.send({
      clientContent: { turns: [{ role: 'user', parts: [{ text: 'first' }] }], turnComplete: false },
    });
    client.sendText('second');
    expect((await client.nextMessage()).setupComplete).toBeDefined();
    expect(modelText(await client.turn())).toBe('I heard you say "first second".');
  });
});

describe('close codes', () => {
  it('closes 1007 when the first message is not setup', async () => {
    expect(await closeAfter(JSON.stringify({ realtimeInput: { text: 'hi' } }))).toEqual(INVALID);
  });

  it('closes 1007 on a second setup', async () => {
    expect(await closeAfter(setupFrame(), setupFrame())).toEqual(INVALID);
  });

  it('closes 1007 on a frame that is not JSON', async () => {
    expect(await closeAfter(setupFrame(), 'not json')).toEqual(INVALID);
  });

  it('closes 1007 on a frame with two top-level keys', async () => {
    const frame = JSON.stringify({ realtimeInput: { text: 'a' }, clientContent: { turns: [] } });
    expect(await closeAfter(setupFrame(), frame)).toEqual(INVALID);
  });

  it('closes 1007 on an unknown top-level key', async () => {
    expect(await closeAfter(setupFrame(), JSON.stringify({ bogus: {} }))).toEqual(INVALID);
  });

  it('closes 1007 on a setup that is not even an object', async () => {
    expect(await closeAfter(JSON.stringify({ setup: 'x' }))).toEqual(INVALID);
  });

  it('closes 1008 for a short model name, naming the path version', async () => {
    expect(await closeAfter(JSON.stringify({ setup: { model: 'models/gemini-live-2.5-flash' } }))).toEqual({
      code: 1008,
      reason:
        'models/gemini-live-2.5-flash is not found for API version v1beta1, or is not supported for bidiGenerateContent',
    });
    const v1 = await EmulatorClient.connect({
      path: '/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent',
    });
    v1.send({ setup: { model: 'publishers/google/models/gemini-live-2.5-flash' } });
    expect(await v1.waitForClose()).toEqual({
      code: 1008,
      reason:
        'models/gemini-live-2.5-flash is not found for API version v1, or is not supported for bidiGenerateContent',
    });
  });

  it('closes 1008 for an unknown model id', async () => {
    const model = 'projects/p/locations/us-central1/publishers/google/models/gemini-9-ultra';
    expect(await closeAfter(JSON.stringify({ setup: { model } }))).toEqual({
      code: 1008,
      reason:
        'models/gemini-9-ultra is not found for API version v1beta1, or is not supported for bidiGenerateContent',
    });
  });

  it('closes 1007 "Precondition check failed." for TEXT on a native-audio model', async () => {
    expect(await closeAfter(JSON.stringify({ setup: { model: NATIVE_AUDIO_MODEL, ...TEXT } }))).toEqual({
      code: 1007,
      reason: 'Precondition check failed.',
    });
  });

  it('accepts AUDIO on a native-audio model', async () => {
    const client = await EmulatorClient.connect();
    client.send({
      setup: { model: NATIVE_AUDIO_MODEL, generationConfig: { responseModalities: ['AUDIO'] } },
    });
    expect((await client.nextMessage()).setupComplete).toBeDefined();
  });

  it('closes 1007 on realtimeInput.mediaChunks', async () => {
    const frame = JSON.stringify({
      realtimeInput: { mediaChunks: [{ mimeType: 'audio/pcm;rate=16000', data: 'AAAA' }] },
    });
    expect(await closeAfter(setupFrame(), frame)).toEqual({
      code: 1007,
      reason: 'realtime_input.media_chunks is deprecated. Use audio, video, or text instead.',
    });
  });

  it('closes 1007 on audio data that is not base64', async () => {
    const frame = JSON.stringify({
      realtimeInput: { audio: { mimeType: 'audio/pcm;rate=16000', data: '@@@' } },
    });
    expect(await closeAfter(setupFrame(), frame)).toEqual(INVALID);
  });
});

describe('frame type', () => {
  it('sends text frames when the scenario asks for them', async () => {
    const id = await createScenario({ textFrames: true });
    const client = await EmulatorClient.open({ ...TEXT, systemInstruction: scenarioInstruction(id) });
    const frame = await client.nextFrame();
    expect(frame.binary).toBe(false);
    expect(frame.text).toBe(JSON.stringify(frame.json, null, 2) + '\n');
  });

  it('accepts binary client frames of UTF-8 JSON', async () => {
    const client = await EmulatorClient.connect();
    client.ws.send(new TextEncoder().encode(setupFrame(TEXT)));
    expect((await client.nextMessage()).setupComplete).toBeDefined();
    client.ws.send(new TextEncoder().encode(JSON.stringify({ realtimeInput: { text: 'héllo' } })));
    expect(modelText(await client.turn())).toBe('I heard you say "héllo".');
  });
});
