// Session resumption: sessionResumptionUpdate semantics, resuming with a handle, and transparent replay
// (protocol reference §5).
import { afterEach, describe, expect, it } from 'vitest';
import {
  EmulatorClient,
  MODEL,
  chunks,
  concatBytes,
  modelText,
  resumptionUpdates,
  silence,
  tone,
} from './helpers/emulator-client';
import {
  createScenario,
  reportWhen,
  scenarioAudio,
  scenarioInstruction,
  scenarioReport,
} from './helpers/emulator-control';
import { EmulatorState } from '../src/emulator/state';

afterEach(() => EmulatorClient.closeAll());

const TEXT = { generationConfig: { responseModalities: ['TEXT'] } };

async function ready(extra: Record<string, unknown>): Promise<{ client: EmulatorClient; sessionId: string }> {
  const client = await EmulatorClient.open({ ...TEXT, ...extra });
  const sessionId = (await client.nextMessage()).setupComplete?.sessionId;
  if (!sessionId) throw new Error('no setupComplete');
  return { client, sessionId };
}

const isUpdate = (m: { sessionResumptionUpdate?: unknown }) => m.sessionResumptionUpdate !== undefined;

describe('sessionResumptionUpdate', () => {
  it('sends nothing about resumption unless setup asks for it', async () => {
    const { client } = await ready({});
    client.sendText('hi');
    expect(resumptionUpdates(await client.turn())).toEqual([]);
  });

  it('is resumable with a fresh handle when idle and not resumable while generating; the index is a string', async () => {
    const { client } = await ready({ sessionResumption: { transparent: true } });
    const first = (await client.nextMessage()).sessionResumptionUpdate!;
    expect(first.resumable).toBe(true);
    expect(first.newHandle).not.toBe('');
    expect(first.lastConsumedClientMessageIndex).toBe('0');
    client.sendText('hello');
    const frames = await client.turn();
    const during = frames.findIndex((f) => f.json.sessionResumptionUpdate);
    expect(frames[during]!.json.sessionResumptionUpdate).toEqual({
      newHandle: '',
      resumable: false,
      lastConsumedClientMessageIndex: '0',
    });
    expect(during).toBeLessThan(frames.findIndex((f) => f.json.serverContent?.modelTurn));
    const after = (await client.collectUntil(isUpdate)).at(-1)!.json.sessionResumptionUpdate!;
    expect(after.resumable).toBe(true);
    expect(after.newHandle).not.toBe(first.newHandle);
    expect(after.lastConsumedClientMessageIndex).toBe('1');
  });

  it('omits the index without transparent', async () => {
    const { client } = await ready({ sessionResumption: {} });
    const update = (await client.nextMessage()).sessionResumptionUpdate!;
    expect(Object.keys(update)).toEqual(['newHandle', 'resumable']);
  });

  it('is not resumable while a function call awaits its response', async () => {
    const tools = [{ functionDeclarations: [{ name: 'lookup' }] }];
    const { client } = await ready({ tools, sessionResumption: { transparent: true } });
    await client.nextMessage();
    client.sendText('call lookup');
    const frames = await client.collectUntil((m) => m.serverContent?.generationComplete === true);
    expect(resumptionUpdates(frames).map((u) => u.resumable)).toEqual([false]);
    // Idle audio would normally produce resumable updates; not while the call is pending.
    for (let i = 0; i < 10; i++) client.sendAudio(silence(20));
    const update = (await client.collectUntil(isUpdate)).at(-1)!.json.sessionResumptionUpdate!;
    expect(update).toEqual({ newHandle: '', resumable: false, lastConsumedClientMessageIndex: '0' });
  });

  it('updates every N consumed messages while idle audio streams in', async () => {
    const id = await createScenario({ resumptionUpdateEveryMessages: 3, resumptionUpdateEveryMs: 60_000 });
    const { client } = await ready({
      systemInstruction: scenarioInstruction(id),
      sessionResumption: { transparent: true },
    });
    await client.nextMessage();
    for (let i = 0; i < 6; i++) client.sendAudio(silence(20));
    const indexes: Array<string | undefined> = [];
    while (indexes.length < 2) {
      indexes.push(
        (await client.collectUntil(isUpdate)).at(-1)!.json.sessionResumptionUpdate!
          .lastConsumedClientMessageIndex,
      );
    }
    expect(indexes).toEqual(['3', '6']);
  });

  it('updates after a quiet interval when fewer than N messages arrived', async () => {
    const id = await createScenario({ resumptionUpdateEveryMessages: 1000, resumptionUpdateEveryMs: 50 });
    const { client } = await ready({
      systemInstruction: scenarioInstruction(id),
      sessionResumption: { transparent: true },
    });
    await client.nextMessage();
    client.sendAudio(silence(20));
    client.sendAudio(silence(20));
    const update = (await client.collectUntil(isUpdate)).at(-1)!.json.sessionResumptionUpdate!;
    expect(update.resumable).toBe(true);
    expect(Number(update.lastConsumedClientMessageIndex)).toBeGreaterThanOrEqual(1);
  });
});

