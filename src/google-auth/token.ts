// Google access tokens from a service-account key (live-api-protocol.md §6): the JWT-bearer exchange at the
// key's token_uri by default, or a self-signed JWT (GOOGLE_AUTH_MODE=self-signed-jwt). One cached token per
// key and isolate, shared by every conversation; one token request at a time.
import { truncateReason } from '../live-api/close-codes';
import { importPKCS8, SignJWT } from 'jose';
import {
  SECRET_NAME,
  UpstreamAuthError,
  configError,
  isNonEmptyString,
  parseAuthMode,
  parseServiceAccountKey,
  type GoogleAuthMode,
  type ServiceAccountKey,
} from './key';
import { backoffDelay } from '../util/retry';

export { UpstreamAuthError, parseServiceAccountKey };
export type { GoogleAuthMode, ServiceAccountKey } from './key';

const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google: exp at most 1 h after iat; AIP-4111 self-signed JWTs: exactly 1 h. */
const JWT_LIFETIME_S = 3600;
/** Reuse a token until this long before it expires. */
const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;
/** One token request (including reading its body) gives up after this long. */
const TOKEN_REQUEST_TIMEOUT_MS = 10_000;
/** Network errors, 408, 429 and 5xx are retried; with these defaults a token request takes at most ~42 s. */
const DEFAULT_TOKEN_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 2_000 };
/** When a refresh finds the endpoint unavailable, a cached token with this much life left is still served. */
const STALE_TOKEN_MIN_REMAINING_MS = 60_000;
const MAX_TOKEN_SOURCES = 8;

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface AccessToken {
  readonly accessToken: string;
  /** Epoch ms, on the token source's clock. */
  readonly expiresAt: number;
}

interface MintedToken extends AccessToken {
  /** When it was requested, on the token source's clock. */
  readonly mintedAt: number;
}

export interface TokenSourceOptions {
  mode?: GoogleAuthMode;
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Clock for cache decisions (epoch ms). JWTs are always stamped with the wall clock, which Google checks. */
  now?: () => number;
  refreshMarginMs?: number;
  retry?: Partial<RetryPolicy>;
  requestTimeoutMs?: number;
}

export interface TokenSourceStats {
  /** Token-endpoint requests, retries included (self-signed mode: JWTs signed). */
  requests: number;
  cacheHits: number;
  /** Callers that joined a request already in flight. */
  coalesced: number;
  /** getToken() calls that started a token request which then failed. */
  failures: number;
  /** Failed refreshes answered with the still-unexpired cached token. */
  staleServed: number;
}

function rejectedError(code: string, status: number, description: string): UpstreamAuthError {
  const reason =
    code === 'invalid_grant'
      ? `google auth: invalid_grant (service account key rejected; check ${SECRET_NAME})`
      : `google auth: ${code} (token endpoint HTTP ${status}; check ${SECRET_NAME} and IAM roles)`;
  const detail = description ? `: ${description}` : '';
  return new UpstreamAuthError(
    'rejected',
    code,
    `token endpoint rejected the service account (HTTP ${status} ${code}${detail}); check ${SECRET_NAME}`,
    truncateReason(reason),
    status,
  );
}

