// The emulator's stand-in for Google's token endpoint, exercised over HTTP like Google's.
import { importPKCS8, SignJWT } from 'jose';
import type { JWTPayload } from 'jose';
import { describe, expect, inject, it } from 'vitest';
import type { EmulatorEnv } from '../src/emulator';
import { isAcceptedBearer } from '../src/emulator/token';
import { issueAccessToken } from '../src/emulator/token-verify';
import {
  emulatorUrl,
  injectTokenFault,
  newServiceAccount,
  registerAccount,
  tokenCounts,
  verifyBearer,
} from './helpers/token-emulator';
import type { TestAccount } from './helpers/token-emulator';

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

interface JwtOptions {
  header?: Record<string, unknown>;
  claims?: JWTPayload;
  /** Claims to drop from the defaults. */
  omit?: string[];
  lifetimeS?: number;
  iat?: number;
  privateKeyPem?: string;
}

async function signAssertion(account: TestAccount, opts: JwtOptions = {}): Promise<string> {
  const iat = opts.iat ?? Math.floor(Date.now() / 1000);
  const claims: JWTPayload = {
    iss: account.clientEmail,
    scope: SCOPE,
    aud: emulatorUrl('/token'),
    iat,
    exp: iat + (opts.lifetimeS ?? 3600),
    ...opts.claims,
  };
  for (const name of opts.omit ?? []) delete claims[name];
  const key = await importPKCS8(opts.privateKeyPem ?? account.privateKeyPem, 'RS256');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: account.privateKeyId, ...opts.header })
    .sign(key);
}

async function exchange(form: Record<string, string>, contentType = 'application/x-www-form-urlencoded') {
  const response = await fetch(emulatorUrl('/token'), {
    method: 'POST',
    headers: { 'Content-Type': contentType },
    body: new URLSearchParams(form).toString(),
  });
  const body = await response.json<Record<string, unknown>>();
  return { status: response.status, body };
}

const exchangeAssertion = (assertion: string) => exchange({ grant_type: GRANT, assertion });

/** The provided (EMULATOR_SERVICE_ACCOUNTS) account as a TestAccount. */
function providedAccount(): TestAccount {
  const sa = inject('serviceAccount');
  const key = JSON.parse(sa.keyJson) as { private_key: string };
  return { ...sa, privateKeyPem: key.private_key };
}

describe('POST /token', () => {
  it('exchanges an assertion from the provided key for a Google-shaped access token the emulator accepts', async () => {
    const { status, body } = await exchangeAssertion(await signAssertion(providedAccount()));
    expect(status).toBe(200);
    expect(body).toEqual({
      access_token: expect.stringMatching(/^ya29\.emu\./),
      expires_in: 3599,
      token_type: 'Bearer',
    });
    const verdict = await verifyBearer(`Bearer ${body.access_token as string}`);
    expect(verdict).toMatchObject({ accepted: true });
  });

  it('accepts Google’s own token URL as the audience', async () => {
    const account = await newServiceAccount();
    const assertion = await signAssertion(account, {
      claims: { aud: 'https://oauth2.googleapis.com/token' },
    });
    expect((await exchangeAssertion(assertion)).status).toBe(200);
  });

  it('issues tokens with the lifetime registered for the account', async () => {
    const account = await newServiceAccount({ expiresIn: 120 });
    const { body } = await exchangeAssertion(await signAssertion(account));
    expect(body.expires_in).toBe(120);
  });

  it('rejects the wrong grant_type, a missing assertion, a non-form body and GET', async () => {
    const account = await newServiceAccount();
    const assertion = await signAssertion(account);
    expect(await exchange({ grant_type: 'client_credentials', assertion })).toMatchObject({
      status: 400,
      body: { error: 'unsupported_grant_type' },
    });
    expect(await exchange({ grant_type: GRANT })).toMatchObject({
      status: 400,
      body: { error: 'invalid_request' },
    });
    expect(await exchange({ grant_type: GRANT, assertion }, 'application/json')).toMatchObject({
      status: 400,
      body: { error: 'invalid_request' },
    });
    expect((await fetch(emulatorUrl('/token'))).status).toBe(405);
  });

  const rejections: Array<[string, (a: TestAccount) => Promise<string>, string, string]> = [
    [
      'a signature by another key',
      async (a) =>
        signAssertion(a, { privateKeyPem: (await newServiceAccount({ register: false })).privateKeyPem }),
      'invalid_grant',
      'Invalid JWT Signature.',
    ],
    [
      'a kid that is not the account’s',
      (a) => signAssertion(a, { header: { kid: 'other' } }),
      'invalid_grant',
      'Invalid JWT Signature.',
    ],
    [
      'an unknown iss',
      (a) => signAssertion(a, { claims: { iss: 'nobody@test-project.iam.gserviceaccount.com' } }),
      'invalid_grant',
      'account not found',
    ],
    [
      'a wrong aud',
      (a) => signAssertion(a, { claims: { aud: 'https://example.com/token' } }),
      'invalid_grant',
      'audience',
    ],
    ['no aud', (a) => signAssertion(a, { omit: ['aud'] }), 'invalid_grant', 'audience'],
    [
      'exp more than 3600 s after iat',
      (a) => signAssertion(a, { lifetimeS: 3601 }),
      'invalid_grant',
      'short-lived',
    ],
    ['no iat', (a) => signAssertion(a, { omit: ['iat'] }), 'invalid_grant', 'short-lived'],
    [
      'an expired assertion',
      (a) => signAssertion(a, { iat: Math.floor(Date.now() / 1000) - 3000, lifetimeS: 600 }),
      'invalid_grant',
      'short-lived',
    ],
    [
      'an iat in the future',
      (a) => signAssertion(a, { iat: Math.floor(Date.now() / 1000) + 600 }),
      'invalid_grant',
      'short-lived',
    ],
    ['no scope', (a) => signAssertion(a, { omit: ['scope'] }), 'invalid_scope', 'scope'],
    [
      'a scope without cloud-platform',
      (a) => signAssertion(a, { claims: { scope: 'https://www.googleapis.com/auth/userinfo.email' } }),
      'invalid_scope',
      'scope',
    ],
    [
      'an HS256 assertion',
      async (a) =>
        new SignJWT({ iss: a.clientEmail, scope: SCOPE, aud: emulatorUrl('/token') })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuedAt()
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode('x'.repeat(32))),
      'invalid_grant',
      'RS256',
    ],
    ['garbage', async () => 'not-a-jwt', 'invalid_grant', 'malformed'],
  ];

  it.each(rejections)('rejects %s like Google', async (_name, make, error, description) => {
    const account = await newServiceAccount();
    const { status, body } = await exchangeAssertion(await make(account));
    expect(status).toBe(400);
    expect(body.error).toBe(error);
    expect(body.error_description).toContain(description);
    expect(body).not.toHaveProperty('access_token');
  });
});