describe('resuming', () => {
  it('continues the session on a new connection: same history and scenario', async () => {
    const id = await createScenario();
    const extra = { systemInstruction: scenarioInstruction(id), sessionResumption: { transparent: true } };
    const a = await ready(extra);
    await a.client.nextMessage();
    a.client.sendText('the password is swordfish');
    await a.client.turn();
    const handle = (await a.client.collectUntil(isUpdate)).at(-1)!.json.sessionResumptionUpdate!.newHandle;
    a.client.close();

    // The resumed setup carries no marker: the handle alone decides the session.
    const b = await ready({ sessionResumption: { handle, transparent: true } });
    expect(b.sessionId).not.toBe(a.sessionId);
    const update = (await b.client.nextMessage()).sessionResumptionUpdate!;
    expect(update.lastConsumedClientMessageIndex).toBe('0');
    b.client.sendText('What did I say?');
    expect(modelText(await b.client.turn())).toBe('You said: "the password is swordfish".');
    const report = await scenarioReport(id);
    expect(report.connections.map((c) => [c.ordinal, c.resumedWithHandle])).toEqual([
      [0, false],
      [1, true],
    ]);
    expect(report.sessionCount).toBe(1);
  });

  it('refuses an unknown handle with 1007', async () => {
    const client = await EmulatorClient.open({
      model: MODEL,
      sessionResumption: { handle: 'no-such-handle' },
    });
    expect(await client.waitForClose()).toEqual({
      code: 1007,
      reason: 'Request contains an invalid argument.',
    });
  });

  it('refuses an expired handle with 1007', async () => {
    const id = await createScenario({ handleTtlMs: 1 });
    const a = await ready({ systemInstruction: scenarioInstruction(id), sessionResumption: {} });
    const handle = (await a.client.nextMessage()).sessionResumptionUpdate!.newHandle;
    a.client.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const b = await EmulatorClient.open({ sessionResumption: { handle } });
    expect(await b.waitForClose()).toEqual({ code: 1007, reason: 'Request contains an invalid argument.' });
    const report = await reportWhen(id, (r) => r.connections.length === 2 && !r.connections[1]!.open);
    expect(report.connections[1]).toMatchObject({ resumedWithHandle: true, closeCode: 1007 });
  });

  it('rolls back to the handle, so replaying unacknowledged messages yields each message exactly once', async () => {
    const id = await createScenario({
      resumptionUpdateEveryMessages: 2,
      resumptionUpdateEveryMs: 60_000,
      connections: [{ closeAfterMessages: 5 }],
    });
    const sent = chunks(concatBytes(silence(100), tone(60), silence(80)), 20).map((c, i) => {
      // Distinct bytes per chunk so a duplicate or a gap shows in the comparison.
      const copy = c.slice();
      copy[0] = i + 1;
      return copy;
    });
    const a = await ready({
      systemInstruction: scenarioInstruction(id),
      sessionResumption: { transparent: true },
    });
    for (const chunk of sent) a.client.sendAudio(chunk);
    expect((await a.client.waitForClose()).code).toBe(1011);
    const updates = resumptionUpdates(a.client.frames).filter((u) => u.resumable);
    const last = updates.at(-1)!;
    const acked = Number(last.lastConsumedClientMessageIndex);
    expect(acked).toBe(4);

    const b = await ready({ sessionResumption: { handle: last.newHandle, transparent: true } });
    // Message i (1-based) of the first connection was sent[i - 1].
    for (const chunk of sent.slice(acked)) b.client.sendAudio(chunk);
    await reportWhen(id, (r) => r.connections[1]!.lastConsumedIndex === sent.length - acked);
    expect(await scenarioAudio(id)).toEqual(concatBytes(...sent));
    const report = await scenarioReport(id);
    expect(
      report.consumed.filter((c) => c.type === 'realtimeInput.audio').map((c) => [c.conn, c.index]),
    ).toEqual([...[1, 2, 3, 4].map((i) => [0, i]), ...sent.slice(acked).map((_, i) => [1, i + 1])]);
    expect(report.messagesByType['realtimeInput.audio']).toBe(5 + sent.length - acked);
  });
});

