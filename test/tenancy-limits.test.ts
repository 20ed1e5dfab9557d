// Limits per connection and per tenant (README "Operating the relay" → Limits), each over real sockets with the
// refusal a client sees. vitest.config.mts gives `limits-client` at most 2 concurrent conversations
// (SUBJECT_LIMITS); per-conversation timeouts are shortened on that conversation's object only.
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bearer,
  connectRelay,
  createScenario,
  eventually,
  isTurnComplete,
  relayFetch,
  scenarioReport,
  setupMessage,
  tryConnectRelay,
  uniqueConversationId,
} from './helpers/relay';
import type { TestSocket } from './helpers/ws';

const LIMITS_KEY = bearer('limits-api-key');
const live = (id: string) => `/v1/conversations/${id}/live`;
const opened: TestSocket[] = [];

afterEach(async () => {
  for (const ws of opened.splice(0)) ws.close();
  // Every conversation of limits-client has released its lease before the next test counts them.
  await eventually(async () => (await activeConversations()) === 0, 10_000, 'limits-client idle');
});

async function activeConversations(): Promise<number> {
  const response = await relayFetch('/v1/usage', { headers: LIMITS_KEY });
  return (await response.json<{ activeConversations: number }>()).activeConversations;
}

/** Points one conversation's object at shorter limits before anyone connects to it. */
async function withVars(id: string, vars: Partial<Record<keyof Env, string>>): Promise<void> {
  const stub = env.LIVE_SESSION.get(env.LIVE_SESSION.idFromName(id));
  await runInDurableObject(stub, (instance) => {
    (instance as unknown as { env: Env }).env = { ...env, ...vars } as Env;
  });
}

async function open(id: string, headers = LIMITS_KEY): Promise<TestSocket> {
  const ws = await connectRelay(live(id), headers);
  opened.push(ws);
  return ws;
}

async function openLive(id: string, scenario?: string): Promise<TestSocket> {
  const ws = await open(id);
  ws.send(setupMessage({ scenario }));
  expect(await ws.next()).toHaveProperty('setupComplete');
  return ws;
}

async function noUpstreamLeft(scenario: string): Promise<void> {
  await eventually(
    async () => (await scenarioReport(scenario)).connections.every((c: { open: boolean }) => !c.open),
    6000,
    'every upstream connection closed',
  );
}

describe('time to setup (SETUP_TIMEOUT_MS) → close 4005 setup_timeout', () => {
  it('a client that never sends setup is closed, and its slot is given back', async () => {
    const id = uniqueConversationId();
    await withVars(id, { SETUP_TIMEOUT_MS: '300' });
    const ws = await open(id);
    expect(await ws.closed()).toEqual({
      code: 4005,
      reason: 'setup_timeout: send setup within 300 ms of connecting',
    });
    await eventually(async () => (await activeConversations()) === 0, 5000, 'lease released');
  });

  it('a client that sends setup in time is not closed by it', async () => {
    const id = uniqueConversationId();
    await withVars(id, { SETUP_TIMEOUT_MS: '300' });
    const scenario = await createScenario();
    const ws = await openLive(id, scenario);
    // Past the deadline, with a turn in between: still open.
    ws.send({ realtimeInput: { text: 'still here' } });
    await ws.until(isTurnComplete);
    await new Promise((r) => setTimeout(r, 500));
    expect(ws.closeEvent).toBeNull();
  });

  it('a client that replaces one still waiting for setup gets its own deadline, not the old one’s', async () => {
    const id = uniqueConversationId();
    await withVars(id, { SETUP_TIMEOUT_MS: '400' });
    const first = await open(id);
    await new Promise((r) => setTimeout(r, 250));
    const second = await open(id);
    expect((await first.closed()).code).toBe(4001);
    // Past the first client's deadline, inside the second's: the second is not closed by the first's timer.
    await new Promise((r) => setTimeout(r, 250));
    expect(second.closeEvent).toBeNull();
    expect(await second.closed()).toEqual({
      code: 4005,
      reason: 'setup_timeout: send setup within 400 ms of connecting',
    });
  });
});

