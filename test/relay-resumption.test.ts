// Conversations that outlive connections, proved against the emulator's fault injection and counters.
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { concat, silence, tone } from './helpers/audio';
import {
  API_KEY,
  OTHER_API_KEY,
  bearer,
  connectRelay,
  createScenario,
  eventually,
  isRelayEvent,
  isTurnComplete,
  livePath,
  relayFetch,
  say,
  scenarioAudio,
  scenarioReport,
  setupMessage,
  tryConnectRelay,
  turnText,
  uniqueConversationId,
} from './helpers/relay';
import type { JsonMessage, TestSocket } from './helpers/ws';

const live = livePath;
const isRelay = isRelayEvent;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends PCM as 20 ms binary frames paced in real time (so goAways and faults land mid-stream). */
async function stream(ws: TestSocket, pcm: Uint8Array, frameMs = 20): Promise<void> {
  const frame = frameMs * 32;
  for (let i = 0; i < pcm.byteLength; i += frame) {
    ws.send(pcm.slice(i, i + frame));
    await sleep(frameMs);
  }
}

describe('upstream goAway and drops are handed over with nothing lost', () => {
  it('continuous audio across several connection lifetimes: every byte exactly once, in order, no client close', async () => {
    const scenario = await createScenario({ default: { goAwayAfterMs: 1200, goAwayTimeLeftMs: 800 } });
    const ws = await connectRelay(live(uniqueConversationId()));
    ws.send(setupMessage({ scenario }));
    await ws.next();
    // Quiet noise below the VAD threshold: audio flows, no model turns interrupt the handovers.
    const audio = concat(...Array.from({ length: 5 }, (_, i) => tone(1000, 16000, 300 + i * 50, 200)));
    const sent = stream(ws, audio);
    expect(await say(ws, 'first words')).toContain('first words');
    await sent;
    expect(await say(ws, 'what did I say')).toContain('first words');
    await eventually(
      async () => (await scenarioReport(scenario)).audioBytes === audio.byteLength,
      8000,
      'all audio consumed',
    );
    expect(await scenarioAudio(scenario)).toEqual(audio);
    const report = await scenarioReport(scenario);
    expect(report.connections.length).toBeGreaterThanOrEqual(4);
    expect(
      report.connections.slice(1).every((c: { resumedWithHandle: boolean }) => c.resumedWithHandle),
    ).toBe(true);
    expect(ws.closeEvent).toBeNull();
    const events = ws.frames
      .map((f) => (f.type === 'text' ? f.data : ''))
      .filter((t) => t.includes('"relay"'));
    expect(events.some((e) => e.includes('"resumed"'))).toBe(true);
    // A plain Live API stream: the relay hid goAway and the repeated setupCompletes.
    const messages = ws.frames.filter((f) => f.type === 'binary');
    expect(messages.length).toBeGreaterThan(0);
    ws.close();
  }, 30_000);

  it('lastConsumedClientMessageIndex counts the client’s own messages, across batching and goAway handovers', async () => {
    const scenario = await createScenario({ default: { goAwayAfterMs: 700, goAwayTimeLeftMs: 500 } });
    const ws = await connectRelay(live(uniqueConversationId(), 'relay_events=1&batch_ms=60'));
    ws.send(setupMessage({ scenario, extra: { sessionResumption: { transparent: true } } }));
    await ws.next();
    // 90 frames of 20 ms below the VAD threshold, three per upstream batch, across several connections.
    const audio = tone(1800, 16000, 300, 200);
    await stream(ws, audio);
    const frames = audio.byteLength / 640;
    expect(await say(ws, 'what did I say')).toContain('not said anything');
    const sent = frames + 1;
    await ws.until(
      (m) => Number(m.sessionResumptionUpdate?.lastConsumedClientMessageIndex) === sent,
      8000,
      'an update covering every client message',
    );
    const indexes = ws.frames
      .map((f) => (f.type === 'text' ? f.data : new TextDecoder().decode(f.data)))
      .filter((t) => t.includes('sessionResumptionUpdate'))
      .map((t) => JSON.parse(t).sessionResumptionUpdate.lastConsumedClientMessageIndex)
      .filter((i) => i !== undefined)
      .map(Number);
    expect((await scenarioReport(scenario)).connections.length).toBeGreaterThanOrEqual(3);
    // Never beyond what the client sent, never backwards (a handover used to reset it to 0).
    for (let i = 1; i < indexes.length; i++) expect(indexes[i]).toBeGreaterThanOrEqual(indexes[i - 1]!);
    expect(Math.max(...indexes)).toBe(sent);
    // Values between the first and the last: the index moved with the audio, not only at the end.
    expect(new Set(indexes.filter((i) => i > 0 && i < frames)).size).toBeGreaterThan(2);
    ws.close();
  }, 30_000);

  it('an abrupt 1011 mid-utterance: the relay resumes and the utterance arrives whole', async () => {
    const scenario = await createScenario({ connections: [{ closeAfterMessages: 25 }] });
    const ws = await connectRelay(live(uniqueConversationId()));
    ws.send(setupMessage({ scenario, extra: { inputAudioTranscription: {} } }));
    await ws.next();
    const utterance = concat(tone(1000), silence(700));
    await stream(ws, utterance);
    const turn = await ws.until(isTurnComplete, 15_000, 'reply to the utterance');
    expect(turn.map((m) => m.serverContent?.inputTranscription?.text ?? '').join('')).toContain(
      '[speech 1.00 s]',
    );
    await eventually(
      async () => (await scenarioReport(scenario)).audioBytes >= utterance.byteLength,
      5000,
      'all audio consumed',
    );
    expect(await scenarioAudio(scenario)).toEqual(utterance);
    expect((await scenarioReport(scenario)).connections[0]!.closeCode).toBe(1011);
    expect(ws.closeEvent).toBeNull();
    ws.close();
  }, 20_000);

  it('an abrupt 1011 mid-model-turn: the client stays connected and the conversation continues', async () => {
    const scenario = await createScenario({ chunkDelayMs: 30, connections: [{ closeAfterMs: 400 }] });
    const ws = await connectRelay(live(uniqueConversationId()));
    ws.send(setupMessage({ scenario, modality: 'AUDIO' }));
    await ws.next();
    ws.send({ realtimeInput: { text: 'tell me a long story about lighthouses and the sea at night' } });
    await ws.until((m) => m.relay?.event === 'resumed', 10_000, 'resumed event');
    await say(ws, 'are you still there');
    expect((await scenarioReport(scenario)).history.map((h: { text: string }) => h.text)).toContain(
      'are you still there',
    );
    expect(ws.closeEvent).toBeNull();
    ws.close();
  }, 20_000);

  it('goAway while the model is generating: the relay waits for a resumable point, the turn arrives whole', async () => {
    const scenario = await createScenario({
      chunkDelayMs: 25,
      connections: [{ goAwayAfterMessages: 1, goAwayTimeLeftMs: 6000 }],
    });
    const ws = await connectRelay(live(uniqueConversationId()));
    ws.send(setupMessage({ scenario }));
    await ws.next();
    const reply = await say(ws, 'a question that takes a while to answer properly');
    expect(reply).toBe('I heard you say "a question that takes a while to answer properly".');
    await ws.until((m) => m.relay?.event === 'resumed', 10_000, 'handover after the turn');
    expect(await say(ws, 'what did I say')).toContain('a question that takes a while');
    const report = await scenarioReport(scenario);
    expect(report.connections).toHaveLength(2);
    expect(report.turns).toBe(2);
    ws.close();
  }, 20_000);

  it('a refused handle: a fresh session seeded with the conversation’s text, flagged to the client', async () => {
    const scenario = await createScenario({
      connections: [{ closeAfterMessages: 2 }, { rejectHandle: true }],
    });
    const ws = await connectRelay(live(uniqueConversationId()));
    ws.send(setupMessage({ scenario }));
    await ws.next();
    expect(await say(ws, 'remember the blue door')).toContain('blue door');
    ws.send({ realtimeInput: { text: 'second' } });
    const restarted = await ws.until(
      (m) => m.relay?.event === 'session_restarted',
      10_000,
      'session_restarted',
    );
    expect(restarted.at(-1)!.relay.reason).toMatch(/handle refused/);
    // The unacknowledged 'second' is replayed into the fresh session and answered first.
    expect(turnText(await ws.until(isTurnComplete))).toContain('second');
    expect(await say(ws, 'what did I say')).toContain('remember the blue door');
    const report = await scenarioReport(scenario);
    expect(report.connections[1]!.closeCode).toBe(1007);
    expect(ws.closeEvent).toBeNull();
    ws.close();
  }, 20_000);

  it('reconnect budget exhausted → 4004', async () => {
    const scenario = await createScenario({ default: { closeAfterMs: 1 } });
    const ws = await connectRelay(live(uniqueConversationId()));
    ws.send(setupMessage({ scenario }));
    const closed = await ws.closed(20_000);
    expect(closed.code).toBe(4004);
    expect(closed.reason).toMatch(/not resumed after 5 attempts/);
  }, 25_000);
});

