// Secret rotation without downtime (README "Operating the relay" → Rotating secrets): the relay's token secret,
// the API keys and the Google key, each changed as secrets only (a new `env`), over real sockets.
import { env } from 'cloudflare:workers';
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import worker from '../src/index';
import { resetTokenSources } from '../src/google-auth/token';
import {
  RELAY_ORIGIN,
  bearer,
  createScenario,
  connectRelay,
  scenarioReport,
  setupMessage,
  uniqueConversationId,
} from './helpers/relay';
import { injectTokenFault, newServiceAccount, tokenCounts } from './helpers/token-emulator';
import { TestSocket, type JsonMessage } from './helpers/ws';

const OLD_SECRET = 'the-old-token-secret-of-at-least-32-bytes!';
const NEW_SECRET = 'the-new-token-secret-of-at-least-32-bytes!';

/** The Worker's fetch handler under a given set of secrets (what `wrangler secret put` changes). */
async function call(path: string, init: RequestInit, secrets: Partial<Env>): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${RELAY_ORIGIN}${path}`, init),
    { ...env, ...secrets },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

async function mint(secrets: Partial<Env>): Promise<{ token: string; conversation: string }> {
  const response = await call(
    '/v1/tokens',
    { method: 'POST', headers: bearer('test-api-key'), body: '{}' },
    secrets,
  );
  expect(response.status).toBe(201);
  return response.json();
}

function connectWith(token: string, conversation: string, secrets: Partial<Env>): Promise<Response> {
  return call(
    `/v1/conversations/${conversation}/live?access_token=${token}`,
    { headers: { Upgrade: 'websocket' } },
    secrets,
  );
}

describe('RELAY_TOKEN_SECRET rotation: RELAY_TOKEN_SECRET_PREVIOUS verifies what the old secret signed', () => {
  it('a token minted before the rotation still opens its conversation; new tokens use the new secret', async () => {
    const before = await mint({ RELAY_TOKEN_SECRET: OLD_SECRET });
    const rotated = { RELAY_TOKEN_SECRET: NEW_SECRET, RELAY_TOKEN_SECRET_PREVIOUS: OLD_SECRET };
    const response = await connectWith(before.token, before.conversation, rotated);
    expect(response.status).toBe(101);
    const ws = new TestSocket(response.webSocket!, response);
    ws.send(setupMessage());
    expect(await ws.next()).toHaveProperty('setupComplete');
    ws.close();
    // Minting signs with the new secret only: such a token is refused where only the old one is known.
    const after = await mint(rotated);
    const refused = await connectWith(after.token, after.conversation, { RELAY_TOKEN_SECRET: OLD_SECRET });
    expect(refused.status).toBe(401);
  });

  it('once the previous secret is removed, its tokens are refused (401 token_invalid)', async () => {
    const before = await mint({ RELAY_TOKEN_SECRET: OLD_SECRET });
    const response = await connectWith(before.token, before.conversation, { RELAY_TOKEN_SECRET: NEW_SECRET });
    expect(response.status).toBe(401);
    expect((await response.json<JsonMessage>()).error.status).toBe('token_invalid');
  });
});

describe('RELAY_API_KEYS: keys added and removed by changing the secret only', () => {
  it('a new key works at once and a removed key is refused, with no code change', async () => {
    const post = (key: string, keys: string) =>
      call('/v1/tokens', { method: 'POST', headers: bearer(key), body: '{}' }, { RELAY_API_KEYS: keys });
    expect((await post('new-key', 'test-client=test-api-key')).status).toBe(401);
    const both = 'test-client=test-api-key,partner=new-key';
    expect((await post('new-key', both)).status).toBe(201);
    expect((await post('test-api-key', both)).status).toBe(201);
    // The old key retired: its holder is refused; the new key carries on.
    expect((await post('test-api-key', 'partner=new-key')).status).toBe(401);
    expect((await post('new-key', 'partner=new-key')).status).toBe(201);
  });
});

describe('GOOGLE_SERVICE_ACCOUNT_KEY_NEXT: a second Google key staged before the first is revoked', () => {
  afterEach(() => resetTokenSources());

  async function withKeys(id: string, keys: Partial<Env>): Promise<void> {
    const stub = env.LIVE_SESSION.get(env.LIVE_SESSION.idFromName(id));
    await runInDurableObject(stub, (instance) => {
      (instance as unknown as { env: Env }).env = { ...env, ...keys };
    });
  }

  it('when Google rejects the first key (invalid_grant), the next one is used and the conversation goes on', async () => {
    const [revoked, staged] = [await newServiceAccount(), await newServiceAccount()];
    resetTokenSources();
    // The first key is revoked at Google: every exchange with it fails with invalid_grant.
    await injectTokenFault({
      failNext: 100,
      status: 400,
      error: 'invalid_grant',
      client_email: revoked.clientEmail,
    });
    const id = uniqueConversationId();
    await withKeys(id, {
      GOOGLE_SERVICE_ACCOUNT_KEY: revoked.keyJson,
      GOOGLE_SERVICE_ACCOUNT_KEY_NEXT: staged.keyJson,
    });
    const scenario = await createScenario();
    const ws = await connectRelay(`/v1/conversations/${id}/live`);
    ws.send(setupMessage({ scenario }));
    expect(await ws.next()).toHaveProperty('setupComplete');
    ws.close();
    expect((await tokenCounts(staged.clientEmail)).requests).toBe(1);
    expect((await scenarioReport(scenario)).connections).toHaveLength(1);
  });

  it('while the first key is accepted, the staged one is never used', async () => {
    const [current, staged] = [await newServiceAccount(), await newServiceAccount()];
    resetTokenSources();
    const id = uniqueConversationId();
    await withKeys(id, {
      GOOGLE_SERVICE_ACCOUNT_KEY: current.keyJson,
      GOOGLE_SERVICE_ACCOUNT_KEY_NEXT: staged.keyJson,
    });
    const ws = await connectRelay(`/v1/conversations/${id}/live`);
    ws.send(setupMessage());
    expect(await ws.next()).toHaveProperty('setupComplete');
    ws.close();
    expect((await tokenCounts(current.clientEmail)).requests).toBe(1);
    expect((await tokenCounts(staged.clientEmail)).requests).toBe(0);
  });

  it('without a staged key, a rejected key still closes 4002', async () => {
    const revoked = await newServiceAccount();
    resetTokenSources();
    await injectTokenFault({
      failNext: 1,
      status: 400,
      error: 'invalid_grant',
      client_email: revoked.clientEmail,
    });
    const id = uniqueConversationId();
    await withKeys(id, { GOOGLE_SERVICE_ACCOUNT_KEY: revoked.keyJson });
    const ws = await connectRelay(`/v1/conversations/${id}/live`);
    ws.send(setupMessage());
    expect((await ws.closed()).code).toBe(4002);
  });
});