describe('idle timeout (CLIENT_IDLE_TIMEOUT_MS) → close 4006 idle_timeout, and the upstream ends', () => {
  it('a client silent after setup is closed and Google’s session is closed with it', async () => {
    const id = uniqueConversationId();
    await withVars(id, { CLIENT_IDLE_TIMEOUT_MS: '600' });
    const scenario = await createScenario();
    const ws = await openLive(id, scenario);
    expect(await ws.closed()).toEqual({
      code: 4006,
      reason: 'idle_timeout: no client message for 600 ms; the conversation can be resumed',
    });
    await noUpstreamLeft(scenario);
  });

  it('a client that keeps sending is never idle', async () => {
    const id = uniqueConversationId();
    await withVars(id, { CLIENT_IDLE_TIMEOUT_MS: '1500' });
    const scenario = await createScenario();
    const ws = await openLive(id, scenario);
    // Six turns with pauses: well past the idle timeout in all, never silent for it.
    for (let i = 0; i < 6; i++) {
      ws.send({ realtimeInput: { text: `turn ${i}` } });
      await ws.until(isTurnComplete);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(ws.closeEvent).toBeNull();
  });
});

describe('concurrent conversations per subject, across objects → 429 too_many_conversations', () => {
  it('the third conversation is refused before the upgrade; a rejoin of a live one is not', async () => {
    const [a, b, c] = [uniqueConversationId(), uniqueConversationId(), uniqueConversationId()];
    await openLive(a);
    const wsB = await openLive(b);
    const refused = await tryConnectRelay(live(c), LIMITS_KEY);
    if (!(refused instanceof Response)) throw new Error('the third conversation was upgraded');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('Retry-After')).toMatch(/^\d+$/);
    expect((await refused.json<{ error: unknown }>()).error).toEqual({
      code: 429,
      status: 'too_many_conversations',
      message:
        'this key has 2 conversations active and may have 2 (MAX_CONVERSATIONS_PER_SUBJECT); end one or retry later',
    });
    expect(await activeConversations()).toBe(2);
    // The same conversation again (a network change): it holds its slot already.
    const again = await open(a);
    again.send(setupMessage());
    expect(await again.next()).toHaveProperty('setupComplete');
    // Ending one frees a slot for the third.
    wsB.close();
    await eventually(async () => (await activeConversations()) === 1, 5000, 'b released');
    await openLive(c);
  });

  it('a conversation object that dies without releasing loses its slot when its lease lapses', async () => {
    const [a, b, c] = [uniqueConversationId(), uniqueConversationId(), uniqueConversationId()];
    await withVars(a, { CONVERSATION_LEASE_MS: '600', SETUP_TIMEOUT_MS: '300' });
    await openLive(a);
    await openLive(b);
    expect(await tryConnectRelay(live(c), LIMITS_KEY)).toBeInstanceOf(Response);
    // A restart (deploy, crash, eviction with a live socket) is an abort: nothing runs its teardown.
    const stub = env.LIVE_SESSION.get(env.LIVE_SESSION.idFromName(a));
    await runInDurableObject(stub, (_instance, state) => state.abort('test: crash')).catch(() => undefined);
    let admitted: TestSocket | null = null;
    await eventually(
      async () => {
        const attempt = await tryConnectRelay(live(c), LIMITS_KEY);
        if (attempt instanceof Response) return false;
        admitted = attempt;
        return true;
      },
      10_000,
      'c admitted after a’s lease lapsed',
    );
    opened.push(admitted!);
    admitted!.send(setupMessage());
    expect(await admitted!.next()).toHaveProperty('setupComplete');
  });

  it('other subjects are counted apart', async () => {
    await openLive(uniqueConversationId());
    await openLive(uniqueConversationId());
    const other = await open(uniqueConversationId(), bearer('test-api-key'));
    other.send(setupMessage());
    expect(await other.next()).toHaveProperty('setupComplete');
  });
});