describe('a client that drops comes back to the same conversation', () => {
  it('within the grace period: exactly the missed messages, once, in order', async () => {
    const scenario = await createScenario({ chunkDelayMs: 40 });
    const id = uniqueConversationId();
    const first = await connectRelay(live(id));
    first.send(setupMessage({ scenario }));
    const sessionId = (await first.next()).setupComplete.sessionId;
    expect((await first.next()).relay).toMatchObject({ event: 'ready', seq: 0 });
    first.send({ realtimeInput: { text: 'count slowly from one to twenty for me please' } });
    const seen = (await first.until((m) => m.serverContent?.modelTurn !== undefined)).filter(
      (m) => !isRelay(m),
    );
    first.close(3000, 'network gone');
    const second = await connectRelay(live(id, `relay_events=1&last_seq=${seen.length}`));
    // The turn is still streaming, but nothing reaches a client before its own setup and setupComplete.
    await second.quiet(300);
    second.send(setupMessage({ scenario }));
    expect((await second.next()).setupComplete.sessionId).toBe(sessionId);
    const ready = (await second.next()).relay;
    expect(ready).toMatchObject({ event: 'ready', seq: seen.length, gap: false, rejoined: true });
    const rest = (await second.until(isTurnComplete)).filter((m) => !isRelay(m));
    const all = [...seen, ...rest];
    expect(turnText(all)).toBe('I heard you say "count slowly from one to twenty for me please".');
    expect(all.filter(isTurnComplete)).toHaveLength(1);
    expect((await scenarioReport(scenario)).connections).toHaveLength(1);
    second.close();
  }, 20_000);

  it('audio sent right before a drop still reaches the model, and the stream continues after the rejoin', async () => {
    const scenario = await createScenario();
    const id = uniqueConversationId();
    const first = await connectRelay(live(id));
    first.send(setupMessage({ scenario }));
    await first.next();
    const before = tone(1000, 16000, 300, 150);
    for (let i = 0; i < before.byteLength; i += 640) first.send(before.slice(i, i + 640));
    first.close(3000, 'network gone');
    // The relay has the drop (its close comes after every frame the client sent); a takeover before that would
    // retire the socket and drop what it still delivers (see the half-dead socket test).
    await first.closed();
    const second = await connectRelay(live(id, 'relay_events=1&last_seq=0'));
    second.send(setupMessage({ scenario }));
    await second.next();
    const after = tone(1000, 16000, 500, 150);
    for (let i = 0; i < after.byteLength; i += 640) second.send(after.slice(i, i + 640));
    const audio = concat(before, after);
    await eventually(
      async () => (await scenarioReport(scenario)).audioBytes >= audio.byteLength,
      5000,
      'all audio consumed',
    );
    expect(await scenarioAudio(scenario)).toEqual(audio);
    second.close();
  });

  it('a client that rejoins before setupComplete gets it, and no second upstream opens', async () => {
    const scenario = await createScenario({ default: { setupCompleteDelayMs: 500 } });
    const id = uniqueConversationId();
    const first = await connectRelay(live(id));
    first.send(setupMessage({ scenario }));
    first.close(3000, 'network gone');
    const second = await connectRelay(live(id));
    second.send(setupMessage({ scenario }));
    expect((await second.next()).setupComplete).toBeDefined();
    expect(await say(second, 'still one session')).toContain('still one session');
    expect((await scenarioReport(scenario)).connections).toHaveLength(1);
    second.close();
  });

  it('after the grace period: the upstream closes, the stored handle resumes the conversation on a new one', async () => {
    const scenario = await createScenario();
    const id = uniqueConversationId();
    const first = await connectRelay(live(id));
    first.send(setupMessage({ scenario }));
    await first.next();
    expect(await say(first, 'the password is swordfish')).toContain('swordfish');
    first.close(3000, 'gone');
    await eventually(
      async () => (await scenarioReport(scenario)).connections[0]!.open === false,
      6000,
      'upstream closed after grace',
    );
    const second = await connectRelay(live(id));
    second.send(setupMessage({ scenario }));
    await second.next();
    expect(await say(second, 'what did I say')).toContain('swordfish');
    expect((await scenarioReport(scenario)).connections[1]!.resumedWithHandle).toBe(true);
    await expect(
      tryConnectRelay(live(id), bearer(OTHER_API_KEY)).then((r) => (r as Response).status),
    ).resolves.toBe(403);
    second.close();
  }, 20_000);

  it('a Durable Object restart loses sockets, not the conversation: the next connection resumes', async () => {
    const scenario = await createScenario();
    const id = uniqueConversationId();
    const first = await connectRelay(live(id));
    first.send(setupMessage({ scenario }));
    await first.next();
    expect(await say(first, 'my name is Ada')).toContain('Ada');
    // A restart (deploy, eviction with a live outbound socket) is an abort: memory and sockets go, storage stays.
    const stub = env.LIVE_SESSION.get(env.LIVE_SESSION.idFromName(id));
    await runInDurableObject(stub, (_instance, state) => state.abort('test: restart')).catch(() => undefined);
    await first.closed(5000);
    const second = await connectRelay(live(id));
    second.send(setupMessage({ scenario }));
    await second.next();
    expect(await say(second, 'what did I say')).toContain('my name is Ada');
    const status = await (
      await relayFetch(`/v1/conversations/${id}`, { headers: bearer(API_KEY) })
    ).json<JsonMessage>();
    expect(status.upstream.handleStored).toBe(true);
    second.close();
  }, 20_000);
});
