// Fault injection, the control API and the counters the relay's tests read.
import { afterEach, describe, expect, it } from 'vitest';
import { EmulatorClient, chunks, concatBytes, emulatorUrl, silence, tone } from './helpers/emulator-client';
import {
  createScenario,
  reportWhen,
  scenarioAudio,
  scenarioInstruction,
  scenarioReport,
  sessionReport,
} from './helpers/emulator-control';
import type { FaultSpec } from '../src/emulator/scenarios';

afterEach(() => EmulatorClient.closeAll());

const TEXT = { generationConfig: { responseModalities: ['TEXT'] } };

/** A scenario whose every connection has `fault`, and one connection to it past setupComplete. */
async function faulty(fault: FaultSpec, extra: Record<string, unknown> = {}) {
  const id = await createScenario({ default: fault });
  const client = await EmulatorClient.open({ ...TEXT, ...extra, systemInstruction: scenarioInstruction(id) });
  expect((await client.nextMessage()).setupComplete).toBeDefined();
  return { id, client };
}

describe('control API', () => {
  it('creates scenarios with 201 and an id, and rejects malformed specs with 400', async () => {
    const res = await fetch(`${emulatorUrl()}/emulator/scenarios`, {
      method: 'POST',
      body: '{"chunkDelayMs": 1}',
    });
    expect(res.status).toBe(201);
    expect(await res.json<{ id: string }>()).toMatchObject({
      id: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
    });
    for (const body of [
      'nope',
      '[]',
      '{"chunkDelayMs": "1"}',
      '{"default": {"closeAfterMsgs": 1}}',
      '{"default": {"closeCode": 1006}}',
    ]) {
      const bad = await fetch(`${emulatorUrl()}/emulator/scenarios`, { method: 'POST', body });
      expect(bad.status, body).toBe(400);
    }
  });

  it('answers 404 JSON for unknown scenarios and sessions', async () => {
    for (const path of [
      '/emulator/scenarios/nope',
      '/emulator/sessions/nope',
      '/emulator/scenarios/nope/audio',
    ]) {
      const res = await fetch(emulatorUrl() + path);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 404 } });
    }
  });

  it('reports an unmarked connection under its session id', async () => {
    const client = await EmulatorClient.open(TEXT);
    const sessionId = (await client.nextMessage()).setupComplete!.sessionId!;
    client.sendText('anonymous');
    await client.turn();
    const report = await sessionReport(sessionId);
    expect(report.connections).toMatchObject([{ ordinal: 0, sessionId, open: true }]);
    expect(report.history[0]).toEqual({ role: 'user', text: 'anonymous' });
  });
});

/** A resumable connection in scenario `id`, and the handle of its first sessionResumptionUpdate. */
async function openResumable(id: string): Promise<{ client: EmulatorClient; handle: string }> {
  const client = await EmulatorClient.open({
    ...TEXT,
    systemInstruction: scenarioInstruction(id),
    sessionResumption: {},
  });
  await client.nextMessage();
  const handle = (await client.nextMessage()).sessionResumptionUpdate!.newHandle;
  return { client, handle };
}

