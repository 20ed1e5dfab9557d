// Service-account auth against the emulator's real token endpoint (per-test accounts keep the emulator's
// counters and faults private to each test); a custom fetch only where the emulator cannot fail that way.
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  GoogleTokenSource,
  getTokenSource,
  parseServiceAccountKey,
  resetTokenSources,
  UpstreamAuthError,
} from '../src/google-auth/token';
import type { TokenSourceOptions } from '../src/google-auth/token';
import {
  emulatorUrl,
  injectTokenFault,
  newServiceAccount,
  tokenCounts,
  verifyBearer,
} from './helpers/token-emulator';
import type { TestAccount } from './helpers/token-emulator';

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const FAST_RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 4 };

function source(keyJson: string, opts: TokenSourceOptions = {}): GoogleTokenSource {
  return new GoogleTokenSource(parseServiceAccountKey(keyJson), { retry: FAST_RETRY, ...opts });
}

/** A fetch that records request bodies and passes them on to the real emulator. */
function recordingFetch() {
  const bodies: string[] = [];
  const fetcher = async (input: string, init: RequestInit) => {
    // The token request's body is a form string (src/google-auth/token.ts); anything else is a test failure.
    if (typeof init.body !== 'string') throw new Error(`expected a string body, got ${typeof init.body}`);
    bodies.push(init.body);
    return fetch(input, init);
  };
  return { bodies, fetch: fetcher };
}

async function authError(promise: Promise<unknown>): Promise<UpstreamAuthError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof UpstreamAuthError))
    throw new Error(`expected an UpstreamAuthError, got ${String(err)}`);
  return err;
}

/** No secret in an error: not the key, its id or email, an assertion or a token. */
function expectSecretFree(err: UpstreamAuthError, account: TestAccount, secrets: string[] = []) {
  expect(new TextEncoder().encode(err.closeReason).length).toBeLessThanOrEqual(123);
  const keyLines = account.privateKeyPem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));
  for (const text of [err.message, err.closeReason, JSON.stringify(err)]) {
    for (const secret of [...keyLines, account.privateKeyId, account.clientEmail, ...secrets]) {
      expect(text).not.toContain(secret);
    }
  }
}

