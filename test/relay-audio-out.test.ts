// End to end through real sockets: binary audio out (?binary_out=1) and the relay's overload closes for audio input
// (upstream backpressure, client flood).
import { describe, expect, it } from 'vitest';
import { concat, firstDifference, modelAudio, silence } from './helpers/audio';
import {
  API_KEY,
  bearer,
  connectRelay,
  createScenario,
  eventually,
  relayFetch,
  scenarioReport,
  setupMessage,
  uniqueConversationId,
} from './helpers/relay';
import type { Frame, JsonMessage, TestSocket } from './helpers/ws';

const decoder = new TextDecoder();

/** The frame as a JSON message, or null when it is not JSON (raw PCM). */
function asJson(frame: Frame): JsonMessage | null {
  if (frame.type === 'text') return JSON.parse(frame.data) as JsonMessage;
  const bytes = new Uint8Array(frame.data);
  if (bytes[0] !== 0x7b /* { */) return null;
  try {
    return JSON.parse(decoder.decode(bytes)) as JsonMessage;
  } catch {
    return null;
  }
}

/** What a client sees, in order: audio (by bytes), other parts, transcript pieces and turn markers. */
function events(message: JsonMessage): string[] {
  const out: string[] = [];
  const content = message.serverContent ?? {};
  for (const part of content.modelTurn?.parts ?? []) {
    if (part.inlineData)
      out.push(`audio:${Uint8Array.fromBase64(part.inlineData.data as string).byteLength}`);
    else out.push(`part:${JSON.stringify(part)}`);
  }
  if (content.outputTranscription) out.push(`transcript:${content.outputTranscription.text ?? ''}`);
  if (content.generationComplete) out.push('generationComplete');
  if (content.interrupted) out.push('interrupted');
  if (content.turnComplete) out.push('turnComplete');
  return out;
}

async function status(conversation: string): Promise<JsonMessage> {
  const response = await relayFetch(`/v1/conversations/${conversation}`, { headers: bearer(API_KEY) });
  expect(response.status).toBe(200);
  return await response.json<JsonMessage>();
}

