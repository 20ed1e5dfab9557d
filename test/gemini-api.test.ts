// The Gemini API surface of the relay through its real fetch handler and sockets, to the emulator: the
// Gemini-dialect Live paths with ?key=, and ephemeral tokens as Google's SDK creates and uses them.
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { TOKEN_ISSUER } from '../src/client-auth';
import {
  API_KEY,
  bearer,
  connectRelay,
  isTurnComplete,
  mintToken,
  relayFetch,
  tryConnectRelay,
  turnText,
} from './helpers/relay';
import type { TestSocket } from './helpers/ws';

const PLAIN = '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';
const CONSTRAINED =
  '//ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained';
const TOKEN_SECRET = new TextEncoder().encode('test-token-secret-that-is-at-least-32-bytes-long');

/** What `ai.authTokens.create({config})` sends (its converters' output), with the key as the SDK sends it. */
async function createAuthToken(
  body: Record<string, unknown>,
  headers: Record<string, string> = { 'x-goog-api-key': API_KEY },
) {
  return relayFetch('/v1alpha/auth_tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function authToken(body: Record<string, unknown> = {}): Promise<string> {
  const response = await createAuthToken(body);
  expect(response.status).toBe(200);
  const { name } = await response.json<{ name: string }>();
  expect(name).toMatch(/^auth_tokens\//);
  return name;
}

async function refusedWith(result: TestSocket | Response, status: number, code: string) {
  expect(result).toBeInstanceOf(Response);
  expect((result as Response).status).toBe(status);
  expect((await (result as Response).json<{ error: { status: string } }>()).error.status).toBe(code);
}

const geminiSetup = (extra: Record<string, unknown> = {}) => ({
  setup: {
    model: 'models/gemini-live-2.5-flash',
    generationConfig: { responseModalities: ['TEXT'] },
    ...extra,
  },
});

/** setup, then one text turn; returns the turn's messages. */
async function converse(
  ws: TestSocket,
  setup: Record<string, unknown> = geminiSetup(),
  text = 'hello gemini dialect',
) {
  ws.send(setup);
  expect(await ws.next()).toEqual({ setupComplete: {} });
  ws.send({ realtimeInput: { text } });
  return ws.until(isTurnComplete);
}

describe('Gemini-dialect Live paths', () => {
  it('?key=<API key> holds a conversation in the Gemini dialect (setupComplete {}, usage responseTokenCount)', async () => {
    const ws = await connectRelay(`${PLAIN}?key=${API_KEY}`, {});
    const turn = await converse(ws);
    expect(turnText(turn)).toBe('I heard you say "hello gemini dialect".');
    const last = turn.at(-1)!;
    expect(last.usageMetadata.responseTokenCount).toBeGreaterThan(0);
    expect(last.usageMetadata).not.toHaveProperty('candidatesTokenCount');
    for (const m of turn) expect(m.serverContent?.modelTurn?.role).toBeUndefined();
    ws.close();
  });

  it('serves //ws/ and v1alpha, x-goog-api-key, and ?key=<client token>', async () => {
    const doubled = await connectRelay(`/${PLAIN.replace('v1beta', 'v1alpha')}`, {
      'x-goog-api-key': API_KEY,
    });
    await converse(doubled);
    doubled.close();
    const { token, conversation } = await mintToken();
    const byToken = await connectRelay(`${PLAIN}?key=${token}`, {});
    expect(byToken.response.headers.get('X-Conversation-Id')).toBe(conversation);
    await converse(byToken);
    byToken.close();
  });

  it('refuses missing, wrong and ephemeral credentials with 401 before the upgrade', async () => {
    await refusedWith(await tryConnectRelay(PLAIN, {}), 401, 'credentials_missing');
    await refusedWith(await tryConnectRelay(`${PLAIN}?key=nope`, {}), 401, 'invalid_api_key');
    const name = await authToken();
    await refusedWith(await tryConnectRelay(`${PLAIN}?key=${name}`, {}), 401, 'token_invalid');
    await refusedWith(
      await tryConnectRelay(`${CONSTRAINED}?access_token=${API_KEY}`, {}),
      401,
      'token_invalid',
    );
  });

  it('closes 1007 naming a Gemini-only field Vertex cannot take, before any upstream opens', async () => {
    const ws = await connectRelay(`${PLAIN}?key=${API_KEY}`, {});
    ws.send(geminiSetup({ tools: [{ fileSearch: {} }] }));
    const closed = await ws.closed();
    expect(closed.code).toBe(1007);
    expect(closed.reason).toContain('setup.tools[0].fileSearch');
  });
});

describe('ephemeral tokens (ai.authTokens.create)', () => {
  it('POST /v1alpha/auth_tokens needs a relay API key; client tokens and bad bodies are refused', async () => {
    expect((await createAuthToken({}, {})).status).toBe(401);
    const { token } = await mintToken();
    expect((await createAuthToken({}, { 'x-goog-api-key': token })).status).toBe(401);
    expect((await createAuthToken({}, bearer(API_KEY))).status).toBe(200);
    const past = await createAuthToken({ expireTime: '2001-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    const tooLong = await createAuthToken({
      expireTime: new Date(Date.now() + 21 * 3_600_000).toISOString(),
    });
    expect(tooLong.status).toBe(400);
    expect((await createAuthToken({ uses: -1 })).status).toBe(400);
    expect((await createAuthToken({ ttl: 5 })).status).toBe(400);
    const v1beta = await relayFetch('/v1beta/auth_tokens', {
      method: 'POST',
      headers: { 'x-goog-api-key': API_KEY },
      body: '{}',
    });
    const minted = await v1beta.json<{
      name: string;
      uses: number;
      expireTime: string;
      newSessionExpireTime: string;
    }>();
    expect(minted.uses).toBe(1);
    // Google's defaults: 30 minutes, and 60 s to start a session.
    expect(Date.parse(minted.expireTime) - Date.now()).toBeGreaterThan(29 * 60_000);
    expect(Date.parse(minted.newSessionExpireTime) - Date.now()).toBeLessThanOrEqual(60_000);
  });

  it('uses: 1 — the first connection holds a session, a resume does not count, a second new session is refused', async () => {
    const name = await authToken({ uses: 1 });
    const first = await connectRelay(`${CONSTRAINED}?access_token=${name}`, {});
    const conversation = first.response.headers.get('X-Conversation-Id');
    await converse(first, geminiSetup({ sessionResumption: {} }));
    const update = await first.until((m) => m.sessionResumptionUpdate?.resumable === true);
    const handle = update.at(-1)!.sessionResumptionUpdate.newHandle as string;
    first.close();

    // A resume: same token, the handle in setup (Google: "does not count as a use").
    const resumed = await connectRelay(CONSTRAINED, { Authorization: `Token ${name}` });
    expect(resumed.response.headers.get('X-Conversation-Id')).toBe(conversation);
    const turn = await converse(resumed, geminiSetup({ sessionResumption: { handle } }), 'what did I say');
    expect(turnText(turn)).toContain('hello gemini dialect');
    resumed.close();

    // A new session beyond `uses`.
    const second = await connectRelay(`${CONSTRAINED}?access_token=${name}`, {});
    second.send(geminiSetup());
    const closed = await second.closed();
    expect(closed.code).toBe(1008);
    expect(closed.reason).toContain('no uses left');
  });

  it('uses: 2 opens two separate conversations; uses: 0 is unlimited', async () => {
    const two = await authToken({ uses: 2 });
    const ids = new Set<string | null>();
    for (let i = 0; i < 2; i++) {
      const ws = await connectRelay(`${CONSTRAINED}?access_token=${two}`, {});
      ids.add(ws.response.headers.get('X-Conversation-Id'));
      await converse(ws);
      ws.close();
    }
    expect(ids.size).toBe(2);
    const unlimited = await authToken({ uses: 0 });
    for (let i = 0; i < 3; i++) {
      const ws = await connectRelay(`${CONSTRAINED}?access_token=${unlimited}`, {});
      await converse(ws);
      ws.close();
    }
  });

  it('refuses expired tokens, and new sessions after newSessionExpireTime, with 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>, exp: number) =>
      new SignJWT({ uses: 1, ...claims })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(TOKEN_ISSUER)
        .setAudience('gemini-live-relay:ephemeral')
        .setSubject('test-client')
        .setIssuedAt(now - 120)
        .setExpirationTime(exp)
        .setJti(crypto.randomUUID())
        .sign(TOKEN_SECRET);
    const expired = await sign({ nse: now - 100 }, now - 10);
    await refusedWith(
      await tryConnectRelay(`${CONSTRAINED}?access_token=auth_tokens/${expired}`, {}),
      401,
      'token_expired',
    );
    const late = await sign({ nse: now - 10 }, now + 600);
    await refusedWith(
      await tryConnectRelay(`${CONSTRAINED}?access_token=auth_tokens/${late}`, {}),
      401,
      'token_new_sessions_ended',
    );
    // A relay client token is not an ephemeral token, even under the prefix.
    const { token } = await mintToken();
    await refusedWith(
      await tryConnectRelay(`${CONSTRAINED}?access_token=auth_tokens/${token}`, {}),
      401,
      'token_invalid',
    );
  });

  it('liveConnectConstraints lock the model and the whole setup; lockAdditionalFields locks only those fields', async () => {
    // ai.authTokens.create({config: {liveConnectConstraints: {model, config: {responseModalities, temperature}}}})
    const setup: Record<string, any> = {
      model: 'models/gemini-live-2.5-flash',
      generationConfig: { responseModalities: ['TEXT'], temperature: 0.2 },
    };
    const all = await authToken({ uses: 0, bidiGenerateContentSetup: setup });
    const refusal = async (name: string, message: Record<string, unknown>) => {
      const ws = await connectRelay(`${CONSTRAINED}?access_token=${name}`, {});
      ws.send(message);
      return ws.closed();
    };
    expect(
      await refusal(all, { setup: { ...setup, model: 'models/gemini-live-2.5-flash-native-audio' } }),
    ).toMatchObject({
      code: 1008,
      reason: expect.stringContaining('does not allow model gemini-live-2.5-flash-native-audio'),
    });
    expect(
      await refusal(all, {
        setup: { ...setup, generationConfig: { ...setup.generationConfig, temperature: 0.9 } },
      }),
    ).toMatchObject({ code: 1008, reason: expect.stringContaining('setup.generationConfig.temperature') });
    expect(await refusal(all, { setup: { ...setup, outputAudioTranscription: {} } })).toMatchObject({
      code: 1008,
      reason: expect.stringContaining('setup.outputAudioTranscription'),
    });
    // The same setup, or only the model (the rest is filled in from the token), is accepted.
    const same = await connectRelay(`${CONSTRAINED}?access_token=${all}`, {});
    await converse(same, { setup });
    same.close();
    const filled = await connectRelay(`${CONSTRAINED}?access_token=${all}`, {});
    await converse(filled, { setup: { model: setup.model } });
    filled.close();

    // lockAdditionalFields: ['temperature'] → fieldMask "generationConfig.responseModalities,generationConfig.temperature"
    const masked = await authToken({
      uses: 0,
      bidiGenerateContentSetup: setup,
      fieldMask: 'generationConfig.temperature',
    });
    const open = await connectRelay(`${CONSTRAINED}?access_token=${masked}`, {});
    await converse(open, { setup: { ...setup, outputAudioTranscription: {} } });
    open.close();
    expect(
      await refusal(masked, {
        setup: { ...setup, generationConfig: { ...setup.generationConfig, temperature: 1 } },
      }),
    ).toMatchObject({ code: 1008 });
  });

  it('refuses to mint a token locking a Gemini-only field, naming it', async () => {
    const response = await createAuthToken({
      bidiGenerateContentSetup: {
        model: 'models/gemini-live-2.5-flash',
        generationConfig: { enableEnhancedCivicAnswers: true },
      },
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('enableEnhancedCivicAnswers');
  });
});