describe('the handle store', () => {
  it('keeps the newest handles when full and forgets the oldest tenth at once', () => {
    const state = new EmulatorState(60_000, () => {}, { handles: 100, scenarios: 500 });
    const session = state.newSession(state.anonymousScenario());
    const issued = Array.from({ length: 100 }, () => state.issueHandle(session));
    expect(issued.every((h) => state.lookupHandle(h) !== undefined)).toBe(true);

    // The 101st issue finds the store full: the oldest ten go, not only one, so the next nine need no sweep.
    const next = Array.from({ length: 10 }, () => state.issueHandle(session));
    const known = (handles: string[]) => handles.filter((h) => state.lookupHandle(h) !== undefined).length;
    expect(known(issued.slice(0, 10))).toBe(0);
    expect(known(issued.slice(10))).toBe(90);
    expect(known(next)).toBe(10);
    // Full again: the next issue forgets the next-oldest ten.
    state.issueHandle(session);
    expect(known(issued.slice(10, 20))).toBe(0);
    expect(known(issued.slice(20))).toBe(80);
  });

  it('forgets expired handles before live ones', async () => {
    const state = new EmulatorState(60_000, () => {}, { handles: 10, scenarios: 500 });
    const short = state.newSession(state.createScenario({ handleTtlMs: 1 }));
    const long = state.newSession(state.anonymousScenario());
    const expiring = Array.from({ length: 5 }, () => state.issueHandle(short));
    const kept = Array.from({ length: 5 }, () => state.issueHandle(long));
    await new Promise((r) => setTimeout(r, 5));
    const fresh = state.issueHandle(long);
    expect(expiring.map((h) => state.lookupHandle(h))).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect([...kept, fresh].every((h) => state.lookupHandle(h)?.expired === false)).toBe(true);
  });

  it('drops the oldest idle scenarios, anonymous first, with their handles, a tenth at once', () => {
    const state = new EmulatorState(60_000, () => {}, { handles: 1000, scenarios: 20 });
    const named = Array.from({ length: 10 }, () => state.createScenario({}));
    const anonymous = Array.from({ length: 10 }, () => state.anonymousScenario());
    const handle = state.issueHandle(state.newSession(named[0]!));
    const kept = state.issueHandle(state.newSession(named[5]!));
    state.createScenario({});
    // 21 > 20: down to 18 — the three oldest anonymous ones go first.
    const present = (list: { id: string }[]) => list.filter((s) => state.getScenario(s.id)).length;
    expect(present(anonymous)).toBe(7);
    expect(present(named)).toBe(10);
    for (let i = 0; i < 9; i++) state.createScenario({});
    // The anonymous ones are gone, then the oldest named ones with their handles; the rest stay.
    expect(present(anonymous)).toBe(0);
    expect(state.getScenario(named[0]!.id)).toBeUndefined();
    expect(state.lookupHandle(handle)).toBeUndefined();
    expect(state.lookupHandle(kept)?.expired).toBe(false);
  });
});