describe('faults', () => {
  it('goAwayAfterMessages: goAway with timeLeft as a Duration, then close 1000', async () => {
    const { client } = await faulty({ goAwayAfterMessages: 2, goAwayTimeLeftMs: 100 });
    client.sendAudio(silence(20));
    client.sendAudio(silence(20));
    const frames = await client.collectUntil((m) => m.goAway !== undefined);
    expect(frames.at(-1)!.json).toEqual({ goAway: { timeLeft: '0.1s' } });
    expect((await client.waitForClose()).code).toBe(1000);
  });

  it('goAwayAfterMs with a fractional timeLeft', async () => {
    const { client } = await faulty({ goAwayAfterMs: 10, goAwayTimeLeftMs: 1500 });
    expect((await client.nextMessage()).goAway).toEqual({ timeLeft: '1.5s' });
    expect((await client.waitForClose()).code).toBe(1000);
  });

  it('lifetimeMs: goAway (halfway when the lifetime is under the 60 s warning) then close 1000', async () => {
    const { id, client } = await faulty({ lifetimeMs: 200 });
    expect((await client.nextMessage()).goAway).toEqual({ timeLeft: '0.1s' });
    expect((await client.waitForClose()).code).toBe(1000);
    const report = await reportWhen(id, (r) => !r.connections[0]!.open);
    expect(report.connections[0]).toMatchObject({ closeCode: 1000 });
    expect(report.serverMessagesByType.goAway).toBe(1);
  });

  it('closeAfterMessages: closes 1011 "Internal error encountered." by default', async () => {
    const { id, client } = await faulty({ closeAfterMessages: 1 });
    client.sendText('boom');
    expect(await client.waitForClose()).toEqual({ code: 1011, reason: 'Internal error encountered.' });
    const report = await reportWhen(id, (r) => !r.connections[0]!.open);
    expect(report.connections[0]).toMatchObject({
      closeCode: 1011,
      closeReason: 'Internal error encountered.',
      open: false,
    });
  });

  it('closeAfterMs with a custom code and reason', async () => {
    const { client } = await faulty({
      closeAfterMs: 20,
      closeCode: 1011,
      closeReason: 'The service is currently unavailable.',
    });
    expect(await client.waitForClose()).toEqual({
      code: 1011,
      reason: 'The service is currently unavailable.',
    });
  });

  it('applies connections[i] to the i-th connection and default to the rest', async () => {
    const id = await createScenario({
      connections: [{}, { closeAfterMessages: 1, closeCode: 4001 }],
      default: { closeAfterMessages: 2 },
    });
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const client = await EmulatorClient.open({ ...TEXT, systemInstruction: scenarioInstruction(id) });
      await client.nextMessage();
      client.send({ realtimeInput: { audioStreamEnd: true } });
      client.send({ realtimeInput: { audioStreamEnd: true } });
      if (i === 0) {
        client.close();
        codes.push(0);
      } else codes.push((await client.waitForClose()).code);
    }
    expect(codes).toEqual([0, 4001, 1011]);
    const report = await scenarioReport(id);
    expect(report.connections.map((c) => c.ordinal)).toEqual([0, 1, 2]);
  });

  it('rejectHandle: a resume is refused with 1007', async () => {
    const id = await createScenario({ connections: [{}, { rejectHandle: true }] });
    const { client: a, handle } = await openResumable(id);
    a.close();
    const b = await EmulatorClient.open({ ...TEXT, sessionResumption: { handle } });
    expect(await b.waitForClose()).toEqual({ code: 1007, reason: 'Request contains an invalid argument.' });
    const report = await reportWhen(id, (r) => r.connections.length === 2 && !r.connections[1]!.open);
    expect(report.connections[1]).toMatchObject({ resumedWithHandle: true, closeCode: 1007 });
  });

  it('refuseConcurrentResume: 1011 while the session is open elsewhere, accepted once it is not', async () => {
    const id = await createScenario({ default: { refuseConcurrentResume: true } });
    const { client: a, handle } = await openResumable(id);
    const b = await EmulatorClient.open({ ...TEXT, sessionResumption: { handle } });
    expect(await b.waitForClose()).toEqual({ code: 1011, reason: 'The service is currently unavailable.' });
    a.close();
    await reportWhen(id, (r) => !r.connections[0]!.open);
    const c = await EmulatorClient.open({ ...TEXT, sessionResumption: { handle } });
    expect((await c.nextMessage()).setupComplete).toBeDefined();
  });

  it('without refuseConcurrentResume, a resume takes the session over from the open connection', async () => {
    const id = await createScenario();
    const { client: a, handle } = await openResumable(id);
    const b = await EmulatorClient.open({ ...TEXT, sessionResumption: { handle } });
    expect((await b.nextMessage()).setupComplete).toBeDefined();
    a.sendText('to the old connection');
    b.sendText('to the new connection');
    await b.turn();
    // The old connection's message is counted but no longer changes the session.
    const report = await reportWhen(id, (r) => r.messagesByType.clientContent === 2);
    expect(report.history.map((h) => h.text)).toEqual([
      'to the new connection',
      'I heard you say "to the new connection".',
    ]);
  });

  it('setupCompleteDelayMs: setupComplete still comes first', async () => {
    const id = await createScenario({ default: { setupCompleteDelayMs: 100 } });
    const client = await EmulatorClient.open({ ...TEXT, systemInstruction: scenarioInstruction(id) });
    client.sendText('early');
    const frames = await client.turn();
    expect(Object.keys(frames[0]!.json)).toEqual(['setupComplete']);
  });

  it('chunkDelayMs on a connection slows its turns enough to barge in', async () => {
    const { client } = await faulty({ chunkDelayMs: 150 });
    client.sendText('a reply long enough to interrupt');
    await client.collectUntil((m) => m.serverContent?.modelTurn !== undefined);
    client.sendText('stop');
    const cut = await client.turn();
    expect(cut.some((f) => f.json.serverContent?.interrupted)).toBe(true);
  });
});

