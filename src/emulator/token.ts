// The emulator's stand-in for https://oauth2.googleapis.com/token, its control endpoints, and the bearer
// check for the Live WebSocket. State lives in the TokenRegistry Durable Object.
import type { EmulatorEnv } from './index';
import { parseAccount, TokenRegistry } from './token-registry';
import type { TokenFault } from './token-registry';
import {
  ACCESS_TOKEN_PREFIX,
  GOOGLE_TOKEN_URL,
  importPublicKey,
  verifyAccessToken,
  verifySelfSignedJwt,
} from './token-verify';

export { TokenRegistry };

const FAULT_STATUSES = [400, 401, 403, 429, 500, 502, 503] as const;
const DEFAULT_FAULT_ERRORS: Record<number, string> = {
  400: 'invalid_grant',
  401: 'invalid_client',
  403: 'access_denied',
  429: 'rate_limit_exceeded',
};
const MAX_FAULT_COUNT = 1000;

function registry(env: EmulatorEnv): DurableObjectStub<TokenRegistry> {
  return env.TOKEN_REGISTRY.get(env.TOKEN_REGISTRY.idFromName('registry'));
}

function json(body: unknown, status = 200): Response {
  // Google's token responses are not cacheable.
  return Response.json(body, { status, headers: { 'Cache-Control': 'no-store' } });
}

function badRequest(description: string): Response {
  return json({ error: 'invalid_request', error_description: description }, 400);
}

async function readJson(request: Request): Promise<Record<string, unknown> | null> {
  try {
    const body: unknown = await request.json();
    return typeof body === 'object' && body !== null && !Array.isArray(body)
      ? (body as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

async function handleToken(request: Request, env: EmulatorEnv): Promise<Response> {
  if (request.method !== 'POST')
    return json({ error: 'invalid_request', error_description: 'Use POST.' }, 405);
  const type = request.headers.get('Content-Type') ?? '';
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    return badRequest('Content-Type must be application/x-www-form-urlencoded.');
  }
  const form = new URLSearchParams(await request.text());
  const result = await registry(env).exchange({
    grantType: form.get('grant_type'),
    assertion: form.get('assertion'),
    audiences: [`${new URL(request.url).origin}/token`, GOOGLE_TOKEN_URL],
  });
  return json(result.body, result.status);
}

async function handleRegister(request: Request, env: EmulatorEnv): Promise<Response> {
  const account = parseAccount(await readJson(request));
  if (typeof account === 'string') return badRequest(account);
  try {
    await importPublicKey(account.public_key);
  } catch {
    return badRequest('public_key must be an RSA SPKI PEM (-----BEGIN PUBLIC KEY-----)');
  }
  await registry(env).register(account);
  return json({ registered: account.client_email }, 201);
}

function parseFault(body: Record<string, unknown> | null): TokenFault | string {
  if (!body) return 'expected a JSON object';
  const { failNext, status, error, client_email } = body;
  if (!Number.isInteger(failNext) || (failNext as number) < 1 || (failNext as number) > MAX_FAULT_COUNT) {
    return `failNext must be an integer from 1 to ${MAX_FAULT_COUNT}`;
  }
  if (!FAULT_STATUSES.includes(status as (typeof FAULT_STATUSES)[number])) {
    return `status must be one of ${FAULT_STATUSES.join(', ')}`;
  }
  if (error !== undefined && (typeof error !== 'string' || !/^[a-z_]{1,40}$/.test(error))) {
    return 'error must be an OAuth error code such as invalid_grant';
  }
  if (client_email !== undefined && typeof client_email !== 'string') return 'client_email must be a string';
  const code = status as number;
  const fault: TokenFault = {
    remaining: failNext as number,
    status: code,
    error: error ?? DEFAULT_FAULT_ERRORS[code] ?? 'internal_failure',
    description: code >= 500 ? 'Backend Error' : 'Injected by the emulator.',
  };
  if (client_email !== undefined) fault.client_email = client_email;
  return fault;
}

async function handleFault(request: Request, env: EmulatorEnv): Promise<Response> {
  const fault = parseFault(await readJson(request));
  if (typeof fault === 'string') return badRequest(fault);
  await registry(env).addFault(fault);
  return json({ queued: fault.remaining });
}

async function handleResetStats(request: Request, env: EmulatorEnv): Promise<Response> {
  const text = await request.text();
  let clientEmail: unknown;
  try {
    clientEmail = text ? (JSON.parse(text) as { client_email?: unknown }).client_email : undefined;
  } catch {
    return badRequest('body must be empty or {"client_email": "…"}');
  }
  if (clientEmail !== undefined && typeof clientEmail !== 'string')
    return badRequest('client_email must be a string');
  await registry(env).resetStats(clientEmail);
  return json({ reset: clientEmail ?? 'all' });
}

/** Handles POST /token and /emulator/service-accounts, /emulator/token-*; null for any other path. */
export async function handleTokenRoutes(request: Request, env: EmulatorEnv): Promise<Response | null> {
  const { pathname } = new URL(request.url);
  const post = request.method === 'POST';
  if (pathname === '/token') return handleToken(request, env);
  if (post && pathname === '/emulator/service-accounts') return handleRegister(request, env);
  if (post && pathname === '/emulator/token-faults') return handleFault(request, env);
  if (post && pathname === '/emulator/token-stats/reset') return handleResetStats(request, env);
  if (request.method === 'GET' && pathname === '/emulator/token-stats')
    return json(await registry(env).stats());
  if (post && pathname === '/emulator/verify-bearer') {
    const body = await readJson(request);
    const authorization = typeof body?.authorization === 'string' ? body.authorization : null;
    return json({ ...(await checkBearer(authorization, env)), enforced: requiresIssuedTokens(env) });
  }
  return null;
}

function requiresIssuedTokens(env: EmulatorEnv): boolean {
  return env.EMULATOR_REQUIRE_ISSUED_TOKENS === 'true';
}

/**
 * The strict check, whatever EMULATOR_REQUIRE_ISSUED_TOKENS says: an unexpired token from POST /token, or a
 * self-signed JWT from a registered account. The reason never repeats the token.
 */
async function checkBearer(
  authorization: string | null,
  env: EmulatorEnv,
): Promise<{ accepted: boolean; reason: string }> {
  const token = /^Bearer +(\S+)$/i.exec(authorization?.trim() ?? '')?.[1];
  if (!token) return { accepted: false, reason: 'no Bearer token' };
  const nowS = Math.floor(Date.now() / 1000);
  if (token.startsWith(ACCESS_TOKEN_PREFIX)) {
    const checked = await verifyAccessToken(token, env.EMULATOR_TOKEN_SECRET, nowS);
    return checked.ok
      ? { accepted: true, reason: 'access token issued by POST /token' }
      : { accepted: false, reason: checked.failure.description };
  }
  const stub = registry(env);
  const checked = await verifySelfSignedJwt(token, (email) => stub.lookup(email), nowS);
  return checked.ok
    ? { accepted: true, reason: 'self-signed JWT from a registered service account' }
    : { accepted: false, reason: checked.failure.description };
}

/** Whether the WebSocket upgrade's Authorization header carries a bearer token the emulator accepts. */
export async function isAcceptedBearer(authorization: string | null, env: EmulatorEnv): Promise<boolean> {
  if (!requiresIssuedTokens(env)) return /^Bearer +\S+/i.test(authorization ?? '');
  return (await checkBearer(authorization, env)).accepted;
}
