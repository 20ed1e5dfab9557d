// End to end through real sockets: binary PCM and JSON realtimeInput.audio batched at the edge (PcmBatcher in the
// LiveSession DO), checked against what the emulator actually consumed (scenario report and /audio).
import { describe, expect, it } from 'vitest';
import { audioMessage, chunks, concat, firstDifference, silence, tone } from './helpers/audio';
import { Rng } from './helpers/batcher-prng';
import {
  API_KEY,
  bearer,
  connectRelay,
  createScenario,
  eventually,
  relayFetch,
  scenarioAudio,
  scenarioReport,
  setupMessage,
  tryConnectRelay,
  uniqueConversationId,
} from './helpers/relay';
import type { JsonMessage, TestSocket } from './helpers/ws';

interface Consumed {
  conn: number;
  index: number;
  type: string;
  bytes?: number;
  text?: string;
}

/** Opens a relay session (path with its query) joined to a fresh emulator scenario; returns after setupComplete. */
async function openSession(query = '') {
  const scenario = await createScenario();
  const conversation = uniqueConversationId();
  const ws = await connectRelay(`/v1/conversations/${conversation}/live${query}`);
  ws.send(setupMessage({ modality: 'TEXT', scenario }));
  expect((await ws.next()).setupComplete).toBeDefined();
  return { ws, scenario, conversation };
}

async function consumedAfterSetup(scenario: string): Promise<Consumed[]> {
  const report = await scenarioReport(scenario);
  return (report.consumed as Consumed[]).filter((c) => c.type !== 'setup');
}

const audioEntries = (consumed: Consumed[]) => consumed.filter((c) => c.type === 'realtimeInput.audio');

/** Waits until the emulator has consumed exactly `bytes` of input audio. */
async function untilAudioBytes(scenario: string, bytes: number, what = `${bytes} audio bytes consumed`) {
  await eventually(async () => (await scenarioReport(scenario)).audioBytes === bytes, 8000, what);
}

async function status(conversation: string): Promise<JsonMessage> {
  const response = await relayFetch(`/v1/conversations/${conversation}`, { headers: bearer(API_KEY) });
  expect(response.status).toBe(200);
  return await response.json<JsonMessage>();
}

/**
 * Very quiet noise (|sample| ≤ 300, RMS ≈ 170, under the emulator's VAD threshold of 500): no model turn starts, yet
 * the bytes vary, so a reordered, lost or duplicated byte shows in the comparison. Odd-sized pieces must be cut
 * from one stream: concatenating odd-length pieces of separate streams shifts the samples and makes them loud.
 */
function quietNoise(rng: Rng, bytes: number): Uint8Array {
  const samples = Math.ceil(bytes / 2);
  const out = new Uint8Array(samples * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples; i++) view.setInt16(i * 2, rng.int(-300, 300), true);
  return out.subarray(0, bytes);
}

/** Sends a copy (a view's own bytes, nothing around it) as one binary frame. */
const sendBinary = (ws: TestSocket, pcm: Uint8Array) => ws.send(pcm.slice());

const WINDOW_16K_40MS = 1280;