describe('counters', () => {
  it('counts messages by type, keeps the consumed order, history, turns and the input audio byte-for-byte', async () => {
    const startedAt = Date.now();
    const id = await createScenario();
    const client = await EmulatorClient.open({
      ...TEXT,
      systemInstruction: scenarioInstruction(id),
      realtimeInputConfig: { automaticActivityDetection: { disabled: true } },
    });
    const sessionId = (await client.nextMessage()).setupComplete!.sessionId!;
    client.sendText('hello');
    await client.turn();
    const audio = chunks(concatBytes(tone(100), silence(40)), 40);
    client.send({ realtimeInput: { activityStart: {} } });
    for (const chunk of audio) client.sendAudio(chunk);
    client.send({ realtimeInput: { activityEnd: {} } });
    await client.turn();
    client.send({ realtimeInput: { video: { mimeType: 'image/jpeg', data: 'AAAA' } } });
    client.send({ realtimeInput: { audioStreamEnd: true } });
    const report = await reportWhen(id, (r) => r.connections[0]!.lastConsumedIndex === 3 + audio.length + 2);

    expect(report.messagesByType).toEqual({
      setup: 1,
      clientContent: 1,
      'realtimeInput.audio': audio.length,
      'realtimeInput.text': 0,
      'realtimeInput.video': 1,
      'realtimeInput.activityStart': 1,
      'realtimeInput.activityEnd': 1,
      'realtimeInput.audioStreamEnd': 1,
      toolResponse: 0,
    });
    expect(report.serverMessagesByType.setupComplete).toBe(1);
    expect(report.serverMessagesByType['serverContent.turnComplete']).toBe(2);
    expect(report.turns).toBe(2);
    expect(report.connections[0]).toMatchObject({
      ordinal: 0,
      sessionId,
      open: true,
      clientMessages: 6 + audio.length,
    });
    const at = expect.any(Number);
    expect(report.consumed.slice(0, 3)).toEqual([
      { conn: 0, index: 0, type: 'setup', at },
      { conn: 0, index: 1, type: 'clientContent', text: 'hello', at },
      { conn: 0, index: 2, type: 'realtimeInput.activityStart', at },
    ]);
    expect(report.consumed[3]).toEqual({ conn: 0, index: 3, type: 'realtimeInput.audio', bytes: 1280, at });
    expect(report.consumed.map((c) => c.index)).toEqual(report.consumed.map((_, i) => i));
    // Receipt times: in the order received, within this test's lifetime.
    const times = report.consumed.map((c) => c.at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBeGreaterThanOrEqual(startedAt);
    expect(times.at(-1)).toBeLessThanOrEqual(Date.now());
    expect(report.audioBytes).toBe(4480);
    expect(report.audioMs).toBe(140);
    expect(report.history).toEqual([
      { role: 'user', text: 'hello' },
      { role: 'model', text: 'I heard you say "hello".' },
      { role: 'user', text: '[speech 0.14 s]' },
      { role: 'model', text: 'I heard 0.14 s of speech.' },
    ]);
    expect(await scenarioAudio(id)).toEqual(concatBytes(...audio));
    const audioResponse = await fetch(`${emulatorUrl()}/emulator/sessions/${sessionId}/audio`);
    expect(audioResponse.headers.get('Content-Type')).toBe('application/octet-stream');
    expect(await sessionReport(sessionId)).toEqual(await scenarioReport(id));
  });
});