describe('JWT-bearer exchange against the emulator', () => {
  it('signs an assertion the emulator verifies and returns its access token', async () => {
    const sa = inject('serviceAccount');
    const recorder = recordingFetch();
    const before = Date.now();
    const token = await source(sa.keyJson, { fetch: recorder.fetch }).getToken();
    expect(token.accessToken).toMatch(/^ya29\.emu\./);
    expect(token.expiresAt).toBeGreaterThanOrEqual(before + 3599_000);
    expect(await verifyBearer(`Bearer ${token.accessToken}`)).toMatchObject({ accepted: true });

    const form = new URLSearchParams(recorder.bodies[0]);
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const assertion = form.get('assertion') ?? '';
    expect(decodeProtectedHeader(assertion)).toEqual({ alg: 'RS256', typ: 'JWT', kid: sa.privateKeyId });
    const claims = decodeJwt(assertion);
    expect(claims).toMatchObject({ iss: sa.clientEmail, scope: SCOPE, aud: emulatorUrl('/token') });
    expect(claims).not.toHaveProperty('sub');
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(3600);
  });

  it('reuses the cached token without asking again', async () => {
    const account = await newServiceAccount();
    const tokens = source(account.keyJson);
    const first = await tokens.getToken();
    const second = await tokens.getToken();
    expect(second.accessToken).toBe(first.accessToken);
    expect(tokens.stats).toMatchObject({ requests: 1, cacheHits: 1 });
    expect((await tokenCounts(account.clientEmail)).requests).toBe(1);
  });

  it('fetches a fresh token once the cached one is within 5 minutes of expiry', async () => {
    const account = await newServiceAccount();
    let now = Date.now();
    const tokens = source(account.keyJson, { now: () => now });
    const first = await tokens.getToken();
    const refreshAt = first.expiresAt - 5 * 60_000;
    now = refreshAt - 1;
    expect((await tokens.getToken()).accessToken).toBe(first.accessToken);
    now = refreshAt;
    const second = await tokens.getToken();
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.expiresAt).toBe(refreshAt + 3599_000);
    expect((await tokenCounts(account.clientEmail)).issued).toBe(2);
  });

  it('refreshes at half the lifetime when a token lives less than twice the margin', async () => {
    const account = await newServiceAccount({ expiresIn: 120 });
    let now = Date.now();
    const start = now;
    const tokens = source(account.keyJson, { now: () => now });
    const first = await tokens.getToken();
    now = start + 59_000;
    expect((await tokens.getToken()).accessToken).toBe(first.accessToken);
    now = start + 61_000;
    expect((await tokens.getToken()).accessToken).not.toBe(first.accessToken);
    expect((await tokenCounts(account.clientEmail)).requests).toBe(2);
  });

  it('makes one token request for 100 concurrent callers', async () => {
    const account = await newServiceAccount();
    const tokens = source(account.keyJson);
    const results = await Promise.all(Array.from({ length: 100 }, () => tokens.getToken()));
    expect(new Set(results.map((t) => t.accessToken)).size).toBe(1);
    expect(await tokenCounts(account.clientEmail)).toEqual({ requests: 1, issued: 1, failures: 0 });
    expect(tokens.stats).toMatchObject({ requests: 1, coalesced: 99 });
  });

  it('retries 503s with backoff, then succeeds', async () => {
    const account = await newServiceAccount();
    await injectTokenFault({ failNext: 2, status: 503, client_email: account.clientEmail });
    const tokens = source(account.keyJson);
    const token = await tokens.getToken();
    expect(await verifyBearer(`Bearer ${token.accessToken}`)).toMatchObject({ accepted: true });
    expect(await tokenCounts(account.clientEmail)).toEqual({ requests: 3, issued: 1, failures: 2 });
    expect(tokens.stats).toMatchObject({ requests: 3, failures: 0 });
  });

  it('gives up after the configured attempts with kind "unavailable"', async () => {
    const account = await newServiceAccount();
    await injectTokenFault({ failNext: 5, status: 500, client_email: account.clientEmail });
    const tokens = source(account.keyJson);
    const err = await authError(tokens.getToken());
    expect(err).toMatchObject({ kind: 'unavailable', code: 'internal_failure', status: 500 });
    expect(err.closeReason).toBe('google auth: token endpoint unavailable (internal_failure); retry later');
    expect((await tokenCounts(account.clientEmail)).requests).toBe(3);
    expect(tokens.stats.failures).toBe(1);
    expectSecretFree(err, account);
  });

  it('serves the unexpired cached token when a refresh finds the endpoint down, but not a rejected one', async () => {
    const account = await newServiceAccount();
    let now = Date.now();
    const tokens = source(account.keyJson, { now: () => now });
    const first = await tokens.getToken();
    now = first.expiresAt - 2 * 60_000;
    await injectTokenFault({ failNext: 3, status: 503, client_email: account.clientEmail });
    expect((await tokens.getToken()).accessToken).toBe(first.accessToken);
    expect(tokens.stats).toMatchObject({ failures: 1, staleServed: 1 });
    now = first.expiresAt - 30_000;
    await injectTokenFault({ failNext: 3, status: 503, client_email: account.clientEmail });
    expect(await authError(tokens.getToken())).toMatchObject({ kind: 'unavailable', status: 503 });
    now = first.expiresAt - 2 * 60_000;
    await injectTokenFault({
      failNext: 1,
      status: 400,
      error: 'invalid_grant',
      client_email: account.clientEmail,
    });
    expect(await authError(tokens.getToken())).toMatchObject({ kind: 'rejected', code: 'invalid_grant' });
  });

  it('fails fast on invalid_grant with an actionable close reason', async () => {
    const account = await newServiceAccount();
    await injectTokenFault({
      failNext: 1,
      status: 400,
      error: 'invalid_grant',
      client_email: account.clientEmail,
    });
    const recorder = recordingFetch();
    const err = await authError(source(account.keyJson, { fetch: recorder.fetch }).getToken());
    expect(err).toMatchObject({ kind: 'rejected', code: 'invalid_grant', status: 400 });
    expect(err.closeReason).toBe(
      'google auth: invalid_grant (service account key rejected; check GOOGLE_SERVICE_ACCOUNT_KEY)',
    );
    expect((await tokenCounts(account.clientEmail)).requests).toBe(1);
    expectSecretFree(err, account, [new URLSearchParams(recorder.bodies[0]).get('assertion') ?? '']);
  });

  it('fails fast when the emulator rejects a key it does not know', async () => {
    const registered = await newServiceAccount();
    // Same account and key id, different private key: what a revoked or mistyped key looks like to Google.
    const impostor = await newServiceAccount({ register: false });
    const keyJson = JSON.stringify({
      ...(JSON.parse(registered.keyJson) as object),
      private_key: impostor.privateKeyPem,
    });
    const err = await authError(source(keyJson).getToken());
    expect(err).toMatchObject({ kind: 'rejected', code: 'invalid_grant' });
    expect(err.message).toContain('Invalid JWT Signature.');
    expect((await tokenCounts(registered.clientEmail)).requests).toBe(1);
    expectSecretFree(err, registered);
    expectSecretFree(err, impostor);
  });

  it('fails fast on other 4xx (401 invalid_client)', async () => {
    const account = await newServiceAccount();
    await injectTokenFault({ failNext: 3, status: 401, client_email: account.clientEmail });
    const err = await authError(source(account.keyJson).getToken());
    expect(err).toMatchObject({ kind: 'rejected', code: 'invalid_client', status: 401 });
    expect(err.closeReason).toContain('invalid_client');
    expect((await tokenCounts(account.clientEmail)).requests).toBe(1);
  });

  it('tries again on the next getToken() after a failure', async () => {
    const account = await newServiceAccount();
    await injectTokenFault({ failNext: 1, status: 400, client_email: account.clientEmail });
    const tokens = source(account.keyJson);
    await authError(tokens.getToken());
    expect((await tokens.getToken()).accessToken).toMatch(/^ya29\.emu\./);
  });
});