describe('edge batching of binary PCM: property-style interleavings', () => {
  type Op =
    | { kind: 'binary'; pcm: Uint8Array }
    | { kind: 'jsonAudio'; pcm: Uint8Array }
    | { kind: 'clientContent'; text: string }
    | { kind: 'audioStreamEnd' };

  /** Odd-sized cuts of one continuous quiet stream (cut anywhere, the stream stays quiet), among control messages. */
  function plan(seed: number): Op[] {
    const rng = new Rng(seed);
    type Slot = { kind: 'binary' | 'jsonAudio'; size: number } | Exclude<Op, { pcm: Uint8Array }>;
    const slots: Slot[] = [];
    const count = rng.int(40, 90);
    for (let i = 0; i < count; i++) {
      const roll = rng.next();
      if (roll < 0.7) slots.push({ kind: 'binary', size: rng.int(1, 3000) });
      else if (roll < 0.8) slots.push({ kind: 'jsonAudio', size: rng.int(1, 3000) });
      else if (roll < 0.9) slots.push({ kind: 'clientContent', text: `note ${seed}-${i}` });
      else slots.push({ kind: 'audioStreamEnd' });
    }
    let total = slots.reduce((n, s) => n + ('size' in s ? s.size : 0), 0);
    // End on an even total so every byte sent can reach the emulator.
    if (total % 2 === 1) {
      slots.push({ kind: 'binary', size: 1 });
      total++;
    }
    const stream = quietNoise(rng, total);
    let offset = 0;
    return slots.map((slot) => {
      if (!('size' in slot)) return slot;
      const pcm = stream.subarray(offset, offset + slot.size);
      offset += slot.size;
      return { kind: slot.kind, pcm };
    });
  }

  for (const seed of [1, 7, 42, 1234, 2024]) {
    it(`seed ${seed}: exact bytes in order, controls at their positions, no batch over the window`, async () => {
      const ops = plan(seed);
      const { ws, scenario } = await openSession();
      const sent: Uint8Array[] = [];
      let sentBytes = 0;
      const controls: Array<{ type: string; text?: string; audioBefore: number }> = [];
      for (const op of ops) {
        if (op.kind === 'binary') sendBinary(ws, op.pcm);
        else if (op.kind === 'jsonAudio') ws.send(audioMessage(op.pcm));
        else if (op.kind === 'clientContent') {
          ws.send({
            clientContent: { turns: [{ role: 'user', parts: [{ text: op.text }] }], turnComplete: false },
          });
          controls.push({ type: 'clientContent', text: op.text, audioBefore: sentBytes });
        } else {
          ws.send({ realtimeInput: { audioStreamEnd: true } });
          controls.push({ type: 'realtimeInput.audioStreamEnd', audioBefore: sentBytes });
        }
        if ('pcm' in op) {
          sent.push(op.pcm);
          sentBytes += op.pcm.byteLength;
        }
      }
      expect(sentBytes % 2, `seed ${seed}`).toBe(0);
      // The seed exercises what this is about: every kind of input, and a control message after an odd byte.
      expect(new Set(ops.map((op) => op.kind)).size, `seed ${seed}: kinds`).toBe(4);
      expect(
        controls.some((c) => c.audioBefore % 2 === 1),
        `seed ${seed}: odd byte before a control`,
      ).toBe(true);
      await eventually(
        async () => {
          const consumed = await consumedAfterSetup(scenario);
          const report = await scenarioReport(scenario);
          return (
            report.audioBytes === sentBytes &&
            consumed.filter((c) => c.type !== 'realtimeInput.audio').length === controls.length
          );
        },
        10_000,
        `seed ${seed}: all ${sentBytes} bytes and ${controls.length} control messages consumed`,
      );

      // Every byte, in order.
      const heard = await scenarioAudio(scenario);
      expect(heard.byteLength, `seed ${seed}`).toBe(sentBytes);
      expect(firstDifference(heard, concat(...sent)), `seed ${seed}: /audio differs`).toBe(-1);

      // Each control message where the client put it: after the audio before it (even part; the odd byte is
      // carried past it), before the audio after it.
      const consumed = await consumedAfterSetup(scenario);
      let audioSoFar = 0;
      let next = 0;
      for (const entry of consumed) {
        if (entry.type === 'realtimeInput.audio') {
          expect(entry.bytes! % 2, `seed ${seed}: odd upstream batch`).toBe(0);
          expect(entry.bytes!, `seed ${seed}: batch over the 40 ms window`).toBeLessThanOrEqual(
            WINDOW_16K_40MS,
          );
          expect(entry.bytes!).toBeGreaterThan(0);
          audioSoFar += entry.bytes!;
          continue;
        }
        const control = controls[next++];
        expect(control, `seed ${seed}: unexpected ${entry.type}`).toBeDefined();
        expect(entry.type, `seed ${seed}: control #${next}`).toBe(control!.type);
        if (control!.text !== undefined) expect(entry.text).toBe(control!.text);
        expect(audioSoFar, `seed ${seed}: audio before control #${next} (${entry.type})`).toBe(
          control!.audioBefore & ~1,
        );
      }
      expect(next).toBe(controls.length);
      // Quiet input: the model never spoke (setupComplete is the only frame the client got).
      expect(ws.frames.length).toBe(1);
      ws.close();
    });
  }
});