function unavailableError(code: string, attempts: number, status?: number): UpstreamAuthError {
  return new UpstreamAuthError(
    'unavailable',
    code,
    `token endpoint unavailable (${code}) after ${attempts} attempt(s)`,
    truncateReason(`google auth: token endpoint unavailable (${code}); retry later`),
    status,
  );
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Rejects with `error` if `promise` has not settled within `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A parsed token-endpoint outcome: a token, or an error and whether another attempt may help. */
type Attempt = { token: MintedToken } | { error: UpstreamAuthError; retryable: boolean };

/** Only a machine-looking OAuth error code is passed on; anything else becomes `http_<status>`. */
function oauthCode(body: unknown, status: number): string {
  const error = (body as { error?: unknown } | null)?.error;
  return typeof error === 'string' && /^[a-z0-9_.-]{1,40}$/i.test(error) ? error : `http_${status}`;
}

/** Google's error_description, printable ASCII only and shortened, with anything JWT-shaped removed. */
function oauthDescription(body: unknown): string {
  const text = (body as { error_description?: unknown } | null)?.error_description;
  if (typeof text !== 'string') return '';
  return text
    .replace(/[^\x20-\x7e]/g, '')
    .replace(/[\w-]{8,}\.[\w-]{8,}\.[\w-]*/g, '[redacted]')
    .slice(0, 160);
}

export class GoogleTokenSource {
  readonly stats: TokenSourceStats = {
    requests: 0,
    cacheHits: 0,
    coalesced: 0,
    failures: 0,
    staleServed: 0,
  };
  readonly mode: GoogleAuthMode;
  readonly #key: ServiceAccountKey;
  readonly #fetch: (input: string, init: RequestInit) => Promise<Response>;
  readonly #now: () => number;
  readonly #refreshMarginMs: number;
  readonly #retry: RetryPolicy;
  readonly #requestTimeoutMs: number;
  #signingKey: Promise<CryptoKey> | undefined;
  #cached: MintedToken | undefined;
  #inflight: { promise: Promise<MintedToken>; startedAt: number } | undefined;

  constructor(key: ServiceAccountKey, opts: TokenSourceOptions = {}) {
    this.#key = key;
    this.mode = opts.mode ?? 'exchange';
    // A bare reference to the global fetch throws "Illegal invocation" in workerd when called as a method.
    this.#fetch = opts.fetch ?? ((input, init) => fetch(input, init));
    this.#now = opts.now ?? Date.now;
    this.#refreshMarginMs = opts.refreshMarginMs ?? TOKEN_REFRESH_MARGIN_MS;
    this.#retry = { ...DEFAULT_TOKEN_RETRY, ...opts.retry };
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? TOKEN_REQUEST_TIMEOUT_MS;
  }

  get clientEmail(): string {
    return this.#key.clientEmail;
  }

  /** A token valid for at least the refresh margin (or half its lifetime, if shorter). Call per (re)connect. */
  getToken(): Promise<AccessToken> {
    const cached = this.#cached;
    if (cached && this.#isFresh(cached)) {
      this.stats.cacheHits += 1;
      return Promise.resolve(cached);
    }
    const inflight = this.#inflight;
    const budget = this.#flightBudgetMs();
    if (inflight && Date.now() - inflight.startedAt < budget) {
      this.stats.coalesced += 1;
      // The request belongs to whichever conversation started it; if that request context is torn down,
      // its promise may never settle, so a joiner waits no longer than a request can take.
      return withTimeout(inflight.promise, budget, () => unavailableError('timeout', this.#retry.attempts));
    }
    const promise = this.#mint().then(
      (token) => {
        this.#cached = token;
        return token;
      },
      (err: unknown) => {
        this.stats.failures += 1;
        // An outage near the end of a token's life need not fail connects while the old token still works.
        const stale = this.#cached;
        const usable = stale && this.#now() < stale.expiresAt - STALE_TOKEN_MIN_REMAINING_MS;
        if (usable && err instanceof UpstreamAuthError && err.kind === 'unavailable') {
          this.stats.staleServed += 1;
          return stale;
        }
        throw err;
      },
    );
    const flight = { promise, startedAt: Date.now() };
    this.#inflight = flight;
    const clear = () => {
      if (this.#inflight === flight) this.#inflight = undefined;
    };
    promise.then(clear, clear);
    return promise;
  }

  #isFresh(token: MintedToken): boolean {
    const lifetime = token.expiresAt - token.mintedAt;
    const margin = Math.min(this.#refreshMarginMs, lifetime / 2);
    return this.#now() < token.expiresAt - margin;
  }

  #flightBudgetMs(): number {
    const { attempts, maxDelayMs } = this.#retry;
    return attempts * (this.#requestTimeoutMs + maxDelayMs) + 1_000;
  }

  #importKey(): Promise<CryptoKey> {
    this.#signingKey ??= importPKCS8(this.#key.privateKey, 'RS256').catch(() => {
      throw configError(
        'key_private_key_invalid',
        '"private_key" is not a valid RSA key',
        'private_key unusable',
      );
    });
    return this.#signingKey;
  }

  async #signJwt(claims: { aud?: string; sub?: string }): Promise<string> {
    const iat = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ scope: CLOUD_PLATFORM_SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.#key.privateKeyId })
      .setIssuer(this.#key.clientEmail)
      .setIssuedAt(iat)
      .setExpirationTime(iat + JWT_LIFETIME_S);
    if (claims.aud) jwt.setAudience(claims.aud);
    if (claims.sub) jwt.setSubject(claims.sub);
    return jwt.sign(await this.#importKey());
  }

  async #mint(): Promise<MintedToken> {
    if (this.mode === 'self-signed-jwt') {
      const mintedAt = this.#now();
      this.stats.requests += 1;
      const accessToken = await this.#signJwt({ sub: this.#key.clientEmail });
      return { accessToken, expiresAt: mintedAt + JWT_LIFETIME_S * 1000, mintedAt };
    }
    const assertion = await this.#signJwt({ aud: this.#key.tokenUri });
    const { attempts, baseDelayMs, maxDelayMs } = this.#retry;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#requestToken(assertion, attempt);
      if ('token' in outcome) return outcome.token;
      if (!outcome.retryable || attempt >= attempts) throw outcome.error;
      await sleep(backoffDelay(attempt - 1, { baseDelayMs, maxDelayMs }));
    }
  }

  async #requestToken(assertion: string, attempt: number): Promise<Attempt> {
    this.stats.requests += 1;
    const mintedAt = this.#now();
    const controller = new AbortController();
    let status: number;
    let body: unknown;
    try {
      const exchange = async () => {
        const response = await this.#fetch(this.#key.tokenUri, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
          body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion }).toString(),
          signal: controller.signal,
        });
        const text = await response.text();
        let parsed: unknown = null;
        try {
          parsed = JSON.parse(text);
        } catch {
          // A non-JSON body (a proxy's error page) is judged by its status alone.
        }
        return { status: response.status, body: parsed };
      };
      // Raced rather than relying on the signal alone, so a fetch that ignores it cannot hang us.
      ({ status, body } = await withTimeout(exchange(), this.#requestTimeoutMs, () => {
        controller.abort();
        return unavailableError('timeout', attempt);
      }));
    } catch (err) {
      const error = err instanceof UpstreamAuthError ? err : unavailableError('network_error', attempt);
      return { error, retryable: true };
    }
    if (status >= 200 && status < 300) return this.#parseTokenResponse(body, status, mintedAt, attempt);
    const code = oauthCode(body, status);
    if (status >= 500 || status === 408 || status === 429) {
      return { error: unavailableError(code, attempt, status), retryable: true };
    }
    return { error: rejectedError(code, status, oauthDescription(body)), retryable: false };
  }

  #parseTokenResponse(body: unknown, status: number, mintedAt: number, attempt: number): Attempt {
    const { access_token, expires_in } = (body ?? {}) as { access_token?: unknown; expires_in?: unknown };
    const expiresIn = Number(expires_in);
    if (!isNonEmptyString(access_token) || !(expiresIn > 0)) {
      return { error: unavailableError('bad_response', attempt, status), retryable: false };
    }
    return { token: { accessToken: access_token, expiresAt: mintedAt + expiresIn * 1000, mintedAt } };
  }
}

const sources = new Map<string, GoogleTokenSource>();

/**
 * The isolate-shared token source for `env`'s key, or null when no key is configured. Throws
 * UpstreamAuthError (kind 'config') when the key or GOOGLE_AUTH_MODE is unusable.
 */
export function getTokenSource(env: {
  GOOGLE_SERVICE_ACCOUNT_KEY?: string;
  GOOGLE_AUTH_MODE?: string;
}): GoogleTokenSource | null {
  const raw = env.GOOGLE_SERVICE_ACCOUNT_KEY;
  if (raw === undefined || raw.trim() === '') return null;
  const mode = parseAuthMode(env.GOOGLE_AUTH_MODE);
  const key = parseServiceAccountKey(raw);
  // client_email and private_key_id are public identifiers (Google publishes the key's certificate under
  // them), so they fingerprint the key without the cache holding anything secret as its key.
  const id = [mode, key.clientEmail, key.privateKeyId, key.tokenUri].join('\n');
  let source = sources.get(id);
  if (!source) {
    if (sources.size >= MAX_TOKEN_SOURCES) sources.delete(sources.keys().next().value ?? '');
    source = new GoogleTokenSource(key, { mode });
    sources.set(id, source);
  }
  return source;
}

/** Test only: forget every isolate-shared token source and its cached token. */
export function resetTokenSources(): void {
  sources.clear();
}