describe('control endpoints', () => {
  it('counts requests, issues and failures per account, and resets one account', async () => {
    const account = await newServiceAccount();
    await exchangeAssertion(await signAssertion(account));
    await exchangeAssertion(await signAssertion(account, { lifetimeS: 7200 }));
    expect(await tokenCounts(account.clientEmail)).toEqual({ requests: 2, issued: 1, failures: 1 });
    const totals = await (await fetch(emulatorUrl('/emulator/token-stats'))).json<Record<string, number>>();
    expect(totals.requests).toBeGreaterThanOrEqual(2);
    const reset = await fetch(emulatorUrl('/emulator/token-stats/reset'), {
      method: 'POST',
      body: JSON.stringify({ client_email: account.clientEmail }),
    });
    expect(reset.status).toBe(200);
    expect(await tokenCounts(account.clientEmail)).toEqual({ requests: 0, issued: 0, failures: 0 });
  });

  it('fails exactly the next n requests of the targeted account, then recovers', async () => {
    const [account, bystander] = [await newServiceAccount(), await newServiceAccount()];
    await injectTokenFault({ failNext: 2, status: 503, client_email: account.clientEmail });
    expect((await exchangeAssertion(await signAssertion(bystander))).status).toBe(200);
    const assertion = await signAssertion(account);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await exchangeAssertion(assertion)).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(await tokenCounts(account.clientEmail)).toEqual({ requests: 3, issued: 1, failures: 2 });
  });

  it('injects OAuth errors with the given code', async () => {
    const account = await newServiceAccount();
    await injectTokenFault({
      failNext: 1,
      status: 400,
      error: 'invalid_grant',
      client_email: account.clientEmail,
    });
    await injectTokenFault({ failNext: 1, status: 401, client_email: account.clientEmail });
    const assertion = await signAssertion(account);
    expect(await exchangeAssertion(assertion)).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant' },
    });
    expect(await exchangeAssertion(assertion)).toMatchObject({
      status: 401,
      body: { error: 'invalid_client' },
    });
  });

  it('rejects malformed faults and registrations', async () => {
    const bad = async (path: string, body: unknown) =>
      (await fetch(emulatorUrl(path), { method: 'POST', body: JSON.stringify(body) })).status;
    expect(await bad('/emulator/token-faults', { failNext: 0, status: 503 })).toBe(400);
    expect(await bad('/emulator/token-faults', { failNext: 1, status: 418 })).toBe(400);
    expect(
      (await registerAccount({ client_email: 'a@b', private_key_id: 'k', public_key: 'nope' })).status,
    ).toBe(400);
    const account = await newServiceAccount({ register: false });
    const { status } = await registerAccount({ private_key_id: 'k', public_key: account.publicKeyPem });
    expect(status).toBe(400);
    const negative = {
      client_email: 'a@b',
      private_key_id: 'k',
      public_key: account.publicKeyPem,
      expires_in: -1,
    };
    expect((await registerAccount(negative)).status).toBe(400);
  });
});