describe('conditions the emulator cannot produce', () => {
  it('retries network errors, then succeeds', async () => {
    const account = await newServiceAccount();
    let calls = 0;
    const flaky = async (input: string, init: RequestInit) => {
      calls += 1;
      if (calls <= 2) throw new TypeError('Network connection lost.');
      return fetch(input, init);
    };
    const token = await source(account.keyJson, { fetch: flaky }).getToken();
    expect(token.accessToken).toMatch(/^ya29\.emu\./);
    expect(calls).toBe(3);
    expect((await tokenCounts(account.clientEmail)).requests).toBe(1);
  });

  it('reports persistent network errors as "unavailable"', async () => {
    const account = await newServiceAccount({ register: false });
    let calls = 0;
    const down = async () => {
      calls += 1;
      throw new TypeError('Network connection lost.');
    };
    const err = await authError(source(account.keyJson, { fetch: down }).getToken());
    expect(err).toMatchObject({ kind: 'unavailable', code: 'network_error' });
    expect(calls).toBe(3);
    expectSecretFree(err, account);
  });

  it('times out a request that never answers, even if fetch ignores the abort', async () => {
    const account = await newServiceAccount({ register: false });
    let calls = 0;
    const hang = () => {
      calls += 1;
      return new Promise<Response>(() => {});
    };
    const tokens = source(account.keyJson, { fetch: hang, requestTimeoutMs: 20, retry: { attempts: 2 } });
    expect(await authError(tokens.getToken())).toMatchObject({ kind: 'unavailable', code: 'timeout' });
    expect(calls).toBe(2);
  });

  it('treats a 200 without a token as "unavailable", without retrying', async () => {
    const account = await newServiceAccount({ register: false });
    let calls = 0;
    const broken = async () => {
      calls += 1;
      return new Response('<html>captive portal</html>', { status: 200 });
    };
    expect(await authError(source(account.keyJson, { fetch: broken }).getToken())).toMatchObject({
      kind: 'unavailable',
      code: 'bad_response',
    });
    expect(calls).toBe(1);
  });
});