/** The status once the relay has stopped taking frames (frames in flight when it closed the client included). */
async function settledStatus(conversation: string): Promise<JsonMessage> {
  let last = -1;
  let stable = 0;
  for (;;) {
    const s = await status(conversation);
    const seen = s.counters.clientIn.messages as number;
    stable = seen === last ? stable + 1 : 0;
    if (stable === 3) return s;
    last = seen;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const audioSetup = (scenario: string) =>
  setupMessage({ modality: 'AUDIO', scenario, extra: { outputAudioTranscription: {} } });

/** Frames after setupComplete up to and including the one that completes the turn. */
async function framesOfTurn(ws: TestSocket): Promise<Frame[]> {
  const first = await ws.nextFrame();
  expect(asJson(first)?.setupComplete).toBeDefined();
  ws.send({ realtimeInput: { text: 'hello there' } });
  const frames: Frame[] = [];
  for (;;) {
    const frame = await ws.nextFrame(10_000);
    frames.push(frame);
    if (asJson(frame)?.serverContent?.turnComplete === true) return frames;
  }
}

/** The same AUDIO reply as a JSON-mode client gets it (the emulator is deterministic). */
async function jsonModeTurn(): Promise<JsonMessage[]> {
  const ws = await connectRelay(`/v1/conversations/${uniqueConversationId()}/live`);
  ws.send(audioSetup(await createScenario()));
  const frames = await framesOfTurn(ws);
  ws.close();
  return frames.map((frame) => {
    const message = asJson(frame);
    expect(message, 'a JSON-mode frame that is not JSON').not.toBeNull();
    return message!;
  });
}

describe('binary audio out (?binary_out=1)', () => {
  it('PCM frames equal the JSON-mode audio exactly, in the same order relative to transcripts; bytes are saved', async () => {
    const jsonTurn = await jsonModeTurn();
    const expectedAudio = modelAudio(jsonTurn);
    expect(expectedAudio.byteLength).toBeGreaterThan(9600);
    const expectedEvents = jsonTurn.flatMap(events);
    expect(expectedEvents.some((e) => e.startsWith('transcript:'))).toBe(true);

    const conversation = uniqueConversationId();
    const ws = await connectRelay(`/v1/conversations/${conversation}/live?binary_out=1`);
    ws.send(audioSetup(await createScenario()));
    const frames = await framesOfTurn(ws);
    const pcm: Uint8Array[] = [];
    const seen: string[] = [];
    for (const frame of frames) {
      const message = asJson(frame);
      if (message === null) {
        expect(frame.type).toBe('binary');
        const bytes = new Uint8Array((frame as { data: ArrayBuffer }).data);
        pcm.push(bytes);
        seen.push(`audio:${bytes.byteLength}`);
      } else {
        // No audio left inside JSON: every inlineData went out as its own binary frame.
        expect(JSON.stringify(message)).not.toContain('inlineData');
        seen.push(...events(message));
      }
    }
    expect(firstDifference(concat(...pcm), expectedAudio)).toBe(-1);
    expect(seen).toEqual(expectedEvents);
    const s = await status(conversation);
    expect(s.counters.binaryBytesSaved).toBeGreaterThan(0);
    ws.close();
  });

  it('binary frames carry only PCM: the concatenated binary frames are exactly the reply audio, JSON is text', async () => {
    const expectedAudio = modelAudio(await jsonModeTurn());
    const ws = await connectRelay(`/v1/conversations/${uniqueConversationId()}/live?binary_out=1`);
    ws.send(audioSetup(await createScenario()));
    const frames = await framesOfTurn(ws);
    const all = [ws.frames[0]!, ...frames];
    const binary = all.filter((f): f is Extract<Frame, { type: 'binary' }> => f.type === 'binary');
    const jsonInBinary = binary
      .filter((f) => asJson(f) !== null)
      .map((f) => decoder.decode(f.data).slice(0, 60));
    expect(jsonInBinary, 'JSON messages sent as binary frames, indistinguishable from PCM').toEqual([]);
    expect(firstDifference(concat(...binary.map((f) => new Uint8Array(f.data))), expectedAudio)).toBe(-1);
    ws.close();
  });

  it('every message is its binary audio frames then exactly one text frame; seq counts text frames; last_seq resumes', async () => {
    const jsonTurn = await jsonModeTurn();
    const conversation = uniqueConversationId();
    const path = `/v1/conversations/${conversation}/live?binary_out=1&relay_events=1`;
    const scenario = await createScenario();
    const first = await connectRelay(path);
    first.send(audioSetup(scenario));
    expect(asJson(await first.nextFrame())?.setupComplete).toBeDefined();
    const ready = asJson(await first.nextFrame())?.relay;
    expect(ready).toMatchObject({ event: 'ready', seq: 0 });
    first.send({ realtimeInput: { text: 'hello there' } });
    // Message i (1-based, its seq) = the PCM frames before its text frame.
    const messages: Array<{ pcm: Uint8Array[]; text: JsonMessage }> = [];
    let pcm: Uint8Array[] = [];
    for (;;) {
      const frame = await first.nextFrame(10_000);
      if (frame.type === 'binary') {
        pcm.push(new Uint8Array(frame.data));
        continue;
      }
      const text = JSON.parse(frame.data) as JsonMessage;
      expect(text.relay, 'no relay event during the turn').toBeUndefined();
      messages.push({ pcm, text });
      pcm = [];
      if (text.serverContent?.turnComplete === true) break;
    }
    // One text frame per Live API message, including those that carried nothing but audio.
    expect(messages).toHaveLength(jsonTurn.length);
    const audioOnly = messages.filter((m) => m.pcm.length > 0 && !m.text.serverContent.outputTranscription);
    expect(audioOnly.length).toBeGreaterThan(0);
    for (const m of audioOnly) expect(m.text.serverContent.modelTurn.parts).toEqual([]);
    expect((await status(conversation)).client.lastSeq).toBe(messages.length);

    // A client that processed the first k messages resumes with last_seq=k and gets exactly the rest.
    const k = Math.floor(messages.length / 2);
    first.close(4000, 'simulated drop');
    const second = await connectRelay(`${path}&last_seq=${k}`);
    second.send(audioSetup(scenario));
    expect(asJson(await second.nextFrame())?.setupComplete).toBeDefined();
    expect(asJson(await second.nextFrame())?.relay).toMatchObject({
      event: 'ready',
      seq: k,
      replayed: messages.length - k,
      gap: false,
    });
    const replayed: Frame[] = [];
    while (replayed.filter((f) => f.type === 'text').length < messages.length - k) {
      replayed.push(await second.nextFrame());
    }
    const rest = messages.slice(k);
    expect(replayed.filter((f) => f.type === 'text').map((f) => JSON.parse(f.data))).toEqual(
      rest.map((m) => m.text),
    );
    const replayedPcm = replayed.filter((f) => f.type === 'binary').map((f) => new Uint8Array(f.data));
    expect(firstDifference(concat(...replayedPcm), concat(...rest.flatMap((m) => m.pcm)))).toBe(-1);
    second.close();
  });

  it('without binary_out, audio arrives inside JSON messages only', async () => {
    const turn = await jsonModeTurn();
    expect(modelAudio(turn).byteLength).toBeGreaterThan(0);
    expect(turn.some((m) => m.serverContent?.modelTurn?.parts?.some((p: JsonMessage) => p.inlineData))).toBe(
      true,
    );
  });
});

describe('overload closes for audio input', () => {
  it('upstream backpressure: unacknowledged input over 16 MiB closes the client with 1013', async () => {
    // No resumption updates after the first one: nothing the relay sends is ever acknowledged.
    const scenario = await createScenario({
      resumptionUpdateEveryMessages: 1_000_000,
      resumptionUpdateEveryMs: 3_600_000,
    });
    const conversation = uniqueConversationId();
    const ws = await connectRelay(`/v1/conversations/${conversation}/live?batch_ms=200`);
    ws.send(setupMessage({ modality: 'TEXT', scenario }));
    expect((await ws.next()).setupComplete).toBeDefined();
    const frame = silence(131_070); // 4 MiB − 64 B, under the 4 MiB frame limit
    expect(frame.byteLength).toBe(4 * 1024 * 1024 - 64);
    for (let i = 0; i < 5; i++) ws.send(frame);
    const close = await ws.closed(20_000);
    expect(close.code).toBe(1013);
    expect(close.reason).toMatch(/upstream.*not keeping up/i);
    // It stopped before all of it went upstream (5 frames are ~28 MiB of base64 JSON).
    expect((await scenarioReport(scenario)).audioBytes).toBeLessThan(5 * frame.byteLength);
    const s = await status(conversation);
    expect(s.counters.overloadCloses).toBe(1);
  });

  it('flood: far more than the 2000-frame burst back to back closes the client with 1013, counted once', async () => {
    const scenario = await createScenario();
    const conversation = uniqueConversationId();
    const ws = await connectRelay(`/v1/conversations/${conversation}/live`);
    ws.send(setupMessage({ modality: 'TEXT', scenario }));
    expect((await ws.next()).setupComplete).toBeDefined();
    // 5000, not 2001: the bucket refills at 250 frames/s while the relay works through the burst.
    const tiny = new Uint8Array(2);
    for (let i = 0; i < 5000; i++) ws.send(tiny);
    const close = await ws.closed(15_000);
    expect(close.code).toBe(1013);
    expect(close.reason).toMatch(/flood/i);
    const s = await settledStatus(conversation);
    expect(s.counters.clientAudioFrames).toBeGreaterThanOrEqual(2000);
    expect(s.counters.clientAudioFrames).toBeLessThan(5000);
    // One client closed with 1013, however many of its frames were still in flight when it was closed.
    expect(s.counters.overloadCloses).toBe(1);
  });

  it('a reconnect backlog (16 s of 8 ms frames back to back) is not a flood', async () => {
    const scenario = await createScenario();
    const ws = await connectRelay(`/v1/conversations/${uniqueConversationId()}/live`);
    ws.send(setupMessage({ modality: 'TEXT', scenario }));
    expect((await ws.next()).setupComplete).toBeDefined();
    const frame = silence(8);
    for (let i = 0; i < 1900; i++) ws.send(frame);
    await eventually(
      async () => (await scenarioReport(scenario)).audioBytes === 1900 * frame.byteLength,
      15_000,
      'the whole backlog consumed',
    );
    expect(ws.closeEvent).toBeNull();
    ws.close();
  });
});