describe('bearer check (POST /emulator/verify-bearer)', () => {
  async function selfSigned(account: TestAccount, opts: JwtOptions = {}): Promise<string> {
    return signAssertion(account, {
      omit: ['aud', ...(opts.omit ?? [])],
      ...opts,
      claims: { sub: account.clientEmail, ...opts.claims },
    });
  }

  it('accepts a self-signed JWT from a registered account', async () => {
    const account = await newServiceAccount();
    expect(await verifyBearer(`Bearer ${await selfSigned(account)}`)).toMatchObject({ accepted: true });
  });

  const rejected: Array<[string, (a: TestAccount) => Promise<string>]> = [
    ['an unregistered account', async () => selfSigned(await newServiceAccount({ register: false }))],
    ['aud and scope together', (a) => signAssertion(a, { claims: { sub: a.clientEmail } })],
    ['no scope', (a) => selfSigned(a, { omit: ['scope'] })],
    ['sub ≠ iss', (a) => selfSigned(a, { claims: { sub: 'someone@else' } })],
    ['a lifetime over 3600 s', (a) => selfSigned(a, { lifetimeS: 3601 })],
  ];

  it.each(rejected)('rejects a self-signed JWT with %s', async (_name, make) => {
    const account = await newServiceAccount();
    const token = await make(account);
    const verdict = await verifyBearer(`Bearer ${token}`);
    expect(verdict.accepted).toBe(false);
    expect(verdict.reason).not.toContain(token);
  });

  it('rejects a tampered access token, a non-bearer header and none', async () => {
    const { body } = await exchangeAssertion(await signAssertion(await newServiceAccount()));
    const token = body.access_token as string;
    const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
    expect(await verifyBearer(`Bearer ${tampered}`)).toMatchObject({ accepted: false });
    expect(await verifyBearer(`Basic ${token}`)).toMatchObject({ accepted: false });
    expect(await verifyBearer(null)).toMatchObject({ accepted: false });
  });

  it('rejects an access token once it has expired', async () => {
    const { body } = await exchangeAssertion(await signAssertion(await newServiceAccount({ expiresIn: 1 })));
    const bearer = `Bearer ${body.access_token as string}`;
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await verifyBearer(bearer)).toMatchObject({ accepted: false, reason: 'Access token expired.' });
  });
});

describe('isAcceptedBearer', () => {
  const secret = 'unit-test-secret-unit-test-secret';
  const env = (strict: boolean): EmulatorEnv =>
    ({
      EMULATOR_REQUIRE_ISSUED_TOKENS: strict ? 'true' : 'false',
      EMULATOR_TOKEN_SECRET: secret,
    }) as EmulatorEnv;

  it('accepts any non-empty bearer unless EMULATOR_REQUIRE_ISSUED_TOKENS is "true"', async () => {
    expect(await isAcceptedBearer('Bearer anything', env(false))).toBe(true);
    expect(await isAcceptedBearer('Bearer ', env(false))).toBe(false);
    expect(await isAcceptedBearer(null, env(false))).toBe(false);
    expect(await isAcceptedBearer('Bearer ya29.emu.anything', env(true))).toBe(false);
  });

  it('accepts tokens it issued when EMULATOR_REQUIRE_ISSUED_TOKENS is "true"', async () => {
    const nowS = Math.floor(Date.now() / 1000);
    const token = await issueAccessToken('a@test-project.iam.gserviceaccount.com', 60, secret, nowS);
    expect(await isAcceptedBearer(`Bearer ${token}`, env(true))).toBe(true);
    const stale = await issueAccessToken('a@test-project.iam.gserviceaccount.com', 60, secret, nowS - 120);
    expect(await isAcceptedBearer(`Bearer ${stale}`, env(true))).toBe(false);
    const forged = await issueAccessToken('a@test-project.iam.gserviceaccount.com', 60, 'x'.repeat(32), nowS);
    expect(await isAcceptedBearer(`Bearer ${forged}`, env(true))).toBe(false);
  });
});