describe('self-signed JWT mode', () => {
  it('mints a JWT the emulator accepts as a bearer, without a token request', async () => {
    const account = await newServiceAccount();
    const tokens = source(account.keyJson, { mode: 'self-signed-jwt' });
    const { accessToken, expiresAt } = await tokens.getToken();
    expect(decodeProtectedHeader(accessToken)).toEqual({
      alg: 'RS256',
      typ: 'JWT',
      kid: account.privateKeyId,
    });
    const claims = decodeJwt(accessToken);
    expect(claims).toMatchObject({ iss: account.clientEmail, sub: account.clientEmail, scope: SCOPE });
    expect(claims).not.toHaveProperty('aud');
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(expiresAt).toBeGreaterThan(Date.now() + 3000_000);
    expect(await verifyBearer(`Bearer ${accessToken}`)).toMatchObject({ accepted: true });
    expect((await tokens.getToken()).accessToken).toBe(accessToken);
    expect((await tokenCounts(account.clientEmail)).requests).toBe(0);
  });

  it('produces a JWT the emulator rejects when the key is not registered', async () => {
    const account = await newServiceAccount({ register: false });
    const { accessToken } = await source(account.keyJson, { mode: 'self-signed-jwt' }).getToken();
    expect(await verifyBearer(`Bearer ${accessToken}`)).toMatchObject({ accepted: false });
  });
});