describe('edge batching: windows, hold time, passthrough', () => {
  it('a lone short frame is flushed by the hold timer', async () => {
    const { ws, scenario } = await openSession();
    const frame = silence(8); // 256 B, far below the 1280-byte window
    sendBinary(ws, frame);
    await untilAudioBytes(scenario, 256);
    const audio = audioEntries(await consumedAfterSetup(scenario));
    expect(audio.map((a) => a.bytes)).toEqual([256]);
    ws.close();
  });

  it('?batch_ms=0: every even frame goes upstream as is, one message each', async () => {
    const rng = new Rng(5);
    const sizes = Array.from({ length: 30 }, () => rng.int(1, 1500) * 2);
    const frames = sizes.map((n) => quietNoise(rng, n));
    const { ws, scenario } = await openSession('?batch_ms=0');
    for (const frame of frames) sendBinary(ws, frame);
    const total = sizes.reduce((a, b) => a + b, 0);
    await untilAudioBytes(scenario, total);
    const audio = audioEntries(await consumedAfterSetup(scenario));
    expect(audio.map((a) => a.bytes)).toEqual(sizes);
    expect(firstDifference(await scenarioAudio(scenario), concat(...frames))).toBe(-1);
    ws.close();
  });

  // A hold of 200 ms (the maximum) keeps these sizes deterministic: 50 back-to-back frames arrive well within it,
  // so a batch leaves only when it reaches the minimum chunk (20 ms by default: three 8 ms frames, 768 bytes; the
  // last 256 bytes wait for the hold) or, with ?batch_min_ms= equal to the window, when the window fills.
  for (const { query, sizes, label } of [
    {
      query: '',
      sizes: [...Array<number>(16).fill(768), 512],
      label: '768-byte batches (the 20 ms minimum)',
    },
    {
      query: 'batch_ms=20',
      sizes: Array<number>(20).fill(640),
      label: 'full 640-byte windows (minimum ≤ window)',
    },
    {
      query: 'batch_ms=40&batch_min_ms=40',
      sizes: Array<number>(10).fill(1280),
      label: 'full 1280-byte windows',
    },
    {
      query: 'batch_ms=100&batch_min_ms=100',
      sizes: Array<number>(4).fill(3200),
      label: 'full 3200-byte windows',
    },
  ]) {
    it(`50 frames of 8 ms ${query ? `with ?${query}` : 'at the defaults'} → ${label}`, async () => {
      const rng = new Rng(sizes.length);
      const frames = Array.from({ length: 50 }, () => quietNoise(rng, 256));
      const { ws, scenario } = await openSession(`?batch_hold_ms=200${query ? `&${query}` : ''}`);
      for (const frame of frames) sendBinary(ws, frame);
      await untilAudioBytes(scenario, 50 * 256);
      const audio = audioEntries(await consumedAfterSetup(scenario));
      expect(audio.map((a) => a.bytes)).toEqual(sizes);
      expect(firstDifference(await scenarioAudio(scenario), concat(...frames))).toBe(-1);
      ws.close();
    });
  }

  it('JSON audio chunks that need no batching go upstream as the client wrote them (no base64 round trip)', async () => {
    const rng = new Rng(21);
    const frames = Array.from({ length: 10 }, () => quietNoise(rng, 640));
    const { ws, scenario, conversation } = await openSession();
    const before = (await status(conversation)).counters.upstreamOut;
    const sent = frames.map((f) =>
      JSON.stringify({ realtimeInput: { audio: { mimeType: 'audio/pcm', data: f.toBase64() } } }),
    );
    for (const text of sent) ws.send(text);
    await untilAudioBytes(scenario, 6400);
    expect(firstDifference(await scenarioAudio(scenario), concat(...frames))).toBe(-1);
    // Byte for byte: a re-encoding would have declared `audio/pcm;rate=16000` (11 bytes more each).
    const after = (await status(conversation)).counters.upstreamOut;
    expect(after.messages - before.messages).toBe(10);
    expect(after.bytes - before.bytes).toBe(sent.reduce((n, t) => n + t.length, 0));
    ws.close();
  });

  it('20 ms frames at the defaults go upstream one each, as they come (no added wait)', async () => {
    const rng = new Rng(20);
    const frames = Array.from({ length: 20 }, () => quietNoise(rng, 640));
    const { ws, scenario } = await openSession('?batch_hold_ms=200');
    for (const frame of frames) sendBinary(ws, frame);
    await untilAudioBytes(scenario, 20 * 640);
    const audio = audioEntries(await consumedAfterSetup(scenario));
    expect(audio.map((a) => a.bytes)).toEqual(Array<number>(20).fill(640));
    ws.close();
  });

  it('JSON realtimeInput.audio in 8 ms chunks is batched the same way, exact bytes', async () => {
    const rng = new Rng(77);
    const frames = Array.from({ length: 50 }, () => quietNoise(rng, 256));
    const { ws, scenario } = await openSession('?batch_hold_ms=200');
    for (const frame of frames) ws.send(audioMessage(frame));
    await untilAudioBytes(scenario, 12_800);
    const audio = audioEntries(await consumedAfterSetup(scenario));
    expect(audio.map((a) => a.bytes)).toEqual([...Array<number>(16).fill(768), 512]);
    expect(firstDifference(await scenarioAudio(scenario), concat(...frames))).toBe(-1);
    ws.close();
  });

  for (const batch of ['0', '40']) {
    it(`1-byte frames never misalign a tone (?batch_ms=${batch})`, async () => {
      const pcm = tone(20, 16000, 523); // 640 B → 640 frames, within the flood burst
      const { ws, scenario } = await openSession(`?batch_ms=${batch}`);
      for (let i = 0; i < pcm.byteLength; i++) sendBinary(ws, pcm.subarray(i, i + 1));
      await untilAudioBytes(scenario, pcm.byteLength);
      expect(firstDifference(await scenarioAudio(scenario), pcm)).toBe(-1);
      const audio = audioEntries(await consumedAfterSetup(scenario));
      for (const a of audio) expect(a.bytes! % 2).toBe(0);
      if (batch === '0') expect(audio.map((a) => a.bytes)).toEqual(Array(320).fill(2));
      ws.close();
    });
  }
});