describe('getTokenSource', () => {
  afterEach(() => resetTokenSources());

  it('returns null without a key', () => {
    expect(getTokenSource({})).toBeNull();
    expect(getTokenSource({ GOOGLE_SERVICE_ACCOUNT_KEY: '  ' })).toBeNull();
  });

  it('shares one source per key and mode across env objects, until reset', async () => {
    const account = await newServiceAccount();
    const a = getTokenSource({ GOOGLE_SERVICE_ACCOUNT_KEY: account.keyJson });
    const b = getTokenSource({
      GOOGLE_SERVICE_ACCOUNT_KEY: btoa(account.keyJson),
      GOOGLE_AUTH_MODE: 'exchange',
    });
    expect(a).not.toBeNull();
    expect(b).toBe(a);
    const selfSigned = getTokenSource({
      GOOGLE_SERVICE_ACCOUNT_KEY: account.keyJson,
      GOOGLE_AUTH_MODE: 'self-signed-jwt',
    });
    expect(selfSigned).not.toBe(a);
    expect(selfSigned?.mode).toBe('self-signed-jwt');
    const other = await newServiceAccount({ register: false });
    expect(getTokenSource({ GOOGLE_SERVICE_ACCOUNT_KEY: other.keyJson })).not.toBe(a);
    await a!.getToken();
    expect(
      (await getTokenSource({ GOOGLE_SERVICE_ACCOUNT_KEY: account.keyJson })!.getToken()).accessToken,
    ).toBe((await a!.getToken()).accessToken);
    resetTokenSources();
    expect(getTokenSource({ GOOGLE_SERVICE_ACCOUNT_KEY: account.keyJson })).not.toBe(a);
  });

  it('rejects an unknown GOOGLE_AUTH_MODE', async () => {
    const account = await newServiceAccount({ register: false });
    let err: unknown;
    try {
      getTokenSource({ GOOGLE_SERVICE_ACCOUNT_KEY: account.keyJson, GOOGLE_AUTH_MODE: 'selfsigned' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UpstreamAuthError);
    expect(err).toMatchObject({ kind: 'config', code: 'auth_mode_invalid' });
  });
});

describe('parseServiceAccountKey', () => {
  function configError(raw: string): UpstreamAuthError {
    try {
      parseServiceAccountKey(raw);
    } catch (err) {
      if (err instanceof UpstreamAuthError) return err;
      throw err;
    }
    throw new Error('expected parseServiceAccountKey to throw');
  }

  const keyObject = (a: TestAccount) => JSON.parse(a.keyJson) as Record<string, unknown>;

  it('accepts the raw JSON, base64 of it, and a private_key with literal \\n', async () => {
    const account = await newServiceAccount({ register: false });
    const literal = JSON.stringify({
      ...keyObject(account),
      private_key: account.privateKeyPem.replaceAll('\n', '\\n'),
    });
    expect(literal).toContain('\\\\n');
    for (const raw of [
      account.keyJson,
      btoa(account.keyJson),
      `\n${account.keyJson}\n`,
      literal,
      btoa(literal),
    ]) {
      const key = parseServiceAccountKey(raw);
      expect(key).toMatchObject({
        clientEmail: account.clientEmail,
        privateKeyId: account.privateKeyId,
        tokenUri: emulatorUrl('/token'),
      });
      expect(key.privateKey).toBe(account.privateKeyPem);
    }
  });

  it('signs with a literal-\\n key (the emulator accepts it)', async () => {
    const account = await newServiceAccount();
    const literal = JSON.stringify({
      ...keyObject(account),
      private_key: account.privateKeyPem.replaceAll('\n', '\\n'),
    });
    expect((await source(literal).getToken()).accessToken).toMatch(/^ya29\.emu\./);
  });

  it('keeps the private key out of JSON and enumeration', async () => {
    const account = await newServiceAccount({ register: false });
    const key = parseServiceAccountKey(account.keyJson);
    expect(JSON.stringify(key)).not.toContain('PRIVATE KEY');
    expect(Object.keys(key)).not.toContain('privateKey');
  });

  const broken: Array<[string, (k: Record<string, unknown>) => void]> = [
    ['type', (k) => delete k.type],
    ['type', (k) => (k.type = 'authorized_user')],
    ['client_email', (k) => delete k.client_email],
    ['client_email', (k) => (k.client_email = 42)],
    ['private_key', (k) => delete k.private_key],
    [
      'private_key',
      (k) => (k.private_key = String(k.private_key).replaceAll('PRIVATE KEY', 'RSA PRIVATE KEY')),
    ],
    ['private_key', (k) => (k.private_key = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC')],
    ['private_key_id', (k) => delete k.private_key_id],
    ['private_key_id', (k) => (k.private_key_id = '')],
    ['token_uri', (k) => delete k.token_uri],
    ['token_uri', (k) => (k.token_uri = 'http://oauth2.googleapis.com/token')],
    ['token_uri', (k) => (k.token_uri = 'not a url')],
  ];

  it.each(broken)(
    'names a missing or wrong "%s" and where to set the key, without echoing it',
    async (field, mutate) => {
      const account = await newServiceAccount({ register: false });
      const key = keyObject(account);
      mutate(key);
      const err = configError(JSON.stringify(key));
      expect(err).toMatchObject({ kind: 'config', code: 'key_field_invalid' });
      expect(err.message).toContain(`"${field}"`);
      expect(err.message).toContain('wrangler secret put GOOGLE_SERVICE_ACCOUNT_KEY');
      expect(err.closeReason).toContain(field);
      expectSecretFree(err, account, ['authorized_user', 'MIIEvQIBADAN']);
    },
  );

  it('names every bad field at once', async () => {
    const account = await newServiceAccount({ register: false });
    const key = keyObject(account);
    delete key.client_email;
    delete key.token_uri;
    const err = configError(JSON.stringify(key));
    expect(err.message).toContain('"client_email"');
    expect(err.message).toContain('"token_uri"');
  });

  it.each([
    ['empty', ''],
    ['not JSON or base64', 'hello, world'],
    ['truncated JSON', '{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADAN'],
    ['a JSON array', '["service_account"]'],
    ['base64 of non-JSON', btoa('secret-ish text MIIEvQIBADAN')],
  ])('rejects %s without echoing it', (_name, raw) => {
    const err = configError(raw);
    expect(err.kind).toBe('config');
    expect(err.message).toContain('GOOGLE_SERVICE_ACCOUNT_KEY');
    expect(err.message).not.toContain('MIIEvQIBADAN');
    expect(err.message).not.toContain('hello');
    expect(new TextEncoder().encode(err.closeReason).length).toBeLessThanOrEqual(123);
  });

  it('reports an unusable private key as a config error when signing', async () => {
    const account = await newServiceAccount({ register: false });
    const body = 'A'.repeat(64);
    const keyJson = JSON.stringify({
      ...keyObject(account),
      private_key: `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`,
    });
    const err = await authError(source(keyJson).getToken());
    expect(err).toMatchObject({ kind: 'config', code: 'key_private_key_invalid' });
    expect(err.message).not.toContain(body);
    expectSecretFree(err, account);
  });
});