describe('declared rate and connect options', () => {
  it('?audio_rate=24000: binary PCM is declared at 24 kHz (audioMs = bytes / 48)', async () => {
    const rng = new Rng(24);
    const frames = Array.from({ length: 50 }, () => quietNoise(rng, 480)); // 10 ms each at 24 kHz
    const { ws, scenario } = await openSession('?audio_rate=24000');
    for (const frame of frames) sendBinary(ws, frame);
    await untilAudioBytes(scenario, 24_000);
    const report = await scenarioReport(scenario);
    expect(report.audioMs).toBeCloseTo(24_000 / 48, 3); // 500 ms, not the 750 ms of 16 kHz
    for (const a of audioEntries(report.consumed)) expect(a.bytes).toBeLessThanOrEqual(1920);
    ws.close();
  });

  it('binary frames keep the connection rate after a JSON chunk declared at another rate', async () => {
    // Binary input is PCM at ?audio_rate (16 kHz by default); a JSON chunk's own mimeType applies to that chunk only.
    const { ws, scenario } = await openSession('?batch_hold_ms=200');
    const json24k = silence(20, 24000); // 960 B = 20 ms at 24 kHz
    ws.send(audioMessage(json24k, 24000));
    for (const frame of chunks(silence(100), 320)) sendBinary(ws, frame); // 3200 B = 100 ms at 16 kHz
    await untilAudioBytes(scenario, 960 + 3200);
    const report = await scenarioReport(scenario);
    expect(report.audioMs).toBeCloseTo(20 + 100, 3);
    ws.close();
  });

  for (const query of ['batch_ms=5', 'audio_rate=abc', 'batch_hold_ms=1000']) {
    it(`?${query} → HTTP 400 JSON before any upgrade; no conversation is created`, async () => {
      const conversation = uniqueConversationId();
      const result = await tryConnectRelay(`/v1/conversations/${conversation}/live?${query}`);
      if (!(result instanceof Response)) {
        result.close();
        throw new Error(`?${query} was upgraded`);
      }
      expect(result.status).toBe(400);
      expect(result.headers.get('content-type')).toMatch(/application\/json/);
      const body = await result.json<JsonMessage>();
      expect(body.error.code).toBe(400);
      expect(typeof body.error.message).toBe('string');
      const statusResponse = await relayFetch(`/v1/conversations/${conversation}`, {
        headers: bearer(API_KEY),
      });
      expect(statusResponse.status).toBe(404);
    });
  }
});

describe('status counters for audio', () => {
  it('clientAudioFrames, upstreamAudioBatches and batchMs agree with what the emulator consumed', async () => {
    const rng = new Rng(10);
    const { ws, scenario, conversation } = await openSession();
    let total = 0;
    let frames = 0;
    for (let i = 0; i < 60; i++) {
      const pcm = quietNoise(rng, rng.int(1, 400) * 2);
      if (i % 3 === 0) ws.send(audioMessage(pcm));
      else sendBinary(ws, pcm);
      total += pcm.byteLength;
      frames++;
    }
    await untilAudioBytes(scenario, total);
    const report = await scenarioReport(scenario);
    const upstreamAudio = report.messagesByType['realtimeInput.audio'] as number;
    expect(upstreamAudio).toBe(audioEntries(report.consumed as Consumed[]).length);
    expect(upstreamAudio).toBeLessThan(frames);
    const s = await status(conversation);
    expect(s.counters.clientAudioFrames).toBe(frames);
    expect(s.counters.upstreamAudioBatches).toBe(upstreamAudio);
    expect(s.counters.clientMessagesByKind.binaryAudio).toBe(40);
    expect(s.audio.batchMs.count).toBe(upstreamAudio);
    expect(s.audio.batchMs.p95).toBeLessThanOrEqual(40);
    expect(s.audio.batchMs.max).toBeLessThanOrEqual(40);
    ws.close();
  });
});
